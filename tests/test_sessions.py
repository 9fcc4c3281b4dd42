"""Unit tests of chat/sessions.py: every status change, what it writes and what it publishes."""
from datetime import timedelta

import pytest

from chat import messages, payloads, sessions
from chat.errors import ChatError
from chat.extensions import db
from chat.models import ChatSession

from tests.support import stored_texts


def events(published, name):
    return [entry for entry in published if entry[0] == "emit" and entry[1] == name]


def test_a_new_session_waits_for_an_agent_and_expires_after_22_hours(site):
    chat, key = sessions.start_session(site, name="Ann")
    assert chat.status == "waiting"
    assert (chat.expires_at - chat.started_at).total_seconds() == 22 * 3600


def test_only_the_session_key_opens_a_session_and_only_its_hash_is_kept(site):
    chat, key = sessions.start_session(site, name="Ann")
    assert chat.key_matches(key)
    assert not chat.key_matches(key + "x")
    assert not chat.key_matches(None)
    assert key not in chat.key_hash
    assert sessions.find_session_for_visitor(chat.id, key) is chat
    with pytest.raises(ChatError) as refused:
        sessions.find_session_for_visitor(chat.id, "wrong")
    assert refused.value.code == "session_not_found"


def test_a_new_session_is_announced_to_the_queue(site, published):
    chat, _ = sessions.start_session(site, name="Ann")
    rooms = [entry[3] for entry in events(published, "queue_update")]
    assert rooms == ["supervisors", f"site-agents:{site.id}"]


def test_claiming_is_won_once_and_announced_in_order(site, agents, published):
    alice, bob, _ = agents
    chat, _ = sessions.start_session(site)
    published.clear()
    sessions.claim_session(chat, alice)
    with pytest.raises(ChatError) as refused:
        sessions.claim_session(chat, bob)
    assert refused.value.code == "already_claimed"
    assert chat.agent_id == alice.id
    assert stored_texts(chat) == ["Alice has joined the chat"]
    room = f"session:{chat.id}"
    assert [(entry[0], entry[1]) for entry in published[:5]] == [
        ("emit", "message"), ("emit", "message"),                  # the system line, to both namespaces
        ("emit", "session_status"), ("emit", "session_status"),
        ("close_room", room)]                                       # then every dashboard re-joins


def test_claiming_an_ended_chat_says_it_has_ended(site, agents):
    chat, _ = sessions.start_session(site)
    sessions.end_session(chat, "visitor")
    with pytest.raises(ChatError) as refused:
        sessions.claim_session(chat, agents[0])
    assert refused.value.code == "session_closed"


def test_ending_records_why_once_and_closes_the_session_for_sending(site, agents):
    alice = agents[0]
    chat, _ = sessions.start_session(site)
    sessions.claim_session(chat, alice)
    sessions.end_session(chat, "agent", ended_by="Alice")
    sessions.end_session(chat, "visitor")
    assert (chat.status, chat.end_reason) == ("ended", "agent")
    assert stored_texts(chat) == ["Alice has joined the chat", "Alice ended the chat."]
    with pytest.raises(ChatError) as refused:
        messages.receive(messages.Inbound(chat.id, "hello?", "late", "Ann"))
    assert refused.value.code == "session_closed"


def test_end_many_ends_only_open_chats_matching_the_condition(site, agents, published):
    first, _ = sessions.start_session(site, name="First")
    second, _ = sessions.start_session(site, name="Second")
    untouched, _ = sessions.start_session(site, name="Untouched")
    sessions.end_session(second, "visitor")
    published.clear()
    ended = sessions.end_many(ChatSession.id.in_([first.id, second.id]), "expired")
    assert ended == [first.id]
    statuses = {chat.id: db.session.get(ChatSession, chat.id).status for chat in (first, second, untouched)}
    assert statuses == {first.id: "ended", second.id: "ended", untouched.id: "waiting"}
    assert stored_texts(first) == ["Chat session automatically ended after 22 hours."]
    assert {entry[2]["session_id"] for entry in events(published, "session_status")} == {first.id}
    assert sessions.end_many(ChatSession.id == first.id, "expired") == []


def test_the_end_message_says_who_or_what_ended_the_chat(app):
    assert sessions.end_message("visitor") == "The visitor ended the chat."
    assert sessions.end_message("agent", ended_by="Alice") == "Alice ended the chat."
    assert sessions.end_message("heartbeat_timeout") == "The visitor left the chat."
    app.config.update(INACTIVITY_MINUTES=1, SESSION_LIFETIME_HOURS=3)
    assert sessions.end_message("inactivity") == "Chat ended after 1 minute without activity."
    assert sessions.end_message("expired") == "Chat session automatically ended after 3 hours."


def test_a_silent_visitor_of_an_active_chat_is_marked_away_once(site, agents, published):
    held, _ = sessions.start_session(site)
    queued, _ = sessions.start_session(site)
    sessions.claim_session(held, agents[0])
    published.clear()
    silent = ChatSession.visitor_last_seen_at <= held.visitor_last_seen_at + timedelta(minutes=1)
    assert sessions.mark_visitors_away(silent) == [held.id]
    assert sessions.mark_visitors_away(silent) == []
    assert db.session.get(ChatSession, queued.id).visitor_away is False
    presence = [entry for entry in events(published, "presence") if entry[3] != "supervisors"]
    assert [entry[2] for entry in presence] == [
        {"session_id": held.id, "visitor_online": False, "reason": "heartbeat_timeout"}] * 2


def test_being_seen_again_clears_the_away_flag(site, agents, app):
    app.config.update(VISITOR_SEEN_WRITE_SECONDS=0)
    chat, _ = sessions.start_session(site)
    sessions.claim_session(chat, agents[0])
    sessions.mark_visitors_away(ChatSession.id == chat.id)
    assert sessions.record_visitor_seen(chat.id) == 1
    db.session.refresh(chat)
    assert chat.visitor_away is False


def test_one_address_may_hold_only_so_many_open_chats(site, app):
    app.config.update(MAX_OPEN_SESSIONS_PER_IP=2)
    fingerprint = sessions.address_fingerprint("203.0.113.9")
    for _ in range(2):
        sessions.refuse_too_many_open_sessions(fingerprint)
        sessions.start_session(site, started_from=fingerprint)
    with pytest.raises(ChatError) as refused:
        sessions.refuse_too_many_open_sessions(fingerprint)
    assert refused.value.code == "too_many_open_sessions"
    sessions.refuse_too_many_open_sessions(sessions.address_fingerprint("203.0.113.10"))
    assert "203.0.113.9" not in fingerprint


def test_every_payload_says_whether_the_chat_is_open_and_queued(site, agents):
    chat, _ = sessions.start_session(site)

    def flags():
        return {(payload["is_open"], payload["is_queued"])
                for payload in (payloads.summary(chat), payloads.status(chat))}
    assert flags() == {(True, True)}
    sessions.claim_session(chat, agents[0])
    assert flags() == {(True, False)}
    sessions.end_session(chat, "visitor")
    assert flags() == {(False, False)}


def test_an_agents_chats_go_back_to_the_queue_when_it_leaves(site, agents, published):
    alice, bob, _ = agents
    first, _ = sessions.start_session(site, name="First")
    second, _ = sessions.start_session(site, name="Second")
    bobs, _ = sessions.start_session(site, name="Bob's")
    for chat, agent in ((first, alice), (second, alice), (bobs, bob)):
        sessions.claim_session(chat, agent)
    sessions.end_session(second, "visitor")
    published.clear()
    assert sessions.return_to_queue(ChatSession.agent_id == alice.id, "logged out") == [first.id]
    db.session.refresh(first)
    assert (first.status, first.agent_id, first.is_queued) == ("waiting", None, True)
    assert stored_texts(first)[-1] == "Alice had to leave; someone else from the team will be with you shortly."
    assert db.session.get(ChatSession, bobs.id).status == "active"
    status = [entry[2] for entry in events(published, "session_status")]
    assert {(payload["status"], payload["agent_name"]) for payload in status} == {("waiting", None)}
    rooms = {entry[3] for entry in events(published, "queue_update")}
    assert f"site-agents:{site.id}" in rooms                  # the site's agents see it waiting again
    assert sessions.claim_session(first, bob).agent_id == bob.id      # another agent takes it over


def test_a_transfer_hands_the_chat_over_with_a_note_only_the_team_reads(site, agents, published):
    alice, bob, _ = agents
    chat, _ = sessions.start_session(site, name="Ann")
    sessions.claim_session(chat, alice)
    published.clear()
    sessions.transfer_session(chat, alice, bob, note="Wants a refund for order 12")
    assert (chat.status, chat.agent_id) == ("active", bob.id)
    stored = messages.after(chat.id)
    assert [(m.sender_type, m.private, m.text) for m in stored[-2:]] == [
        ("agent", True, "Wants a refund for order 12"),
        ("system", False, "Alice transferred the chat to Bob.")]
    note_events = [entry for entry in events(published, "message") if entry[2]["private"]]
    assert [(entry[3], entry[4]) for entry in note_events] == [(f"session:{chat.id}", "/agent")]   # never /visitor
    assert [m.text for m in messages.after(chat.id, for_visitor=True)][-1] == "Alice transferred the chat to Bob."


def test_a_transfer_back_to_the_queue_waits_again_from_now(site, agents):
    alice, bob, _ = agents
    chat, _ = sessions.start_session(site)
    sessions.claim_session(chat, alice)
    started_waiting = chat.queued_at
    sessions.transfer_session(chat, alice, None)
    assert (chat.status, chat.agent_id, chat.claimed_at) == ("waiting", None, None)
    assert chat.queued_at > started_waiting
    assert stored_texts(chat)[-1].startswith("Alice returned the chat to the queue")
    with pytest.raises(ChatError) as refused:
        sessions.transfer_session(chat, alice, bob)
    assert refused.value.code == "not_assigned"                   # it is nobody's now


def test_a_supervisor_reassigns_any_active_chat_and_a_stale_transfer_is_refused(site, agents):
    alice, bob, sue = agents
    chat, _ = sessions.start_session(site)
    sessions.claim_session(chat, alice)
    sessions.transfer_session(chat, sue, bob)
    assert chat.agent_id == bob.id
    with pytest.raises(ChatError) as refused:
        sessions.transfer_session(chat, bob, bob)
    assert refused.value.code == "invalid_target" and refused.value.message == "Bob already holds this chat."


def test_a_supervisor_joins_an_active_chat_with_a_line_and_takes_a_waiting_one(site, agents):
    alice, _, sue = agents
    held, _ = sessions.start_session(site)
    sessions.claim_session(held, alice)
    sessions.join_chat(held, sue)
    assert held.agent_id == alice.id and stored_texts(held)[-1] == "Sue has joined the chat"
    waiting, _ = sessions.start_session(site)
    sessions.join_chat(waiting, sue)
    assert (waiting.status, waiting.agent_id) == ("active", sue.id)
    with pytest.raises(ChatError) as refused:
        sessions.join_chat(held, alice)
    assert refused.value.code == "forbidden"


def test_a_transfer_to_an_agent_at_capacity_is_refused_in_words_for_the_one_transferring(site, agents):
    alice, bob, _ = agents
    bob.max_chats = 1
    db.session.commit()
    held, _ = sessions.start_session(site)
    sessions.claim_session(held, bob)
    chat, _ = sessions.start_session(site)
    sessions.claim_session(chat, alice)
    with pytest.raises(ChatError) as refused:
        sessions.transfer_session(chat, alice, bob)
    assert refused.value.code == "at_capacity"
    assert refused.value.message == "Bob already has 1 chat, their maximum; choose someone else."
    db.session.refresh(chat)
    assert chat.agent_id == alice.id
