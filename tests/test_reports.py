"""Unit tests of chat/reports.py against the chats of tests/support/report_fixture.py, whose
figures were worked out by hand below (run with TEST_DATABASE_URL for PostgreSQL).

Timed values are whole seconds between timestamps each counted to the second; median and p90
are nearest-rank: the value at rank ceil(p x n) of the n values sorted.

Chats in the range (S9 starts a second before it, S10 at the midnight after it):
  S1 03-02 09:00:00.9  Alice  wait 09:01:00 - 09:00:00 = 60  reply 30  lasted 660   restored
  S2 03-02 09:30       Alice  wait 120  reply 60  lasted 1200
  S3 03-02 14:00       Bob    wait 14:05 - 14:03 (back in the queue) = 120  reply 10  still active  restored
  S4 03-02 14:20       -      abandoned (inactivity)  lasted 1800
  S5 03-03 10:00       Bob    wait 45 (from started_at: no queued_at)  no reply  lasted 600  restored
  S6 03-03 10:15       -      ended by the visitor while waiting: abandoned (visitor)  lasted 90
  S7 03-03 23:59:59    -      still waiting
  S8 03-03 11:00       -      abandoned (heartbeat_timeout)  lasted 300
"""
from datetime import date
from datetime import datetime, timedelta

import pytest

from chat import reports
from chat.errors import ChatError
from chat.extensions import db
from chat.models import ChatSession, Visitor, hash_session_key

from tests.support.report_fixture import add_report_chats

FIRST, LAST = date(2026, 3, 2), date(2026, 3, 3)


@pytest.fixture
def report(site, agents):
    alice, bob, _ = agents
    add_report_chats(site.id, [alice.id, bob.id])
    return reports.report(FIRST, LAST)


def numbers(figures):
    return {name: getattr(figures, name) for name in (
        "started", "handled", "abandoned", "restored", "waiting_median", "waiting_p90",
        "response_median", "response_p90", "duration_median", "duration_p90")}


def test_the_summary_counts_every_chat_started_in_the_range(report):
    # waiting 45 60 120 120: median rank 2 -> 60, p90 rank 4 -> 120
    # replies 10 30 60: rank 2 -> 30, rank 3 -> 60
    # lasted 90 300 600 660 1200 1800: rank 3 -> 600, rank 6 -> 1800
    assert numbers(report.summary) == dict(
        started=8, handled=4, abandoned=3, restored=3, waiting_median=60, waiting_p90=120,
        response_median=30, response_p90=60, duration_median=600, duration_p90=1800)
    assert report.summary.restoration_rate == 3 / 8


def test_each_day_has_its_own_figures(report):
    # 03-02: waiting 60 120 120 -> 120, 120; replies 10 30 60 -> 30, 60; lasted 660 1200 1800 -> 1200, 1800
    # 03-03: waiting 45; no reply; lasted 90 300 600 -> 300, 600
    assert [day.label for day in report.days] == ["2026-03-02", "2026-03-03"]
    assert numbers(report.days[0]) == dict(
        started=4, handled=3, abandoned=1, restored=2, waiting_median=120, waiting_p90=120,
        response_median=30, response_p90=60, duration_median=1200, duration_p90=1800)
    assert numbers(report.days[1]) == dict(
        started=4, handled=1, abandoned=2, restored=1, waiting_median=45, waiting_p90=45,
        response_median=None, response_p90=None, duration_median=300, duration_p90=600)


def test_each_agent_has_the_figures_of_the_chats_it_handled(report):
    # Alice S1 S2: waiting 60 120 -> rank 1 = 60, rank 2 = 120; replies 30 60; lasted 660 1200
    # Bob S3 S5: waiting 45 120 -> 45, 120; reply 10; lasted 600 (S3 is still active)
    alice, bob = report.agents
    assert (alice.label, bob.label) == ("Alice", "Bob")
    assert numbers(alice) == dict(
        started=2, handled=2, abandoned=0, restored=1, waiting_median=60, waiting_p90=120,
        response_median=30, response_p90=60, duration_median=660, duration_p90=1200)
    assert numbers(bob) == dict(
        started=2, handled=2, abandoned=0, restored=2, waiting_median=45, waiting_p90=120,
        response_median=10, response_p90=10, duration_median=600, duration_p90=600)


def test_abandoned_chats_are_grouped_by_why_they_ended(report):
    assert report.abandoned == [("heartbeat_timeout", 1), ("inactivity", 1), ("visitor", 1)]


def test_the_busiest_hours_count_chats_started_in_each_hour(report):
    # 09: S1 S2; 10: S5 S6; 11: S8; 14: S3 S4; 23: S7
    expected = [0] * 24
    expected[9], expected[10], expected[11], expected[14], expected[23] = 2, 2, 1, 2, 1
    assert report.hours == expected


def test_a_day_without_chats_is_shown_with_zeros(site, agents):
    empty = reports.report(date(2025, 1, 1), date(2025, 1, 3))
    assert [day.label for day in empty.days] == ["2025-01-01", "2025-01-02", "2025-01-03"]
    assert numbers(empty.summary)["started"] == 0 and empty.summary.restoration_rate is None
    assert empty.agents == [] and empty.abandoned == [] and empty.hours == [0] * 24


def test_the_range_defaults_to_the_last_seven_days():
    assert reports.date_range("", None, date(2026, 3, 10)) == (date(2026, 3, 4), date(2026, 3, 10))
    assert reports.date_range("", "1970-01-02", date(2026, 3, 10)) == (date(1969, 12, 27), date(1970, 1, 2))
    assert reports.date_range("9998-12-30", "9998-12-31", date(2026, 3, 10)) == (date(9998, 12, 30), date(9998, 12, 31))
    assert reports.date_range("2026-03-01", "2026-03-01", date(2026, 3, 10)) == (date(2026, 3, 1), date(2026, 3, 1))


@pytest.mark.parametrize("first, last, message", [
    ("2026-3-1", "2026-03-02", "The start date must be a date like 2026-01-31, in the years 1970 to 9998."),
    ("2026-02-30", "2026-03-02", "The start date must be a date like 2026-01-31, in the years 1970 to 9998."),
    ("2026-W01-1", "2026-03-02", "The start date must be a date like 2026-01-31, in the years 1970 to 9998."),
    ("2026-03-01", "tomorrow", "The end date must be a date like 2026-01-31, in the years 1970 to 9998."),
    ("9999-12-30", "9999-12-31", "The end date must be a date like 2026-01-31, in the years 1970 to 9998."),
    ("", "0001-01-02", "The end date must be a date like 2026-01-31, in the years 1970 to 9998."),
    ("1969-12-31", "1970-01-01", "The start date must be a date like 2026-01-31, in the years 1970 to 9998."),
    ("2026-03-05", "2026-03-02", "The start date is after the end date."),
    ("2025-03-01", "2026-03-02", "A report covers at most 366 days; choose a shorter range."),
])
def test_a_bad_range_is_refused_with_a_sentence(first, last, message):
    with pytest.raises(ChatError) as refused:
        reports.date_range(first, last, date(2026, 3, 10))
    assert refused.value.message == message


def test_a_name_that_looks_like_a_formula_stays_text_in_the_csv(app, report, agents):
    from chat.extensions import db
    from tests.support import csrf_token
    agents[0].display_name = '=HYPERLINK("https://evil.example")'
    db.session.commit()
    client = app.test_client()
    token = csrf_token(client.get("/login").text)
    client.post("/login", data={"email": "s@example.com", "password": "password-3", "csrf_token": token})
    answer = client.get("/reports/agents.csv?from=2026-03-02&to=2026-03-03")
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    assert answer.text.splitlines()[1] == "\"'=HYPERLINK(\"\"https://evil.example\"\")\",2,1,60,120,30,60,660,1200"


def test_ranks_that_fall_exactly_on_a_chat_pick_that_chat(site, agents):
    # Ten chats on 2026-05-04 lasting 10, 20, ... 100 s, stored out of order: the median is rank
    # ceil(0.5 x 10) = 5 -> 50 s and the p90 rank ceil(0.9 x 10) = 9 -> 90 s on both databases.
    for n in (3, 10, 1, 7, 5, 2, 9, 4, 8, 6):
        started = datetime(2026, 5, 4, 8, n)
        db.session.add(ChatSession(
            site_id=site.id, visitor=Visitor(site_id=site.id, name=f"Ten {n}"), status="abandoned",
            key_hash=hash_session_key(f"ten{n}"), started_at=started, queued_at=started,
            ended_at=started + timedelta(seconds=10 * n), end_reason="inactivity",
            expires_at=started, last_activity_at=started, visitor_last_seen_at=started))
    db.session.commit()
    summary = reports.report(date(2026, 5, 4), date(2026, 5, 4)).summary
    assert (summary.started, summary.abandoned, summary.duration_median, summary.duration_p90) == (10, 10, 50, 90)
    assert (summary.waiting_median, summary.response_median) == (None, None)
