"""The /visitor namespace: the widget's side of a conversation.

A visitor connects with auth `{session_id, session_key, last_seq}` and from then
on acts only on that one session.
"""
from flask import request
from flask_socketio import emit, join_room

from .. import publish, sessions, validation
from ..extensions import socketio
from ..origins import request_origin, site_allows_origin
from ..sessions import ChatError
from . import limits, presence
from .handlers import acknowledged, forget_socket, refuse, remember_socket, unknown_event

NS = publish.VISITOR_NS
MAX_REPLAY = 1000


def replay_messages(session_id, after_seq):
    """Send this socket every message it has not seen, oldest first."""
    for message in sessions.messages_after(session_id, after_seq, limit=MAX_REPLAY):
        emit("message", message.to_dict())


def missed_messages(chat_session, payload):
    """The `sync` answer: messages after `after_seq`, and the session's latest seq."""
    after = validation.last_seq(payload, "after_seq")
    messages = sessions.messages_after(chat_session.id, after, limit=MAX_REPLAY)
    return {"messages": [m.to_dict() for m in messages], "last_seq": chat_session.last_seq}


def presence_of_agents(site_id):
    return {"agents_online": presence.agents_online(site_id)}


@socketio.on("connect", namespace=NS)
def connect(auth=None):
    """The widget opens its socket; a wrong key gets the same refusal as an unknown session."""
    try:
        payload = validation.require_object(auth)
        session_id = validation.session_id(payload)
        last_seq = validation.last_seq(payload)
        chat_session = sessions.find_session_for_visitor(session_id, payload.get("session_key"))
    except ChatError as error:
        raise refuse(error.code, error.message)
    if not site_allows_origin(chat_session.site, request_origin()):
        raise refuse("origin_not_allowed", "This website may not use this chat.")
    remember_socket(NS, session_id=session_id, visitor_name=chat_session.visitor.name)
    join_room(publish.session_room(session_id))
    join_room(publish.site_visitors_room(chat_session.site_id))
    sessions.record_visitor_seen(session_id, page_load=True)
    if presence.visitor_connected(session_id):
        publish.to_session("presence", {"session_id": session_id, "visitor_online": True},
                           session_id, skip_sid=request.sid)
    emit("session_status", publish.status_payload(chat_session))
    emit("presence", presence_of_agents(chat_session.site_id))
    replay_messages(session_id, last_seq)


@socketio.on("disconnect", namespace=NS)
def disconnect(*_reason):
    state = forget_socket(NS)
    limits.forget(request.sid)
    if state and presence.visitor_disconnected(state["session_id"]):
        session_id = state["session_id"]
        sessions.record_visitor_seen(session_id)
        publish.to_session("presence", {"session_id": session_id, "visitor_online": False},
                           session_id)


def own_session_id(state, payload):
    """The socket's session id; a session_id in the payload must be that one."""
    claimed = validation.session_id(payload, required=False)
    if claimed is not None and claimed != state["session_id"]:
        raise sessions.not_found()
    return state["session_id"]


def own_session(state, payload):
    chat_session = sessions.find_session(own_session_id(state, payload))
    if chat_session is None:
        raise sessions.not_found()
    return chat_session


@socketio.on("send_message", namespace=NS)
@acknowledged(NS)
def send_message(state, payload):
    """Visitor sends `{text, client_id}`; acked with the stored message after commit."""
    text = validation.message_text(payload)
    client_id = validation.client_id(payload)
    session_id = own_session_id(state, payload)
    limits.check("MESSAGE_LIMIT_PER_SOCKET", (request.sid, "message"))
    limits.check("MESSAGE_LIMIT_PER_SESSION", ("session", session_id))
    message = sessions.post_visitor_message(session_id, state["visitor_name"], text, client_id)
    return {"message": message.to_dict()}


@socketio.on("typing", namespace=NS)
@acknowledged(NS)
def typing(state, payload):
    """Visitor is (or stopped) typing; agents in the room see it."""
    is_typing = validation.flag(payload, "is_typing")
    limits.check("TYPING_LIMIT_PER_SOCKET", (request.sid, "typing"))
    chat_session = own_session(state, payload)
    publish.typing(chat_session.id, "visitor", chat_session.visitor_label, is_typing, request.sid)


@socketio.on("heartbeat", namespace=NS)
@acknowledged(NS)
def heartbeat(state, payload):
    """The widget is still open; keeps the session from timing out. The answer holds
    the latest seq: a message whose event was lost on the way shows up as a gap."""
    return {"last_seq": sessions.record_visitor_seen(state["session_id"])}


@socketio.on("sync", namespace=NS)
@acknowledged(NS)
def sync(state, payload):
    """Visitor asks for messages after `after_seq` (a gap it noticed)."""
    return missed_messages(own_session(state, payload), payload)


@socketio.on("end_session", namespace=NS)
@acknowledged(NS)
def end_session(state, payload):
    """Visitor ends the chat (End Chat button or typing `end`)."""
    chat_session = sessions.end_session(own_session(state, payload), "visitor")
    return {"status": chat_session.status}


socketio.on("*", namespace=NS)(unknown_event)
