"""Unit tests of chat/queue.py: the waiting list, an agent's own chats, read state; routing
(capacity, the place in line, the wait estimate, auto-assignment)."""
from datetime import timedelta

import pytest

from chat import queue, sessions, team
from chat.cli import save_agent
from chat.errors import ChatError
from chat.extensions import db
from chat.models import ChatSession, Site, utcnow
from chat.queue import Candidate, choose_agent
from chat.realtime import presence

from tests.support import stored_texts


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


# ---- routing: capacity, place in line, wait estimate, auto-assignment ----

@pytest.fixture
def online(monkeypatch):
    """Who has a dashboard connected, as the test says (a set the test fills)."""
    ids = set()
    monkeypatch.setattr(presence, "online_agent_ids", lambda: list(ids))
    return ids


def auto(site):
    site.routing = "auto"
    db.session.commit()
    return site


def set_wait(chat, queued_minutes_ago, waited_seconds, now):
    """Pretend `chat` was queued and claimed earlier, after waiting `waited_seconds`."""
    chat.queued_at = now - timedelta(minutes=queued_minutes_ago)
    chat.claimed_at = chat.queued_at + timedelta(seconds=waited_seconds)
    db.session.commit()


def test_the_place_in_line_counts_the_sites_queued_chats_by_when_they_joined(site, agents):
    alice = agents[0]
    first, _ = sessions.start_session(site)
    second, _ = sessions.start_session(site)
    third, _ = sessions.start_session(site)
    assert [queue.queue_position(c) for c in (first, second, third)] == [1, 2, 3]
    other = Site(key="other", name="Other")
    db.session.add(other)
    db.session.commit()
    sessions.start_session(other)                                   # another site's line
    sessions.claim_session(second, alice)
    assert [queue.queue_position(c) for c in (first, second, third)] == [1, None, 2]
    sessions.return_to_queue(ChatSession.id == second.id, "away")   # back of the line
    db.session.refresh(second)
    assert [queue.queue_position(c) for c in (first, second, third)] == [1, 3, 2]


def test_no_estimate_without_recent_claims_else_the_median_wait(site, agents):
    alice = agents[0]
    now = utcnow()
    assert queue.estimated_wait(site.id, now) is None
    waits = (60, 240, 600, 30)
    for n, waited in enumerate(waits):
        chat, _ = sessions.start_session(site)
        sessions.claim_session(chat, alice)
        sessions.end_session(chat, "agent", ended_by="Alice")
        set_wait(chat, 30 + n, waited, now)
    assert queue.estimated_wait(site.id, now) == 150                # median of 30, 60, 240, 600
    old, _ = sessions.start_session(site)
    sessions.claim_session(old, alice)
    set_wait(old, 120, 3000, now)                                   # claimed over an hour ago: left out
    assert queue.estimated_wait(site.id, now) == 150
    assert queue.estimated_wait(site.id, now + timedelta(hours=2)) is None


def test_a_visitors_estimate_is_the_median_less_what_it_waited_already(site):
    now = utcnow()
    assert queue.wait_left(240, now - timedelta(seconds=60), now) == 180
    assert queue.wait_left(240, now - timedelta(seconds=300), now) is None      # past it: no estimate
    assert queue.wait_left(None, now, now) is None
    chat, _ = sessions.start_session(site)
    assert queue.position_payload(chat) == {"session_id": chat.id, "position": 1, "estimated_wait_seconds": None}


def candidate(agent_id, held, max_chats=5, idle_minutes=None):
    idle_since = utcnow() - timedelta(minutes=idle_minutes) if idle_minutes is not None else None
    return Candidate(agent_id, held, max_chats, idle_since)


def test_the_least_busy_agent_under_capacity_is_chosen_ties_by_the_longest_idle():
    assert choose_agent([]) is None
    assert choose_agent([candidate(1, 3), candidate(2, 1), candidate(3, 2)]).agent_id == 2
    assert choose_agent([candidate(1, 1, idle_minutes=5), candidate(2, 1, idle_minutes=20)]).agent_id == 2
    assert choose_agent([candidate(1, 1, idle_minutes=5), candidate(2, 1)]).agent_id == 2   # never claimed
    assert choose_agent([candidate(1, 2, max_chats=2), candidate(2, 4)]).agent_id == 2      # 1 is full
    assert choose_agent([candidate(1, 2, max_chats=2), candidate(2, 1, max_chats=1)]) is None


def test_a_manual_site_is_never_auto_assigned(site, agents, online):
    online.add(agents[0].id)
    chat, _ = sessions.start_session(site)
    assert (chat.status, queue.offer_waiting()) == ("waiting", [])


def test_a_new_chat_of_an_auto_site_goes_to_the_least_busy_online_agent(site, agents, online, published):
    alice, bob, sue = agents
    auto(site)
    online.update({alice.id, sue.id})                                # Bob is offline
    first, _ = sessions.start_session(site)
    assert (first.status, first.agent_id) == ("active", alice.id)     # Sue supervises: never assigned
    assert stored_texts(first) == ["Alice has joined the chat"]
    online.add(bob.id)
    second, _ = sessions.start_session(site)
    assert second.agent_id == bob.id                                 # Bob holds none
    third, _ = sessions.start_session(site)
    assert third.agent_id == alice.id                                # a tie: Alice claimed longest ago


def test_a_chat_nobody_can_take_waits_then_goes_to_whoever_frees_up(site, agents, online, published):
    alice = agents[0]
    auto(site)
    alice.max_chats = 1
    db.session.commit()
    online.add(alice.id)
    held, _ = sessions.start_session(site)
    waiting, _ = sessions.start_session(site)
    assert (held.agent_id, waiting.status) == (alice.id, "waiting")  # Alice is full
    positions = [e[2] for e in published if e[:2] == ("emit", "queue_position")]
    assert positions[-1] == {"session_id": waiting.id, "position": 1, "estimated_wait_seconds": None}

    sessions.end_session(held, "agent", ended_by="Alice")            # capacity freed
    db.session.refresh(waiting)
    assert (waiting.status, waiting.agent_id) == ("active", alice.id)


def test_an_agent_coming_online_or_getting_more_capacity_is_offered_the_queue(site, agents, online):
    alice, bob, sue = agents
    auto(site)
    first, _ = sessions.start_session(site)
    second, _ = sessions.start_session(site)
    assert queue.offer_waiting() == []                               # nobody online
    alice.max_chats = 1
    db.session.commit()
    online.add(alice.id)
    assert queue.offer_waiting([site.id]) == [first.id]
    team.change(alice, "Alice", "agent", by=sue, max_chats="2")     # raised: offered again at once
    db.session.refresh(second)
    assert second.agent_id == alice.id


def test_a_claim_over_capacity_is_refused_supervisors_are_not_capped(site, agents):
    alice, _, sue = agents
    alice.max_chats = 2
    db.session.commit()
    chats = [sessions.start_session(site)[0] for _ in range(4)]
    for chat in chats[:2]:
        sessions.claim_session(chat, alice)
    with pytest.raises(ChatError) as refused:
        sessions.claim_session(chats[2], alice)
    assert (refused.value.code, refused.value.message) == (
        "at_capacity", "You already have 2 chats, your maximum; end one first.")
    db.session.refresh(chats[2])
    assert chats[2].status == "waiting"
    sue.max_chats = 1
    db.session.commit()
    for chat in chats[2:]:
        assert sessions.claim_session(chat, sue).agent_id == sue.id


def test_the_first_in_line_hear_their_place_when_the_line_moves(site, agents, published, monkeypatch):
    monkeypatch.setattr(queue, "POSITIONS_TOLD", 3)
    chats = [sessions.start_session(site)[0] for _ in range(5)]
    published.clear()
    sessions.claim_session(chats[0], agents[0])
    told = {e[3]: e[2]["position"] for e in published if e[:2] == ("emit", "queue_position")}
    assert told == {f"session:{chats[1].id}": 1, f"session:{chats[2].id}": 2, f"session:{chats[3].id}": 3}
    published.clear()
    sessions.end_session(chats[0], "agent", ended_by="Alice")        # an active chat ending: the line is unchanged
    assert not [e for e in published if e[:2] == ("emit", "queue_position")]


@pytest.mark.parametrize("text", ["0", "51", "", "two", "-1", "1.5", "9" * 5000])
def test_a_capacity_is_a_number_from_1_to_50(agents, text):
    alice, _, sue = agents
    with pytest.raises(ChatError) as refused:
        team.change(alice, "Alice", "agent", by=sue, max_chats=text)
    assert refused.value.message == "Please enter a number of chats from 1 to 50 for the capacity."


def test_a_sweep_that_ends_many_waiting_chats_tells_the_line_once(site, published):
    chats = [sessions.start_session(site)[0] for _ in range(5)]
    published.clear()
    sessions.end_many(ChatSession.id.in_([c.id for c in chats[:3]]), "inactivity", status="abandoned")
    told = [(e[3], e[2]["position"]) for e in published if e[:2] == ("emit", "queue_position")]
    assert told == [(f"session:{chats[3].id}", 1), (f"session:{chats[4].id}", 2)]
