"""Tell connected clients what changed, after it is committed.

Every emit goes through `socketio.emit`, so it works the same from a socket
handler, an HTTP view, a job or a CLI command (through the message queue).
"""
from . import payloads
from .channels import channel_of
from .extensions import socketio
from .models import LINE_STATUSES, QUEUED_STATUSES, isoformat, utcnow

VISITOR_NS = "/visitor"
AGENT_NS = "/agent"
SUPERVISORS_ROOM = "supervisors"


def session_room(session_id):
    return f"session:{session_id}"


def agent_room(agent_id):
    return f"agent:{agent_id}"


def visitor_room(visitor_id):
    """Every widget socket of one visitor, on every device."""
    return f"visitor:{visitor_id}"


def site_visitors_room(site_id):
    return f"site-visitors:{site_id}"


def site_agents_room(site_id):
    """The agents who answer a site's visitors (supervisors are in SUPERVISORS_ROOM instead)."""
    return f"site-agents:{site_id}"


def to_session(event, data, session_id, skip_sid=None):
    """Send an event to everyone watching a session, visitor and agents alike."""
    room = session_room(session_id)
    socketio.emit(event, data, to=room, namespace=VISITOR_NS, skip_sid=skip_sid)
    socketio.emit(event, data, to=room, namespace=AGENT_NS, skip_sid=skip_sid)


def conversation_started(chat_session):
    """The visitor's widgets elsewhere (another device, another tab) add the new conversation."""
    socketio.emit("conversation_started", {"session_id": chat_session.id},
                  to=visitor_room(chat_session.visitor_id), namespace=VISITOR_NS)


def typing(session_id, sender_type, sender_name, is_typing, skip_sid):
    """Everyone else watching the session sees who is typing."""
    to_session("typing", {"session_id": session_id, "sender_type": sender_type, "sender_name": sender_name,
                          "is_typing": is_typing}, session_id, skip_sid=skip_sid)


def message_posted(message, status=None, agent_id=None, site_id=None):
    """The message to everyone in its session; the lists that show the chat learn of it too:
    the holder's My chats and the supervisor view (`chat_activity`: not `queue_update`, which
    a supervisor's dashboard takes for "reload the list"), or while it waits, the Waiting list
    of the site's agents and the supervisors (a preview each). A private note goes to the
    team's sockets in the chat only, and leaves the lists' previews as they are (the stored
    preview too: a list shows the same after a reload)."""
    if message.private:
        socketio.emit("message", message.to_dict(), to=session_room(message.session_id), namespace=AGENT_NS)
    else:
        to_session("message", message.to_dict(), message.session_id)
    if status is None or message.private:
        return
    preview = payloads.preview(message, status, agent_id)
    if status == "active" and agent_id:
        socketio.emit("queue_update", preview, to=agent_room(agent_id), namespace=AGENT_NS)
        socketio.emit("chat_activity", preview, to=SUPERVISORS_ROOM, namespace=AGENT_NS)
    elif status in QUEUED_STATUSES and site_id is not None:
        from . import jobs          # jobs imports sessions, which imports this module
        # A phone's chat is never abandoned (jobs.abandonment_deadlines): no countdown for it.
        if channel_of(message.session_id) == "web":
            preview["abandon_inactive_at"] = isoformat(message.created_at + jobs.inactivity_limit())
        if status in LINE_STATUSES:
            socketio.emit("queue_update", preview, to=site_agents_room(site_id), namespace=AGENT_NS)
            socketio.emit("queue_update", preview, to=SUPERVISORS_ROOM, namespace=AGENT_NS)
        else:                       # with the bot: only the supervisor view shows it
            socketio.emit("chat_activity", preview, to=SUPERVISORS_ROOM, namespace=AGENT_NS)


def bot_draft(session_id, client_id, text):
    """The bot's answer so far, while it is written: the stored message with this client_id
    replaces it (docs/protocol.md, `bot_draft`)."""
    to_session("bot_draft", {"session_id": session_id, "client_id": client_id, "text": text}, session_id)


def message_delivery(session_id, message_id, seq, state, error=None, needs_template=False):
    """How far a message got to a phone (WhatsApp, LINE): the ticks of the chat's agents
    (docs/protocol.md, `message_delivery`)."""
    to_session("message_delivery", {"session_id": session_id, "message_id": message_id, "seq": seq,
                                    "state": state, "error": error, "needs_template": needs_template}, session_id)


def queue_position(session_id, position):
    """A waiting visitor's place in line and wait estimate (queue.position_payload)."""
    socketio.emit("queue_position", position, to=session_room(session_id), namespace=VISITOR_NS)


def read_state(agent_id, session_id, last_read_seq):
    """How far the agent has read a chat, to every tab of that agent."""
    socketio.emit("read_state", {"session_id": session_id, "last_read_seq": last_read_seq},
                  to=agent_room(agent_id), namespace=AGENT_NS)


def viewers(session_id, viewing):
    """Who of the team has the chat open, to everyone of the team who has, and to the
    supervisor view's list (a socket in both rooms gets it once)."""
    socketio.emit("viewers", {"session_id": session_id, "viewers": viewing},
                  to=[session_room(session_id), SUPERVISORS_ROOM], namespace=AGENT_NS)


def visitor_presence(session_id, online, reason=None, skip_sid=None):
    """Whether the chat's visitor is connected, to everyone watching the chat."""
    data = {"session_id": session_id, "visitor_online": online}
    if reason:
        data["reason"] = reason
    to_session("presence", data, session_id, skip_sid=skip_sid)
    socketio.emit("presence", {**data, **silence_deadlines(online)}, to=SUPERVISORS_ROOM, namespace=AGENT_NS)


def silence_deadlines(online):
    """For the supervisor view's clocks, should the chat be queued: a connect is a page load
    (activity), and a visitor gone from now on has the silence limit to come back."""
    from . import jobs
    now = utcnow()
    if online:
        return {"abandon_inactive_at": isoformat(now + jobs.inactivity_limit())}
    return {"abandon_silent_at": isoformat(now + jobs.silence_limit())}


def status_changed(chat_session):
    """A claim or an end changes who may view the chat: after the status event, every
    dashboard leaves its room, in every process (the pubsub manager forwards close_room in
    order after the emit). Those who still may view it re-join on `session_status`."""
    to_session("session_status", payloads.status(chat_session), chat_session.id)
    close_agent_view(chat_session.id)
    queue_changed(chat_session)


def close_agent_view(session_id):
    socketio.close_room(session_room(session_id), namespace=AGENT_NS)


def queue_changed(chat_session):
    """Queue lists: the site's agents and the supervisors see unclaimed sessions; only the
    assignee and supervisors see the content of a claimed one. The waiting visitors whose
    place in line changed hear it (queue.queue_moved)."""
    from . import queue             # queue publishes through this module
    queue.queue_moved(chat_session)
    summary = payloads.summary(chat_session)
    site_agents = site_agents_room(chat_session.site_id)
    socketio.emit("queue_update", payloads.overview(chat_session), to=SUPERVISORS_ROOM, namespace=AGENT_NS)
    if chat_session.in_line:
        socketio.emit("queue_update", summary, to=site_agents, namespace=AGENT_NS)
        return
    if chat_session.status == "bot":          # the bot's until it hands off: not in the agents' lists
        return
    socketio.emit("queue_update", payloads.brief(chat_session), to=site_agents, namespace=AGENT_NS)
    if chat_session.agent_id:
        socketio.emit("queue_update", summary, to=agent_room(chat_session.agent_id), namespace=AGENT_NS)


def team_changed(agent, online):
    """An agent's first dashboard opened or its last one closed: the supervisor view's team panel."""
    socketio.emit("team_update", payloads.team_member(agent, online), to=SUPERVISORS_ROOM, namespace=AGENT_NS)
