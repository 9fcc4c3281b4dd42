"""The supervisor view's rules, in-process: its clocks are the jobs' deadlines (a chat whose
deadline passes is the one the sweep abandons), and an agent's presence in the team panel."""
from datetime import timedelta

from chat import jobs, payloads, sessions, supervisor
from chat.extensions import db
from chat.models import Visitor, isoformat, utcnow


def test_a_queued_chat_is_abandoned_when_its_deadline_passes_and_not_before(site, agents):
    chat, _ = sessions.start_session(site)
    inactive_at, silent_at = jobs.abandonment_deadlines(chat)
    assert inactive_at == chat.last_activity_at + timedelta(minutes=30)
    assert silent_at == chat.visitor_last_seen_at + timedelta(minutes=5)
    assert jobs.abandon_silent_visitors(silent_at - timedelta(seconds=1)) == []
    assert jobs.abandon_silent_visitors(silent_at) == [chat.id]


def test_a_held_chat_has_no_abandonment_clock_only_its_expiry(site, agents):
    chat, _ = sessions.start_session(site)
    sessions.claim_session(chat, agents[0])
    row = payloads.overview(chat)
    assert (row["abandon_inactive_at"], row["abandon_silent_at"]) == (None, None)
    assert row["expires_at"] == isoformat(chat.started_at + timedelta(hours=22))
    assert row["agent_name"] == "Alice" and row["queued_at"] == row["started_at"]
    assert "visitor_online" not in row             # only the first load knows it


def test_a_whatsapp_chat_is_a_row_with_its_reply_window_and_no_abandonment_clock(site, agents):
    """The view reads its rows without the ORM (supervisor.ChatRow): a phone's chat among them."""
    wrote_at = utcnow() - timedelta(hours=1)
    contact = Visitor(site_id=site.id, channel="whatsapp", external_id="15550100", name="Kim",
                      last_inbound_at=wrote_at)
    chat, _ = sessions.start_session(site, visitor=contact, channel="whatsapp")
    [rows] = list(supervisor.open_chats(100))
    row = payloads.overview(next(row for row in rows if row.id == chat.id))
    assert (row["channel"], row["visitor_name"]) == ("whatsapp", "Kim")
    assert row["window_closes_at"] == isoformat(wrote_at + timedelta(hours=24, minutes=-5))
    assert (row["abandon_inactive_at"], row["abandon_silent_at"]) == (None, None)


def test_an_agent_is_online_away_or_offline(agents):
    alice = agents[0]
    assert payloads.team_member(alice, online=True)["presence"] == "online"
    alice.last_seen_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    away = payloads.team_member(alice, online=False)
    assert away["presence"] == "away"
    assert away["away_until"] == isoformat(alice.last_seen_at + timedelta(minutes=2))
    alice.last_seen_at = utcnow() - timedelta(minutes=3)
    assert payloads.team_member(alice, online=False) | {"agent_id": 0} == {
        "agent_id": 0, "name": "Alice", "role": "agent", "presence": "offline", "away_until": None, "max_chats": 5}
