"""The housekeeping rules, with an injected clock instead of waiting."""
from datetime import timedelta

import pytest

from chat import jobs, messages, sessions
from chat.realtime import presence
from chat.extensions import db
from chat.models import ChatSession, JobLease

from tests.support import stored_texts


def test_every_open_session_ends_22_hours_after_it_started(site, agents):
    waiting, _ = sessions.start_session(site)
    active, _ = sessions.start_session(site)
    sessions.claim_session(active, agents[0])
    assert jobs.expire_overdue_sessions(waiting.started_at + timedelta(hours=21, minutes=59)) == []
    ended = jobs.expire_overdue_sessions(waiting.started_at + timedelta(hours=22, seconds=1))
    assert sorted(ended) == sorted([waiting.id, active.id])
    for chat in (waiting, active):
        db.session.refresh(chat)
        assert (chat.status, chat.end_reason) == ("ended", "expired")
        assert stored_texts(chat)[-1] == "Chat session automatically ended after 22 hours."


def test_unassigned_sessions_are_abandoned_after_30_minutes_without_activity(site, agents):
    idle, _ = sessions.start_session(site)
    held, _ = sessions.start_session(site)
    sessions.claim_session(held, agents[0])
    start = idle.started_at
    assert jobs.abandon_inactive_sessions(start + timedelta(minutes=29)) == []
    messages.receive(messages.Inbound(idle.id, "still here", "c1", "Ann"))   # activity moves the clock on
    db.session.refresh(idle)
    assert jobs.abandon_inactive_sessions(idle.last_activity_at + timedelta(minutes=29)) == []
    assert jobs.abandon_inactive_sessions(idle.last_activity_at + timedelta(minutes=31)) == [idle.id]
    db.session.refresh(idle)
    db.session.refresh(held)
    assert (idle.status, idle.end_reason) == ("abandoned", "inactivity")
    assert held.status == "active"


def test_a_silent_visitor_abandons_a_queued_chat_but_an_agents_chat_stays_open(site, agents):
    queued, _ = sessions.start_session(site)
    held, _ = sessions.start_session(site)
    sessions.claim_session(held, agents[0])
    later = queued.visitor_last_seen_at + timedelta(minutes=6)
    sessions.record_visitor_seen(queued.id)
    assert queued.id not in jobs.abandon_silent_visitors(queued.visitor_last_seen_at + timedelta(minutes=4))
    changed = jobs.abandon_silent_visitors(later + timedelta(minutes=1))
    assert set(changed) == {queued.id, held.id}
    db.session.refresh(queued)
    db.session.refresh(held)
    assert (queued.status, queued.end_reason) == ("abandoned", "heartbeat_timeout")
    assert (held.status, held.visitor_away) == ("active", True)
    assert jobs.abandon_silent_visitors(later + timedelta(minutes=2)) == []   # told once
    sessions.record_visitor_seen(held.id)
    db.session.refresh(held)
    assert held.visitor_away is False


def test_sweeps_are_idempotent(site):
    chat, _ = sessions.start_session(site)
    late = chat.started_at + timedelta(days=2)
    assert jobs.run_jobs(now=late, use_lease=False)["expire_overdue_sessions"] == 1
    assert jobs.run_jobs(now=late, use_lease=False) == {
        "expire_overdue_sessions": 0, "abandon_silent_visitors": 0, "abandon_inactive_sessions": 0,
        "requeue_chats_of_absent_agents": 0, "offer_waiting_chats": 0, "delete_unsent_attachments": 0,
        "queue_unsent_channel_messages": 0, "retry_channel_events": 0}
    assert stored_texts(chat) == ["Chat session automatically ended after 22 hours."]


def test_one_process_holds_the_lease_until_it_expires(app, monkeypatch):
    now = db.session.execute(db.select(db.func.current_timestamp())).scalar()
    monkeypatch.setattr(jobs, "HOLDER", "process-a")
    assert jobs.take_lease(now, 60)
    monkeypatch.setattr(jobs, "HOLDER", "process-b")
    assert not jobs.take_lease(now + timedelta(seconds=30), 60)
    assert jobs.run_jobs() is None                       # b skips the tick
    assert jobs.take_lease(now + timedelta(seconds=61), 60)
    assert db.session.get(JobLease, jobs.LEASE_NAME).holder == "process-b"


def test_run_jobs_reports_what_each_sweep_did(site):
    chat, _ = sessions.start_session(site)
    counts = jobs.run_jobs(now=chat.started_at + timedelta(minutes=10), use_lease=False)
    assert counts == {"expire_overdue_sessions": 0, "abandon_silent_visitors": 1,
                      "abandon_inactive_sessions": 0, "requeue_chats_of_absent_agents": 0,
                      "offer_waiting_chats": 0, "delete_unsent_attachments": 0,
                      "queue_unsent_channel_messages": 0, "retry_channel_events": 0}
    assert db.session.get(ChatSession, chat.id).status == "abandoned"


@pytest.mark.parametrize("now_text", ["yesterday", "2030-13-01"])
def test_run_jobs_refuses_a_bad_now(app, now_text):
    result = app.test_cli_runner().invoke(args=["chat", "run-jobs", "--once", "--now", now_text])
    assert result.exit_code != 0 and "ISO time" in result.output


def test_the_end_messages_name_the_durations_that_are_set(app, site, agents):
    app.config.update(INACTIVITY_MINUTES=45, SESSION_LIFETIME_HOURS=1)
    idle, _ = sessions.start_session(site)
    old, _ = sessions.start_session(site)
    sessions.claim_session(old, agents[0])          # held: never abandoned for inactivity
    jobs.abandon_inactive_sessions(idle.last_activity_at + timedelta(minutes=46))
    assert stored_texts(idle) == ["Chat ended after 45 minutes without activity."]
    jobs.expire_overdue_sessions(old.started_at + timedelta(hours=2))
    assert stored_texts(old)[-1] == "Chat session automatically ended after 1 hour."


def test_an_agent_with_no_dashboard_for_the_away_minutes_gives_its_chats_back(site, agents, app):
    alice, bob, _ = agents
    held, _ = sessions.start_session(site, name="Held")
    covered, _ = sessions.start_session(site, name="Covered")
    sessions.claim_session(held, alice)
    sessions.claim_session(covered, bob)
    left_at = held.started_at
    sessions.agents_seen([alice.id, bob.id], now=left_at)
    app.config.update(AGENT_AWAY_MINUTES=2)
    assert jobs.requeue_chats_of_absent_agents(left_at + timedelta(minutes=1)) == []
    presence.agent_connected(bob.id)                 # Bob's dashboard is open on this process
    try:
        assert jobs.requeue_chats_of_absent_agents(left_at + timedelta(minutes=3)) == [held.id]
    finally:
        presence.agent_disconnected(bob.id)
    db.session.refresh(held)
    assert (held.status, held.agent_id) == ("waiting", None)
    assert stored_texts(held)[-1] == "Alice had to leave; someone else from the team will be with you shortly."
    assert db.session.get(ChatSession, covered.id).status == "active"
