"""Unit tests of chat/team.py: what admins may do to the team, and what each change ends."""
import pytest
from sqlalchemy import event

from chat import sessions, team
from chat.cli import save_agent
from chat.errors import ChatError
from chat.extensions import db
from chat.models import Agent


@pytest.fixture
def admin(app):
    return save_agent("root@example.com", "Root", "admin", "password-9")


def test_an_invited_agent_logs_in_with_its_temporary_password(site, admin):
    agent, password = team.invite(" New.Agent@Example.com ", " Nia ", "agent")
    assert (agent.email, agent.display_name, agent.role, agent.site_ids) == (
        "new.agent@example.com", "Nia", "agent", [site.id])
    assert agent.check_password(password) and len(password) >= 12


@pytest.mark.parametrize("email, name, role, sentence", [
    ("notanemail", "Nia", "agent", "Please enter a valid email address."),
    ("root@example.com", "Nia", "agent", "An agent with the email root@example.com already exists."),
    ("nia@example.com", "  ", "agent", "Please enter a name of 1 to 80 characters."),
    ("nia@example.com", "Nia", "owner", "Please choose a role: agent, supervisor, admin."),
])
def test_a_bad_invitation_says_what_is_wrong_and_stores_nothing(admin, email, name, role, sentence):
    with pytest.raises(ChatError) as refused:
        team.invite(email, name, role)
    assert refused.value.message == sentence
    assert db.session.query(Agent).count() == 1


def test_a_new_role_ends_the_agents_logins_a_new_name_does_not(agents, admin):
    alice = agents[0]
    team.change(alice, "Alice B.", "agent", by=admin)
    assert (alice.display_name, alice.session_version) == ("Alice B.", 0)
    team.change(alice, "Alice B.", "supervisor", by=admin)
    db.session.refresh(alice)
    assert (alice.role, alice.session_version) == ("supervisor", 1)


def test_an_admin_cannot_lock_itself_out(admin):
    with pytest.raises(ChatError):
        team.change(admin, "Root", "agent", by=admin)
    with pytest.raises(ChatError):
        team.disable(admin, by=admin)


def test_disabling_ends_the_logins_and_gives_the_chats_back(site, agents, admin):
    alice = agents[0]
    chat, _ = sessions.start_session(site)
    sessions.claim_session(chat, alice)
    team.disable(alice, by=admin)
    db.session.refresh(alice)
    db.session.refresh(chat)
    assert (alice.active, alice.session_version) == (False, 1)
    assert (chat.status, chat.agent_id) == ("waiting", None)
    team.enable(alice)
    assert alice.active


def test_a_password_reset_ends_every_login_and_the_old_password(agents):
    alice = agents[0]
    password = team.reset_password(alice)
    assert alice.check_password(password) and not alice.check_password("password-1")
    assert alice.session_version == 1


def test_who_can_take_a_chat_is_read_in_one_query(site, agents, admin):
    alice, bob, sue = agents
    chat, _ = sessions.start_session(site)
    sessions.claim_session(chat, alice)
    db.session.expire_all()                 # as in a new request: no agent's sites loaded yet
    assert (chat.site_id, chat.agent_id) == (site.id, alice.id)
    statements = []
    listener = lambda conn, cursor, statement, *args: statements.append(statement)
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        takers = team.who_can_take(chat)
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    assert [agent.display_name for agent in takers] == ["Bob", "Root", "Sue"]
    assert len(statements) == 1, statements
