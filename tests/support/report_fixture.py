"""A handful of chats with chosen timestamps, whose report figures were computed by hand
(tests/test_reports.py holds the numbers and how they were reached). The range is
2026-03-02 to 2026-03-03; two chats just outside it must never count."""
import csv
import io
import subprocess
import sys
from datetime import datetime, timezone

from tests.support.server import ROOT

FIRST_DAY, LAST_DAY = "2026-03-02", "2026-03-03"


def at(day, clock):
    return datetime.fromisoformat(f"2026-03-{day:02d} {clock}")


# name: (started, queued, claimed, first reply, ended, status, end reason, agent 1 or 2, restored)
CHATS = {
    "S1": (at(2, "09:00:00.900"), at(2, "09:00:00.900"), at(2, "09:01:00.100"), at(2, "09:01:30"),
           at(2, "09:11:00"), "ended", "agent", 1, 1),
    "S2": (at(2, "09:30:00"), at(2, "09:30:00"), at(2, "09:32:00"), at(2, "09:33:00"),
           at(2, "09:50:00"), "ended", "visitor", 1, 0),
    # handed back to the queue at 14:03, accepted again at 14:05: it waited from 14:03
    "S3": (at(2, "14:00:00"), at(2, "14:03:00"), at(2, "14:05:00"), at(2, "14:05:10"),
           None, "active", None, 2, 2),
    "S4": (at(2, "14:20:00"), at(2, "14:20:00"), None, None, at(2, "14:50:00"), "abandoned", "inactivity", None, 0),
    # no queued_at (a chat from before the column): waiting counts from started_at
    "S5": (at(3, "10:00:00"), None, at(3, "10:00:45"), None, at(3, "10:10:00"), "ended", "agent", 2, 1),
    "S6": (at(3, "10:15:00"), at(3, "10:15:00"), None, None, at(3, "10:16:30"), "ended", "visitor", None, 0),
    "S7": (at(3, "23:59:59"), at(3, "23:59:59"), None, None, None, "waiting", None, None, 0),
    "S8": (at(3, "11:00:00"), at(3, "11:00:00"), None, None, at(3, "11:05:00"), "abandoned", "heartbeat_timeout",
           None, 0),
    # outside the range
    "S9": (at(1, "23:59:59"), at(1, "23:59:59"), None, None, None, "waiting", None, None, 1),
    "S10": (at(4, "00:00:00"), at(4, "00:00:00"), at(4, "00:01:00"), None, None, "active", None, 1, 1),
}


NOT_SWEPT = datetime(2100, 1, 1)


def session_id(name):
    return f"00000000-0000-4000-8000-{int(name[1:]):012d}"


def add_report_chats(site_id, agent_ids):
    """Store the chats (once: a second call adds nothing); `agent_ids` are agents 1 and 2.
    Needs an app context."""
    from chat.extensions import db
    from chat.models import ChatSession, Visitor, hash_session_key
    if db.session.get(ChatSession, session_id("S1")) is not None:
        return
    for name, (started, queued, claimed, replied, ended, status, reason, agent, restored) in CHATS.items():
        db.session.add(ChatSession(
            id=session_id(name), site_id=site_id, visitor=Visitor(site_id=site_id, name=f"Report {name}"),
            status=status, key_hash=hash_session_key(name), started_at=started, queued_at=queued,
            claimed_at=claimed, first_response_at=replied, ended_at=ended, end_reason=reason,
            agent_id=agent_ids[agent - 1] if agent else None, restored_count=restored,
            # Far ahead: a live server's sweeps (expiry, inactivity, a silent visitor) must not end
            # the open ones while a test reads the figures (the reports do not read these).
            expires_at=NOT_SWEPT, last_activity_at=NOT_SWEPT, visitor_last_seen_at=NOT_SWEPT))
    db.session.commit()


ADD_TO_SERVER = """
from chat import create_app
from chat.extensions import db
from chat.models import Agent, Site
from tests.support.report_fixture import add_report_chats
with create_app().app_context():
    site = db.session.execute(db.select(Site).filter_by(key="demo")).scalar_one()
    ids = [db.session.execute(db.select(Agent.id).filter_by(email=email)).scalar_one()
           for email in ("demo@example.com", "second@example.com")]
    add_report_chats(site.id, ids)
"""


def add_report_chats_to_server(server):
    """The chats in a live server's database, held by Demo Agent (1) and Second Agent (2)."""
    subprocess.run([sys.executable, "-c", ADD_TO_SERVER], cwd=ROOT, env=server.env, check=True, timeout=60)


def restored_today(server):
    """How many chats started today (UTC) were restored, as the reports' summary CSV says."""
    from tests.support.http import login
    today = datetime.now(timezone.utc).date().isoformat()
    answer = login(server, "supervisor@example.com").get(
        server.url + f"/reports/summary.csv?from={today}&to={today}", timeout=5)
    summary = dict(zip(*csv.reader(io.StringIO(answer.text))))
    return int(summary["restored"])
