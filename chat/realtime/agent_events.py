"""The /agent namespace: the dashboard's side, for logged-in agents only."""
from flask import request
from flask_login import current_user
from flask_socketio import emit, join_room, leave_room

from .. import publish, sessions, validation
from ..extensions import db, socketio
from ..models import Agent
from ..origins import is_own_origin, request_origin
from . import limits, presence
from .handlers import acknowledged, forget_socket, refuse, remember_socket, unknown_event
from .visitor_events import missed_messages, presence_of_agents, replay

NS = publish.AGENT_NS


@socketio.on("connect", namespace=NS)
def connect(auth=None):
    """A dashboard tab opens its socket with the login cookie, from the app's own origin."""
    if not is_own_origin(request_origin()):
        raise refuse("origin_not_allowed", "Connect from the dashboard's own address.")
    if not current_user.is_authenticated:
        raise refuse("login_required", "Log in first.")
    agent = current_user
    remember_socket(NS, agent_id=agent.id)
    join_room(publish.AGENTS_ROOM)
    join_room(publish.agent_room(agent.id))
    if agent.sees_every_session:
        join_room(publish.SUPERVISORS_ROOM)
    if presence.agent_connected(agent.id):
        socketio.emit("presence", presence_of_agents(), to=publish.VISITORS_ROOM,
                      namespace=publish.VISITOR_NS)
    emit("presence", presence_of_agents())


@socketio.on("disconnect", namespace=NS)
def disconnect(*_reason):
    state = forget_socket(NS)
    limits.forget(request.sid)
    if state and presence.agent_disconnected(state["agent_id"]):
        socketio.emit("presence", presence_of_agents(), to=publish.VISITORS_ROOM,
                      namespace=publish.VISITOR_NS)


def acting_agent(state):
    """The agent behind this socket, read fresh so a disabled agent stops at once."""
    agent = db.session.get(Agent, state["agent_id"])
    if agent is None or not agent.is_active:
        raise sessions.ChatError("login_required", "Log in again.")
    return agent


def session_for(state, payload):
    agent = acting_agent(state)
    return agent, sessions.find_session_for_agent(validation.session_id(payload), agent)


@socketio.on("join_session", namespace=NS)
@acknowledged(NS)
def join_session(state, payload):
    """Agent opens a chat `{session_id, last_seq}`: joins its room, gets the first page of
    what it missed (`has_more`: the rest comes with `sync`, up to `session.last_seq`)."""
    last_seq = validation.last_seq(payload)
    _, chat_session = session_for(state, payload)
    page, has_more = sessions.message_page(chat_session.id, last_seq)
    join_room(publish.session_room(chat_session.id))
    replay(page)
    return {"session": chat_session.summary(), "has_more": has_more,
            "visitor_online": presence.visitor_online(chat_session.id)}


@socketio.on("leave_session", namespace=NS)
@acknowledged(NS)
def leave_session(state, payload):
    """Agent closes a chat window; stops receiving its live events."""
    leave_room(publish.session_room(validation.session_id(payload)))


@socketio.on("send_message", namespace=NS)
@acknowledged(NS)
def send_message(state, payload):
    """Agent sends `{session_id, text, client_id}` to a chat it holds."""
    text = validation.message_text(payload)
    client_id = validation.client_id(payload)
    limits.check("MESSAGE_LIMIT_PER_SOCKET", (request.sid, "message"))
    agent, chat_session = session_for(state, payload)
    message = sessions.post_agent_message(chat_session, agent, text, client_id)
    return {"message": message.to_dict()}


@socketio.on("typing", namespace=NS)
@acknowledged(NS)
def typing(state, payload):
    """Agent is (or stopped) typing in a chat it holds."""
    is_typing = validation.flag(payload, "is_typing")
    limits.check("TYPING_LIMIT_PER_SOCKET", (request.sid, "typing"))
    agent, chat_session = session_for(state, payload)
    if not sessions.agent_can_write(agent, chat_session):
        raise sessions.ChatError("not_assigned", "Accept this chat before replying.")
    limits.check("TYPING_LIMIT_PER_SESSION", ("typing", "agent", chat_session.id))
    publish.typing(chat_session.id, "agent", agent.display_name, is_typing, request.sid)


@socketio.on("claim_session", namespace=NS)
@acknowledged(NS)
def claim_session(state, payload):
    """Agent accepts a waiting chat; one of several racing agents wins."""
    agent = acting_agent(state)
    # Any agent may claim a queued chat, so a lost race is reported as such.
    chat_session = sessions.find_session(validation.session_id(payload))
    if chat_session is None:
        raise sessions.not_found()
    chat_session = sessions.claim_session(chat_session, agent)
    join_room(publish.session_room(chat_session.id))
    return {"session": chat_session.summary()}


@socketio.on("end_session", namespace=NS)
@acknowledged(NS)
def end_session(state, payload):
    """Agent ends a chat it holds (supervisors: any open chat)."""
    agent, chat_session = session_for(state, payload)
    may_end = agent.sees_every_session or sessions.agent_can_write(agent, chat_session)
    if chat_session.is_open and not may_end:
        raise sessions.ChatError("not_assigned", "Only the agent holding this chat can end it.")
    chat_session = sessions.end_session(chat_session, "agent", ended_by=agent.display_name)
    return {"session": chat_session.summary()}


@socketio.on("sync", namespace=NS)
@acknowledged(NS)
def sync(state, payload):
    """Agent asks for messages after `after_seq` in a chat it may see."""
    limits.count_read((request.sid, "reads"))
    _, chat_session = session_for(state, payload)
    return missed_messages(chat_session, payload)


@socketio.on("heartbeat", namespace=NS)
@acknowledged(NS)
def heartbeat(state, payload):
    """The dashboard tab is alive."""
    limits.check("HEARTBEAT_LIMIT_PER_SOCKET", (request.sid, "heartbeat"))


socketio.on("*", namespace=NS)(unknown_event)
