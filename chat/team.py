"""The team, as admins manage it: invite an agent, change its name or role, disable or enable
it, reset its password, set its capacity. Every change that takes a right away ends the agent's logins at once
(cookies refused, open dashboards closed) and a disabled agent's chats go back to the queue."""
import secrets

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from . import access, queue, sessions, validation
from .errors import ChatError
from .extensions import db
from .models import AGENT_ROLES, MAX_CHATS_LIMIT, Agent, ChatSession, Site
from .realtime.disconnect import disconnect_agent_sockets
from .validation import MAX_NAME_LENGTH


def temporary_password():
    """Shown once to the admin, who hands it over; the agent changes it on its account page."""
    return secrets.token_urlsafe(12)


def checked_name(name):
    name = (name or "").strip()
    if not name or len(name) > MAX_NAME_LENGTH:
        raise ChatError("invalid_payload", f"Please enter a name of 1 to {MAX_NAME_LENGTH} characters.")
    return name


def checked_role(role):
    if role not in AGENT_ROLES:
        raise ChatError("invalid_payload", "Please choose a role: " + ", ".join(AGENT_ROLES) + ".")
    return role


def checked_capacity(text):
    """Capacity as an admin types it: a whole number of chats from 1 to MAX_CHATS_LIMIT."""
    text = str(text if text is not None else "").strip()
    if not (len(text) <= 3 and text.isascii() and text.isdigit() and 1 <= int(text) <= MAX_CHATS_LIMIT):
        raise ChatError("invalid_payload",
                        f"Please enter a number of chats from 1 to {MAX_CHATS_LIMIT} for the capacity.")
    return int(text)


def invite(email, name, role):
    """A new agent answering every site that exists now; returns (agent, temporary password)."""
    email = validation.visitor_email({"email": (email or "").strip().lower()})
    if email is None:
        raise ChatError("invalid_payload", "Please enter a valid email address.")
    if db.session.execute(select(Agent.id).filter_by(email=email)).first():
        raise ChatError("agent_exists", f"An agent with the email {email} already exists.")
    password = temporary_password()
    agent = Agent(email=email, display_name=checked_name(name), role=checked_role(role),
                  sites=db.session.execute(select(Site).order_by(Site.id)).scalars().all())
    agent.set_password(password)
    db.session.add(agent)
    db.session.commit()
    return agent, password


def change(agent, name, role, by, max_chats=None):
    """A new display name, role and capacity (None: unchanged); a new role ends the agent's
    logins (its rights changed); a raised capacity offers the waiting chats again."""
    name, role = checked_name(name), checked_role(role)
    max_chats = agent.max_chats if max_chats is None else checked_capacity(max_chats)
    if agent.id == by.id and role != agent.role:
        raise ChatError("invalid_payload", "You cannot change your own role; ask another admin.")
    role_changed = role != agent.role
    capacity_raised = max_chats > agent.max_chats
    agent.display_name, agent.role, agent.max_chats = name, role, max_chats
    if role_changed:
        agent.revoke_logins()
    db.session.commit()
    if role_changed:
        disconnect_agent_sockets(agent.id)
    if capacity_raised:
        queue.offer_waiting(agent.site_ids)


def disable(agent, by):
    if agent.id == by.id:
        raise ChatError("invalid_payload", "You cannot disable your own account.")
    agent.active = False
    agent.revoke_logins()
    db.session.commit()
    disconnect_agent_sockets(agent.id)
    sessions.return_to_queue(ChatSession.agent_id == agent.id, "disabled")


def enable(agent):
    agent.active = True
    db.session.commit()


def reset_password(agent):
    """A new temporary password; every login of the agent ends. Returns the password."""
    password = temporary_password()
    agent.set_password(password)
    agent.revoke_logins()
    db.session.commit()
    disconnect_agent_sockets(agent.id)
    return password


def who_can_take(chat_session):
    """Who a chat may be transferred to (access.may_receive), by name: one query, the agents'
    sites joined (the rule asks each agent whether it serves the chat's site)."""
    agents = db.session.execute(select(Agent).where(Agent.active).options(joinedload(Agent.sites))
                                .order_by(Agent.display_name, Agent.id)).unique().scalars()
    return [agent for agent in agents if access.may_receive(agent, chat_session)]
