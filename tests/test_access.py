"""Unit tests of chat/access.py: who may do what, for every role and status."""
from types import SimpleNamespace

import pytest

from chat import access, sessions
from chat.cli import save_agent
from chat.errors import ChatError
from chat.extensions import db
from chat.models import StatusGroups


class Chat(SimpleNamespace, StatusGroups):
    """A chat as the rules see it: a status, a holder and a site."""


class Person(SimpleNamespace):
    def serves_site(self, site_id):
        return self.role in ("supervisor", "admin") or site_id in self.sites


HOLDER = Person(id=1, role="agent", sites={10})
COLLEAGUE = Person(id=2, role="agent", sites={10})          # same site, not the holder
STRANGER = Person(id=3, role="agent", sites={20})           # another site's agent
SUPERVISOR = Person(id=4, role="supervisor", sites=set())
ADMIN = Person(id=5, role="admin", sites=set())
PEOPLE = {"holder": HOLDER, "colleague": COLLEAGUE, "stranger": STRANGER, "supervisor": SUPERVISOR, "admin": ADMIN}


def chat(status):
    return Chat(status=status, agent_id=HOLDER.id if status in ("active", "ended") else None, site_id=10)


def allowed(rule, status):
    return sorted(name for name, person in PEOPLE.items() if rule(person, chat(status)))


@pytest.mark.parametrize("status, expected", [
    ("waiting", ["admin", "colleague", "holder", "supervisor"]),     # the site's agents see its queue
    ("bot", ["admin", "colleague", "holder", "supervisor"]),
    ("active", ["admin", "holder", "supervisor"]),
    ("ended", ["admin", "holder", "supervisor"]),
])
def test_who_may_view(status, expected):
    assert allowed(access.may_view, status) == expected


@pytest.mark.parametrize("status, expected", [
    ("waiting", ["admin", "colleague", "holder", "supervisor"]),
    ("active", []), ("ended", []), ("abandoned", []),
])
def test_who_may_claim(status, expected):
    assert allowed(access.may_claim, status) == expected


@pytest.mark.parametrize("status, expected", [
    ("waiting", []), ("active", ["admin", "holder", "supervisor"]), ("ended", []),
])
def test_who_may_write_and_transfer(status, expected):
    assert allowed(access.may_write, status) == expected
    assert allowed(access.may_transfer, status) == expected


@pytest.mark.parametrize("status, expected", [
    ("waiting", ["admin", "supervisor"]),            # an unclaimed chat: only a supervisor ends it
    ("active", ["admin", "holder", "supervisor"]),
    ("ended", []),
])
def test_who_may_end(status, expected):
    assert allowed(access.may_end, status) == expected


def test_supervising_and_administering_go_by_role():
    assert [name for name, person in PEOPLE.items() if access.supervises(person)] == ["supervisor", "admin"]
    assert [name for name, person in PEOPLE.items() if access.administers(person)] == ["admin"]


def test_refusals_say_not_found_for_what_the_agent_may_not_see():
    for refuse in (lambda: access.require_view(STRANGER, chat("waiting")),
                   lambda: access.require_view(HOLDER, None),
                   lambda: access.require_claim(STRANGER, chat("waiting"))):
        with pytest.raises(ChatError) as refused:
            refuse()
        assert refused.value.code == "session_not_found"
    with pytest.raises(ChatError) as refused:
        access.require_write(COLLEAGUE, chat("active"))
    assert refused.value.code == "not_assigned"
    with pytest.raises(ChatError) as refused:
        access.require_end(COLLEAGUE, chat("waiting"))
    assert refused.value.code == "not_assigned"
    assert access.require_end(COLLEAGUE, chat("ended"))           # ending an ended chat changes nothing


def test_a_visitor_writes_only_to_an_open_chat():
    assert [s for s in ("bot", "waiting", "active", "ended", "abandoned")
            if access.visitor_may_write(chat(s))] == ["bot", "waiting", "active"]
    with pytest.raises(ChatError) as refused:
        access.require_visitor_write(chat("abandoned"))
    assert refused.value.code == "session_closed"


def test_an_agent_event_reads_the_agent_and_the_chat_fresh_in_one_query(site, agents):
    alice, bob, sue = agents
    waiting, _ = sessions.start_session(site)
    agent, chat_facts = access.agent_and_chat(alice.id, waiting.id)
    assert (agent.active, agent.session_version, agent.display_name) == (True, 0, "Alice")
    assert (chat_facts.status, chat_facts.agent_id, chat_facts.is_queued) == ("waiting", None, True)
    assert access.may_view(agent, chat_facts) and access.may_claim(agent, chat_facts)

    sessions.claim_session(waiting, alice)
    bob_now, chat_now = access.agent_and_chat(bob.id, waiting.id)
    assert not access.may_view(bob_now, chat_now)              # lost it to Alice, seen at once
    assert access.may_write(*access.agent_and_chat(sue.id, waiting.id))

    alice.revoke_logins()
    alice.active = False
    db.session.commit()
    agent, _ = access.agent_and_chat(alice.id)
    assert (agent.active, agent.session_version) == (False, 1)
    assert access.agent_and_chat(alice.id, "no-such-chat")[1] is None
    assert access.agent_and_chat(999999, waiting.id) == (None, None)


def test_an_agent_of_another_site_is_not_taken_for_one_of_this_site(site):
    from chat.models import Site
    other = Site(key="other", name="Other", allowed_origins="https://other.example")
    db.session.add(other)
    db.session.commit()
    olga = save_agent("o@example.com", "Olga", "agent", "password-4", sites=[other])
    chat_here, _ = sessions.start_session(site)
    agent, chat_facts = access.agent_and_chat(olga.id, chat_here.id)
    assert not agent.serves_site(chat_facts.site_id)
    assert not access.may_view(agent, chat_facts)
    assert not access.may_view(olga, chat_here)                 # the ORM agent answers the same


@pytest.mark.parametrize("status, expected", [
    ("waiting", ["admin", "colleague", "holder", "supervisor"]),     # a heads-up on a waiting chat
    ("active", ["admin", "holder", "supervisor"]),
    ("ended", []), ("abandoned", []),
])
def test_who_may_write_a_private_note(status, expected):
    assert allowed(access.may_note, status) == expected


@pytest.mark.parametrize("status, expected", [
    ("waiting", ["admin", "supervisor"]), ("active", ["admin", "supervisor"]), ("ended", []),
])
def test_who_may_join_a_chat_as_a_participant(status, expected):
    assert allowed(access.may_join, status) == expected


def test_a_chat_goes_only_to_an_active_agent_of_its_site_who_does_not_hold_it():
    active = chat("active")
    receivers = sorted(name for name, person in PEOPLE.items()
                       if access.may_receive(Person(**vars(person), active=True), active))
    assert receivers == ["admin", "colleague", "supervisor"]
    assert not access.may_receive(Person(**vars(COLLEAGUE), active=False), active)
    with pytest.raises(ChatError) as refused:
        access.require_transfer(COLLEAGUE, active, SUPERVISOR)
    assert refused.value.code == "not_assigned"                   # only the holder or a supervisor transfers
    with pytest.raises(ChatError) as refused:
        access.require_transfer(HOLDER, active, Person(**vars(STRANGER), active=True, display_name="Sid"))
    assert refused.value.code == "invalid_target" and "Sid cannot take this chat" in refused.value.message
