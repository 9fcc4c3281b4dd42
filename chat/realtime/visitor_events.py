"""The /visitor namespace: the widget's side of a conversation.

A visitor connects with auth `{session_id, session_key, last_seq}` and from then
on acts only on that one session.
"""
from flask import current_app, request
from flask_socketio import emit, join_room

from .. import access, bot, conversations, messages, payloads, publish, queue, sessions, validation
from ..errors import ChatError, session_not_found
from ..extensions import socketio
from ..origins import request_origin, site_allows_origin
from . import limits, presence
from .acks import acknowledged, forget_socket, refuse, remember_socket, unknown_event
from .replay import missed_messages, replay, visitor_replay_page

NS = publish.VISITOR_NS


@socketio.on("connect", namespace=NS)
def connect(auth=None):
    """The widget opens its socket (`restored: true` at the first connect after a page load
    brought the chat back); a wrong key gets the same refusal as an unknown session.
    Every check (and the read of the replay) comes before anything is written or joined.
    See docs/protocol.md, /visitor connect."""
    try:
        payload = validation.require_object(auth)
        session_id = validation.session_id(payload)
        last_seq = validation.last_seq(payload)
        restored = "restored" in payload and validation.flag(payload, "restored")
        chat_session = limits.find_session_by_key(session_id, payload.get("session_key"), payload.get("visitor_token"))
        if not site_allows_origin(chat_session.site, request_origin()):
            raise ChatError("origin_not_allowed", "This website may not use this chat.")
        if presence.visitor_sockets(session_id) >= current_app.config["MAX_SOCKETS_PER_SESSION"]:
            raise ChatError("too_many_sockets", "This chat is open in too many tabs; close one and try again.")
    except ChatError as error:
        raise refuse(error.code, error.message)
    page = visitor_replay_page(session_id, last_seq)
    remember_socket(NS, session_id=session_id, visitor_name=chat_session.visitor.name)
    first_socket = presence.visitor_connected(session_id)     # counted as remembered (see /agent connect)
    join_room(publish.session_room(session_id))
    follow_other_conversations(chat_session)
    join_room(publish.visitor_room(chat_session.visitor_id))
    join_room(publish.site_visitors_room(chat_session.site_id))
    sessions.record_visitor_seen(session_id, page_load=True)
    if restored:
        sessions.record_restoration(session_id)
    if first_socket:
        publish.visitor_presence(session_id, online=True, skip_sid=request.sid)
    emit("presence", presence.agents_online_payload(chat_session.site_id))
    replay(page)
    emit("session_status", payloads.status(chat_session))
    position = queue.position_payload(chat_session)
    if position is not None:
        emit("queue_position", position)


@socketio.on("disconnect", namespace=NS)
def disconnect(*_reason):
    state = forget_socket(NS)
    limits.forget(request.sid)
    if state and presence.visitor_disconnected(state["session_id"]):
        session_id = state["session_id"]
        sessions.record_visitor_seen(session_id)
        publish.visitor_presence(session_id, online=False)


def follow_other_conversations(chat_session):
    """The socket hears the visitor's other open conversations too (their tabs' unread counts)."""
    followed = conversations.others_open(chat_session)
    for other_id in followed:
        join_room(publish.session_room(other_id))
    return followed


def own_session_id(state, payload):
    """The socket's session id; a session_id in the payload must be that one."""
    claimed = validation.session_id(payload, required=False)
    if claimed is not None and claimed != state["session_id"]:
        raise session_not_found()
    return state["session_id"]


def own_session(state, payload):
    chat_session = sessions.find_session(own_session_id(state, payload))
    if chat_session is None:
        raise session_not_found()
    return chat_session


@socketio.on("send_message", namespace=NS)
@acknowledged(NS)
def send_message(state, payload):
    """Visitor sends `{text, client_id, button_id?, attachments?}`; acked with the stored message
    after commit. See docs/protocol.md, `send_message` (/visitor)."""
    attachment_ids = validation.attachment_ids(payload)
    text = validation.message_text(payload, required=not attachment_ids)
    client_id = validation.client_id(payload)
    button_id = validation.button_id(payload)
    session_id = own_session_id(state, payload)
    limits.check("MESSAGE_LIMIT_PER_SOCKET", (request.sid, "message"))
    limits.check("MESSAGE_LIMIT_PER_SESSION", ("session", session_id))
    message = messages.receive(messages.Inbound(session_id, text, client_id, sender_name=state["visitor_name"],
                                                button_id=button_id, attachment_ids=tuple(attachment_ids or ())))
    return {"message": message.to_dict()}


@socketio.on("offline_message", namespace=NS)
@acknowledged(NS)
def offline_message(state, payload):
    """The offline form, `{email, text, client_id}`: while nobody can answer, the visitor's
    message and email reach the team as an offline chat. See docs/protocol.md, `offline_message`."""
    text = validation.message_text(payload)
    client_id = validation.client_id(payload)
    email = validation.visitor_email(payload)
    if email is None:
        raise validation.invalid("Please enter your email address, so the team can answer you.")
    limits.check("MESSAGE_LIMIT_PER_SOCKET", (request.sid, "message"))
    limits.check("MESSAGE_LIMIT_PER_SESSION", ("session", own_session_id(state, payload)))
    chat_session = own_session(state, payload)
    if chat_session.status != "bot":
        raise validation.invalid("The team has this chat already: write your message in the chat.")
    message = bot.leave_offline_message(
        chat_session, messages.Inbound(chat_session.id, text, client_id, sender_name=state["visitor_name"],
                                       offline_form=True), email)
    return {"message": message.to_dict()}


@socketio.on("typing", namespace=NS)
@acknowledged(NS)
def typing(state, payload):
    """Visitor is (or stopped) typing; agents in the room see it (not once the chat ended).
    See docs/protocol.md, `typing` (/visitor)."""
    is_typing = validation.flag(payload, "is_typing")
    limits.check("TYPING_LIMIT_PER_SOCKET", (request.sid, "typing"))
    chat_session = own_session(state, payload)
    limits.check("TYPING_LIMIT_PER_SESSION", ("typing", "visitor", chat_session.id))
    access.require_visitor_write(chat_session)
    publish.typing(chat_session.id, "visitor", chat_session.visitor_label, is_typing, request.sid)


@socketio.on("heartbeat", namespace=NS)
@acknowledged(NS)
def heartbeat(state, payload):
    """The widget is still open; keeps the session from timing out. The answer holds
    the latest seq: a message whose event was lost on the way shows up as a gap.
    See docs/protocol.md, `heartbeat` (/visitor)."""
    limits.check("HEARTBEAT_LIMIT_PER_SOCKET", (request.sid, "heartbeat"))
    return {"last_seq": sessions.record_visitor_seen(own_session_id(state, payload))}


@socketio.on("sync", namespace=NS)
@acknowledged(NS)
def sync(state, payload):
    """Visitor asks for messages after `after_seq` (a gap it noticed).
    See docs/protocol.md, `sync` (/visitor)."""
    chat_session = own_session(state, payload)
    limits.count_read(("reads", chat_session.id))
    return missed_messages(chat_session, payload, for_visitor=True)


@socketio.on("follow_conversations", namespace=NS)
@acknowledged(NS)
def follow_conversations(state, payload):
    """After `conversation_started`: the socket hears the conversation started elsewhere too.
    See docs/protocol.md, `follow_conversations` (/visitor)."""
    chat_session = own_session(state, payload)
    limits.count_read(("reads", chat_session.id))
    return {"session_ids": follow_other_conversations(chat_session)}


@socketio.on("end_session", namespace=NS)
@acknowledged(NS)
def end_session(state, payload):
    """Visitor ends the chat (the widget itself ends it over `POST /end`).
    See docs/protocol.md, `end_session` (/visitor)."""
    chat_session = sessions.end_session(own_session(state, payload), "visitor")
    return {"status": chat_session.status}


socketio.on("*", namespace=NS)(unknown_event)
