"""The /agent namespace: the dashboard's side, for logged-in agents only."""
from flask import request
from flask_login import current_user
from flask_socketio import join_room, leave_room

from .. import publish, sessions, validation
from ..errors import ChatError
from ..extensions import db, socketio
from ..models import Agent, Site
from ..origins import is_own_origin, request_origin
from . import limits, presence
from .handlers import LoginEnded, acknowledged, forget_socket, refuse, remember_socket, unknown_event
from .visitor_events import missed_messages, presence_of_agents, replay

NS = publish.AGENT_NS


@socketio.on("connect", namespace=NS)
def connect(auth=None):
    """A dashboard tab opens its socket with the login cookie, from the app's own origin.
    See docs/protocol.md, /agent connect."""
    if not is_own_origin(request_origin()):
        raise refuse("origin_not_allowed", "Connect from the dashboard's own address.")
    if not current_user.is_authenticated:
        raise refuse("login_required", "Log in first.")
    agent = current_user
    # The login's version: every event checks it, so a revoked login stops at once.
    remember_socket(NS, agent_id=agent.id, version=agent.session_version)
    join_room(publish.agent_room(agent.id))
    if agent.sees_every_session:
        join_room(publish.SUPERVISORS_ROOM)
    else:
        for site_id in agent.site_ids:
            join_room(publish.site_agents_room(site_id))
    if presence.agent_connected(agent.id):
        tell_visitors_agents_online(agent)


@socketio.on("disconnect", namespace=NS)
def disconnect(*_reason):
    state = forget_socket(NS)
    limits.forget(request.sid)
    if state and presence.agent_disconnected(state["agent_id"]):
        agent = db.session.get(Agent, state["agent_id"])
        if agent is not None:
            tell_visitors_agents_online(agent)


def tell_visitors_agents_online(agent):
    """An agent came or went: the visitors of each site it answers see the new count."""
    site_ids = (db.session.execute(db.select(Site.id)).scalars() if agent.sees_every_session
                else agent.site_ids)
    for site_id in site_ids:
        socketio.emit("presence", presence_of_agents(site_id), to=publish.site_visitors_room(site_id),
                      namespace=publish.VISITOR_NS)


def acting_agent(state):
    """The agent behind this socket, read fresh so a disabled, logged-out or changed agent
    (password, role) stops at once: the event is refused and the socket closed."""
    agent = db.session.get(Agent, state["agent_id"])
    if agent is None or not agent.is_active or agent.session_version != state["version"]:
        raise LoginEnded()
    return agent


def session_for(state, payload):
    agent = acting_agent(state)
    return agent, sessions.find_session_for_agent(validation.session_id(payload), agent)


@socketio.on("join_session", namespace=NS)
@acknowledged(NS)
def join_session(state, payload):
    """Agent opens a chat `{session_id, last_seq}`: joins its room, gets the first page of
    what it missed (`has_more`: the rest comes with `sync`, up to `session.last_seq`).
    Only an agent who may view the chat joins; a change of who may view it (a claim, an
    end) closes the room and those who still may re-join.
    See docs/protocol.md, `join_session` and "Rooms and order"."""
    last_seq = validation.last_seq(payload)
    _, chat_session = session_for(state, payload)
    room = publish.session_room(chat_session.id)
    join_room(room)
    try:
        # A claim committed during the check above closed the room before this join:
        # a fresh read after joining sees it, so nobody stays in by that race.
        db.session.rollback()
        _, chat_session = session_for(state, payload)
    except Exception:
        leave_room(room)
        raise
    page, has_more = sessions.message_page(chat_session.id, last_seq)
    replay(page)
    return {"session": chat_session.summary(), "has_more": has_more,
            "visitor_online": presence.visitor_online(chat_session.id)}


@socketio.on("leave_session", namespace=NS)
@acknowledged(NS)
def leave_session(state, payload):
    """Agent closes a chat window; stops receiving its live events. See docs/protocol.md, `leave_session`."""
    leave_room(publish.session_room(validation.session_id(payload)))


@socketio.on("send_message", namespace=NS)
@acknowledged(NS)
def send_message(state, payload):
    """Agent sends `{session_id, text, client_id}` to a chat it holds.
    See docs/protocol.md, `send_message` (/agent)."""
    text = validation.message_text(payload)
    client_id = validation.client_id(payload)
    limits.check("MESSAGE_LIMIT_PER_SOCKET", (request.sid, "message"))
    agent, chat_session = session_for(state, payload)
    message = sessions.post_agent_message(chat_session, agent, text, client_id)
    return {"message": message.to_dict()}


@socketio.on("typing", namespace=NS)
@acknowledged(NS)
def typing(state, payload):
    """Agent is (or stopped) typing in a chat it holds. See docs/protocol.md, `typing` (/agent)."""
    is_typing = validation.flag(payload, "is_typing")
    limits.check("TYPING_LIMIT_PER_SOCKET", (request.sid, "typing"))
    agent, chat_session = session_for(state, payload)
    if not sessions.agent_can_write(agent, chat_session):
        raise ChatError("not_assigned", "Accept this chat before replying.")
    limits.check("TYPING_LIMIT_PER_SESSION", ("typing", "agent", chat_session.id))
    publish.typing(chat_session.id, "agent", agent.display_name, is_typing, request.sid)


@socketio.on("claim_session", namespace=NS)
@acknowledged(NS)
def claim_session(state, payload):
    """Agent accepts a waiting chat; one of several racing agents wins.
    See docs/protocol.md, `claim_session`."""
    agent = acting_agent(state)
    # Any agent of the chat's site may claim it, so a lost race is reported as such.
    chat_session = sessions.find_session(validation.session_id(payload))
    if chat_session is None:
        raise sessions.not_found()
    chat_session = sessions.claim_session(chat_session, agent)
    join_room(publish.session_room(chat_session.id))     # the claim closed the room; the claimer is back
    return {"session": chat_session.summary()}


@socketio.on("end_session", namespace=NS)
@acknowledged(NS)
def end_session(state, payload):
    """Agent ends a chat it holds (supervisors: any open chat).
    See docs/protocol.md, `end_session` (/agent)."""
    agent, chat_session = session_for(state, payload)
    may_end = agent.sees_every_session or sessions.agent_can_write(agent, chat_session)
    if chat_session.is_open and not may_end:
        raise ChatError("not_assigned", "Only the agent holding this chat can end it.")
    chat_session = sessions.end_session(chat_session, "agent", ended_by=agent.display_name)
    return {"session": chat_session.summary()}


@socketio.on("sync", namespace=NS)
@acknowledged(NS)
def sync(state, payload):
    """Agent asks for messages after `after_seq` in a chat it may see.
    See docs/protocol.md, `sync` (/agent)."""
    limits.count_read((request.sid, "reads"))
    _, chat_session = session_for(state, payload)
    return missed_messages(chat_session, payload)


@socketio.on("heartbeat", namespace=NS)
@acknowledged(NS)
def heartbeat(state, payload):
    """The dashboard tab is alive (and still logged in). See docs/protocol.md, `heartbeat` (/agent)."""
    limits.check("HEARTBEAT_LIMIT_PER_SOCKET", (request.sid, "heartbeat"))
    acting_agent(state)


socketio.on("*", namespace=NS)(unknown_event)
