"""The /agent namespace: the dashboard's side, for logged-in agents only."""
from flask import request
from flask_login import current_user
from flask_socketio import join_room, leave_room

from .. import access, messages, payloads, publish, queue, sessions, validation
from ..channels import inbound as channel_inbound
from ..extensions import db, socketio
from ..errors import ChatError
from ..models import Agent, Site
from ..origins import is_own_origin, request_origin
from . import limits, presence
from .acks import LoginEnded, acknowledged, forget_socket, refuse, remember_socket, unknown_event
from .replay import missed_messages, replay

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
    # Counted as it is remembered, before the first write can let its disconnect run:
    # a socket closed mid-connect is then uncounted too, never left online for good.
    first_socket = presence.agent_connected(agent.id)
    sessions.agents_seen([agent.id])
    join_room(publish.agent_room(agent.id))
    if access.supervises(agent):
        join_room(publish.SUPERVISORS_ROOM)
    else:
        for site_id in agent.site_ids:
            join_room(publish.site_agents_room(site_id))
    if first_socket:
        tell_visitors_agents_online(agent)
        publish.team_changed(agent, online=True)
        queue.offer_waiting(agent.site_ids)       # came online: the waiting chats of auto sites


@socketio.on("disconnect", namespace=NS)
def disconnect(*_reason):
    state = forget_socket(NS)
    limits.forget(request.sid)
    if state:
        sessions.agents_seen([state["agent_id"]])     # its chats wait AGENT_AWAY_MINUTES from now
    for session_id in list(state.get("viewing", ())) if state else ():
        if presence.stop_viewing(state, session_id):
            publish.viewers(session_id, presence.viewers(session_id))
    if state and presence.agent_disconnected(state["agent_id"]):
        agent = db.session.get(Agent, state["agent_id"])
        if agent is not None:
            tell_visitors_agents_online(agent)
            publish.team_changed(agent, online=False)


def tell_visitors_agents_online(agent):
    """An agent came or went: the visitors of each site it answers see the new count."""
    site_ids = (db.session.execute(db.select(Site.id)).scalars() if access.supervises(agent)
                else agent.site_ids)
    for site_id in site_ids:
        socketio.emit("presence", presence.agents_online_payload(site_id), to=publish.site_visitors_room(site_id),
                      namespace=publish.VISITOR_NS)


def acting_agent(state, session_id=None):
    """The agent behind this socket and, when asked, a chat: read fresh in one query at
    every event, so a disabled, logged-out or changed agent (password, role) stops at once
    (the event is refused and the socket closed), and so does one who lost the chat."""
    agent, chat = access.agent_and_chat(state["agent_id"], session_id)
    if agent is None or not agent.active or agent.session_version != state["version"]:
        raise LoginEnded()
    return agent, chat


def viewable_chat(state, payload):
    """The acting agent and the chat the payload names, which it must be allowed to see."""
    agent, chat = acting_agent(state, validation.session_id(payload))
    return agent, access.require_view(agent, chat)


@socketio.on("join_session", namespace=NS)
@acknowledged(NS)
def join_session(state, payload):
    """Agent opens a chat `{session_id, last_seq}`: joins its room, gets the first page of
    what it missed (`has_more`: the rest comes with `sync`, up to `session.last_seq`).
    Only an agent who may view the chat joins; a change of who may view it (a claim, an
    end) closes the room and those who still may re-join.
    See docs/protocol.md, `join_session` and "Rooms and order"."""
    last_seq = validation.last_seq(payload)
    _, chat = viewable_chat(state, payload)
    room = publish.session_room(chat.id)
    join_room(room)
    try:
        # A claim committed during the check above closed the room before this join:
        # a fresh read after joining sees it, so nobody stays in by that race.
        viewable_chat(state, payload)
    except Exception:
        leave_room(room)
        raise
    page, has_more, _ = messages.page_after(chat.id, last_seq)
    replay(page)
    viewing = presence.viewers(chat.id)
    if presence.start_viewing(state, chat.id):
        viewing = presence.viewers(chat.id)
        publish.viewers(chat.id, viewing)
    return {"session": payloads.summary(sessions.find_session(chat.id)), "has_more": has_more,
            "visitor_online": presence.visitor_online(chat.id), "viewers": viewing}


@socketio.on("leave_session", namespace=NS)
@acknowledged(NS)
def leave_session(state, payload):
    """Agent closes a chat window; stops receiving its live events. See docs/protocol.md, `leave_session`."""
    session_id = validation.session_id(payload)
    leave_room(publish.session_room(session_id))
    if presence.stop_viewing(state, session_id):
        publish.viewers(session_id, presence.viewers(session_id))


@socketio.on("send_message", namespace=NS)
@acknowledged(NS)
def send_message(state, payload):
    """Agent sends `{session_id, text, client_id, private?, attachments?}` to a chat it may write
    to, or (private: true) a note to one it may view. See docs/protocol.md, `send_message` (/agent)."""
    attachment_ids = validation.attachment_ids(payload)
    text = validation.message_text(payload, required=not attachment_ids)
    client_id = validation.client_id(payload)
    private = validation.optional_flag(payload, "private")
    limits.check("MESSAGE_LIMIT_PER_SOCKET", (request.sid, "message"))
    agent, chat = viewable_chat(state, payload)
    post = messages.post_note if private else messages.post_agent
    return {"message": post(chat, agent, text, client_id, attachment_ids or ()).to_dict()}


@socketio.on("typing", namespace=NS)
@acknowledged(NS)
def typing(state, payload):
    """Agent is (or stopped) typing in a chat it may write to. See docs/protocol.md, `typing` (/agent)."""
    is_typing = validation.flag(payload, "is_typing")
    limits.check("TYPING_LIMIT_PER_SOCKET", (request.sid, "typing"))
    agent, chat = viewable_chat(state, payload)
    access.require_write(agent, chat)
    limits.check("TYPING_LIMIT_PER_SESSION", ("typing", "agent", chat.id))
    publish.typing(chat.id, "agent", agent.display_name, is_typing, request.sid)
    if is_typing:
        channel_inbound.show_writing_soon(chat.id)     # a phone's chat: "writing..." on the phone


@socketio.on("claim_session", namespace=NS)
@acknowledged(NS)
def claim_session(state, payload):
    """Agent accepts a waiting chat; one of several racing agents wins.
    See docs/protocol.md, `claim_session`."""
    agent, chat = acting_agent(state, validation.session_id(payload))
    access.require_claim(agent, chat)
    chat_session = sessions.claim_session(sessions.find_session(chat.id), agent)
    join_room(publish.session_room(chat_session.id))     # the claim closed the room; the claimer is back
    return {"session": payloads.summary(chat_session)}


@socketio.on("end_session", namespace=NS)
@acknowledged(NS)
def end_session(state, payload):
    """Agent ends a chat it holds (supervisors: any open chat).
    See docs/protocol.md, `end_session` (/agent)."""
    agent, chat = viewable_chat(state, payload)
    access.require_end(agent, chat)
    chat_session = sessions.end_session(sessions.find_session(chat.id), "agent", ended_by=agent.display_name)
    return {"session": payloads.summary(chat_session)}


@socketio.on("transfer_session", namespace=NS)
@acknowledged(NS)
def transfer_session(state, payload):
    """Hand a chat `{session_id, to_agent_id (null: the queue), note?}` to someone else.
    See docs/protocol.md, `transfer_session`."""
    to_agent_id = validation.agent_id(payload, "to_agent_id")
    note = validation.note(payload)
    agent, chat = viewable_chat(state, payload)
    to_agent = None
    if to_agent_id is not None:
        to_agent = db.session.get(Agent, to_agent_id)
        if to_agent is None:
            raise ChatError("invalid_target", "There is no such agent.")
    access.require_transfer(agent, chat, to_agent)
    chat_session = sessions.transfer_session(sessions.find_session(chat.id), agent, to_agent, note)
    return {"session": payloads.summary(chat_session)}


@socketio.on("join_chat", namespace=NS)
@acknowledged(NS)
def join_chat(state, payload):
    """A supervisor joins a chat `{session_id}` as a participant. See docs/protocol.md, `join_chat`."""
    agent, chat = viewable_chat(state, payload)
    access.require_join(agent, chat)
    chat_session = sessions.join_chat(sessions.find_session(chat.id), agent)
    join_room(publish.session_room(chat_session.id))     # a claim closes the room; the joiner stays in
    return {"session": payloads.summary(chat_session)}


@socketio.on("sync", namespace=NS)
@acknowledged(NS)
def sync(state, payload):
    """Agent asks for messages after `after_seq` in a chat it may see.
    See docs/protocol.md, `sync` (/agent)."""
    limits.count_read((request.sid, "reads"))
    _, chat = viewable_chat(state, payload)
    return missed_messages(chat, payload)


@socketio.on("mark_read", namespace=NS)
@acknowledged(NS)
def mark_read(state, payload):
    """Agent has seen a chat `{session_id, seq}` up to `seq`: its unread badge clears in every
    tab of the agent. See docs/protocol.md, `mark_read`."""
    seq = validation.last_seq(payload, "seq")
    limits.check("MARK_READ_LIMIT_PER_SOCKET", (request.sid, "mark_read"))
    agent, chat = viewable_chat(state, payload)
    last_read_seq = queue.mark_read(agent.id, chat, seq)
    publish.read_state(agent.id, chat.id, last_read_seq)
    return {"last_read_seq": last_read_seq}


@socketio.on("heartbeat", namespace=NS)
@acknowledged(NS)
def heartbeat(state, payload):
    """The dashboard tab is alive (and still logged in). See docs/protocol.md, `heartbeat` (/agent)."""
    limits.check("HEARTBEAT_LIMIT_PER_SOCKET", (request.sid, "heartbeat"))
    acting_agent(state)


socketio.on("*", namespace=NS)(unknown_event)
