"""Unit tests of the lifecycle functions in chat/sessions.py, on a migrated SQLite file."""
import pytest

from chat import message_store, publish, sessions
from chat.cli import save_agent
from chat.errors import ChatError
from chat.extensions import db
from chat.models import Message, Site

from tests.support import stored_texts


def test_a_new_session_waits_for_an_agent_and_expires_after_22_hours(site):
    chat, key = sessions.start_session(site, name="Ann")
    assert chat.status == "waiting"
    assert (chat.expires_at - chat.started_at).total_seconds() == 22 * 3600
    assert chat.key_matches(key)
    assert not chat.key_matches(key + "x")
    assert not chat.key_matches(None)
    assert key not in chat.key_hash


def test_messages_get_consecutive_seqs_and_a_repeated_client_id_is_stored_once(site):
    chat, _ = sessions.start_session(site)
    first = sessions.post_visitor_message(chat.id, "Ann", "one", "c1")
    again = sessions.post_visitor_message(chat.id, "Ann", "one", "c1")
    second = sessions.post_visitor_message(chat.id, "Ann", "two", "c2")
    assert (first.seq, again.id, second.seq) == (1, first.id, 2)
    assert db.session.query(Message).count() == 2
    db.session.refresh(chat)
    assert chat.last_seq == 2 and chat.last_message_preview == "two"


def test_claiming_is_won_once(site, agents):
    alice, bob, _ = agents
    chat, _ = sessions.start_session(site)
    sessions.claim_session(chat, alice)
    with pytest.raises(ChatError) as refused:
        sessions.claim_session(chat, bob)
    assert refused.value.code == "already_claimed"
    assert chat.agent_id == alice.id
    assert stored_texts(chat) == ["Alice has joined the chat"]


def test_only_the_holder_or_a_supervisor_may_write(site, agents):
    alice, bob, sue = agents
    chat, _ = sessions.start_session(site)
    with pytest.raises(ChatError):
        sessions.post_agent_message(chat, alice, "too early", "a0")
    sessions.claim_session(chat, alice)
    assert sessions.post_agent_message(chat, alice, "hello", "a1").sender_name == "Alice"
    with pytest.raises(ChatError):
        sessions.post_agent_message(chat, bob, "not mine", "b1")
    assert sessions.post_agent_message(chat, sue, "supervising", "s1").seq == 3


def test_agents_see_the_queue_and_their_own_chats_only(site, agents):
    alice, bob, sue = agents
    chat, _ = sessions.start_session(site)
    assert sessions.agent_can_view(bob, chat)
    sessions.claim_session(chat, alice)
    assert sessions.agent_can_view(alice, chat) and sessions.agent_can_view(sue, chat)
    assert not sessions.agent_can_view(bob, chat)
    with pytest.raises(ChatError) as refused:
        sessions.find_session_for_agent(chat.id, bob)
    assert refused.value.code == "session_not_found"


def test_ending_records_why_once_and_closes_the_session_for_sending(site, agents):
    alice = agents[0]
    chat, _ = sessions.start_session(site)
    sessions.claim_session(chat, alice)
    sessions.end_session(chat, "agent", ended_by="Alice")
    sessions.end_session(chat, "visitor")
    assert (chat.status, chat.end_reason) == ("ended", "agent")
    assert stored_texts(chat) == ["Alice has joined the chat", "Alice ended the chat."]    # one end, not two
    with pytest.raises(ChatError) as refused:
        sessions.post_visitor_message(chat.id, "Ann", "hello?", "late")
    assert refused.value.code == "session_closed"


def test_queue_lists_waiting_oldest_first_and_my_chats(site, agents):
    alice = agents[0]
    older, _ = sessions.start_session(site, name="Older")
    newer, _ = sessions.start_session(site, name="Newer")
    assert [c.id for c in sessions.waiting_sessions(alice)[0]] == [older.id, newer.id]
    sessions.claim_session(newer, alice)
    assert [c.id for c in sessions.waiting_sessions(alice)[0]] == [older.id]
    assert [c.id for c in sessions.sessions_of_agent(alice)] == [newer.id]


def test_messages_after_returns_only_later_messages_in_order(site):
    chat, _ = sessions.start_session(site)
    for n in range(5):
        sessions.post_visitor_message(chat.id, "Ann", f"m{n}", f"c{n}")
    assert [m.seq for m in sessions.messages_after(chat.id, 2)] == [3, 4, 5]


def test_the_queue_lists_the_oldest_first_page_and_counts_them_all(site, agents):
    for n in range(5):
        sessions.start_session(site, name=f"v{n}")
    shown, total = sessions.waiting_sessions(agents[0], limit=3)
    assert [c.visitor.name for c in shown] == ["v0", "v1", "v2"] and total == 5


def test_history_comes_in_pages_from_the_latest_backwards(site):
    chat, _ = sessions.start_session(site)
    for n in range(1, 8):
        sessions.post_visitor_message(chat.id, "Ann", f"m{n}", f"c{n}")
    assert [m.seq for m in sessions.latest_messages(chat.id, limit=3)] == [5, 6, 7]
    assert [m.seq for m in sessions.latest_messages(chat.id, before_seq=5, limit=3)] == [2, 3, 4]
    assert [m.seq for m in sessions.latest_messages(chat.id, before_seq=2, limit=3)] == [1]


def pending(chat, sender_type, text, client_id):
    """A message for the writer, not yet stored."""
    return message_store.PendingMessage(dict(session_id=chat.id, sender_type=sender_type, text=text,
                                             client_id=client_id))


def test_one_batch_stores_many_messages_and_a_bad_one_fails_alone(site):
    chat, _ = sessions.start_session(site)
    other, _ = sessions.start_session(site)
    first = pending(chat, "visitor", "one", "c1")
    elsewhere = pending(other, "visitor", "elsewhere", "o1")
    broken = pending(chat, None, "no sender type", "c2")           # violates NOT NULL
    retry = pending(chat, "visitor", "one", "c1")                  # a retry of the first
    third = pending(chat, "visitor", "three", "c3")
    batch = [first, elsewhere, broken, retry, third]
    published = []
    message_store.store(batch, published.append)
    assert first.message.seq == 1
    assert elsewhere.message.seq == 1                               # each chat counts its own
    assert isinstance(broken.outcome, Exception) and broken.message is None
    assert retry.outcome == "duplicate"
    assert third.message.seq == 2
    assert published == batch                                       # each one reported once, in order
    assert stored_texts(chat) == ["one", "three"]
    db.session.refresh(chat)
    assert chat.last_seq == 2 and chat.last_message_preview == "three"


def test_an_agent_sees_and_claims_only_the_queue_of_the_sites_it_serves(site, agents):
    alice, _, sue = agents
    other = Site(key="other", name="Other shop", allowed_origins="https://other.example")
    db.session.add(other)
    db.session.commit()
    olga = save_agent("o@example.com", "Olga", "agent", "password-4", sites=[other])
    demo_chat, _ = sessions.start_session(site, name="Ann")
    other_chat, _ = sessions.start_session(other, name="Otto")

    assert [c.visitor.name for c in sessions.waiting_sessions(olga)[0]] == ["Otto"]
    assert [c.visitor.name for c in sessions.waiting_sessions(alice)[0]] == ["Ann"]
    assert [c.visitor.name for c in sessions.waiting_sessions(sue)[0]] == ["Ann", "Otto"]
    assert not sessions.agent_can_view(olga, demo_chat) and sessions.agent_can_view(sue, other_chat)
    with pytest.raises(ChatError) as refused:
        sessions.claim_session(demo_chat, olga)
    assert refused.value.code == "session_not_found" and demo_chat.status == "waiting"
    assert sessions.claim_session(other_chat, olga).agent_id == olga.id


def test_a_new_agent_answers_the_sites_that_exist_when_it_is_created(site):
    first = save_agent("first@example.com", "First", "agent", "password-5")
    later = Site(key="later", name="Later")
    db.session.add(later)
    db.session.commit()
    assert first.site_ids == [site.id]
    assert save_agent("first@example.com", "First", "agent", "password-6").site_ids == [site.id]


def test_every_payload_says_whether_the_chat_is_open_and_queued(site, agents):
    chat, _ = sessions.start_session(site)
    for payload in (chat.summary(), publish.status_payload(chat)):
        assert (payload["is_open"], payload["is_queued"]) == (True, True)
    sessions.claim_session(chat, agents[0])
    assert (chat.summary()["is_open"], chat.summary()["is_queued"]) == (True, False)
    sessions.end_session(chat, "visitor")
    for payload in (chat.summary(), publish.status_payload(chat)):
        assert (payload["is_open"], payload["is_queued"]) == (False, False)
