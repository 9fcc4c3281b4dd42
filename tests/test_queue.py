"""Unit tests of chat/queue.py: the waiting list and an agent's own chats."""
from chat import queue, sessions
from chat.cli import save_agent
from chat.extensions import db
from chat.models import Site


def test_queue_lists_waiting_oldest_first_and_my_chats(site, agents):
    alice = agents[0]
    older, _ = sessions.start_session(site, name="Older")
    newer, _ = sessions.start_session(site, name="Newer")
    assert [c.id for c in queue.waiting_sessions(alice)[0]] == [older.id, newer.id]
    sessions.claim_session(newer, alice)
    assert [c.id for c in queue.waiting_sessions(alice)[0]] == [older.id]
    assert [c.id for c in queue.sessions_of_agent(alice)] == [newer.id]
    sessions.end_session(newer, "visitor")
    assert queue.sessions_of_agent(alice) == []


def test_the_queue_lists_the_oldest_first_page_and_counts_them_all(site, agents):
    for n in range(5):
        sessions.start_session(site, name=f"v{n}")
    shown, total = queue.waiting_sessions(agents[0], limit=3)
    assert [c.visitor.name for c in shown] == ["v0", "v1", "v2"]
    assert total == 5


def test_an_agent_sees_and_claims_only_the_queue_of_the_sites_it_serves(site, agents):
    alice, _, sue = agents
    other = Site(key="other", name="Other shop", allowed_origins="https://other.example")
    db.session.add(other)
    db.session.commit()
    olga = save_agent("o@example.com", "Olga", "agent", "password-4", sites=[other])
    sessions.start_session(site, name="Ann")
    other_chat, _ = sessions.start_session(other, name="Otto")

    def names(agent):
        return [c.visitor.name for c in queue.waiting_sessions(agent)[0]]
    assert names(olga) == ["Otto"]
    assert names(alice) == ["Ann"]
    assert names(sue) == ["Ann", "Otto"]
    assert sessions.claim_session(other_chat, olga).agent_id == olga.id
    assert names(sue) == ["Ann"]


def test_a_new_agent_answers_the_sites_that_exist_when_it_is_created(site):
    first = save_agent("first@example.com", "First", "agent", "password-5")
    later = Site(key="later", name="Later")
    db.session.add(later)
    db.session.commit()
    assert first.site_ids == [site.id]
    assert save_agent("first@example.com", "First", "agent", "password-6").site_ids == [site.id]


def test_read_state_counts_the_visitors_messages_after_what_the_agent_has_read(site, agents):
    from chat import messages
    alice, bob, _ = agents
    chat, _ = sessions.start_session(site, name="Ann")
    sessions.claim_session(chat, alice)
    for n in range(3):
        messages.receive(messages.Inbound(chat.id, f"question {n}", f"q{n}", "Ann"))
    messages.post_agent(chat, alice, "answer", "a1")
    db.session.refresh(chat)
    assert queue.unread_counts(alice.id, [chat.id]) == {chat.id: 3}       # agent lines do not count

    assert queue.mark_read(alice.id, chat, 2) == 2                       # seq 1 is the claim notice
    assert queue.unread_counts(alice.id, [chat.id]) == {chat.id: 2}
    assert queue.mark_read(alice.id, chat, 1) == 2                       # never backwards
    assert queue.mark_read(alice.id, chat, 10_000) == chat.last_seq      # never past the end
    assert queue.unread_counts(alice.id, [chat.id]) == {}
    assert queue.unread_counts(bob.id, [chat.id]) == {chat.id: 3}        # per agent
    assert queue.unread_counts(alice.id, []) == {}
