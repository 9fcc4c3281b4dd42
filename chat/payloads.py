"""What clients receive about a chat: one serializer per kind of payload, each written once
(docs/protocol.md, "Payloads"). A message is `Message.to_dict()`."""
from .models import isoformat, message_preview, utcnow


def summary(chat_session):
    """A chat as the dashboard's lists and acks show it."""
    return {
        "session_id": chat_session.id,
        "status": chat_session.status,
        "visitor_name": chat_session.visitor_label,
        "agent_id": chat_session.agent_id,
        "agent_name": chat_session.agent.display_name if chat_session.agent else None,
        "last_message": chat_session.last_message_preview,
        "started_at": isoformat(chat_session.started_at),
        "last_message_at": isoformat(chat_session.last_message_at),
        "end_reason": chat_session.end_reason,
        "last_seq": chat_session.last_seq,
        "channel": chat_session.channel,
        "window_closes_at": isoformat(window_closes_at(chat_session)),
        **chat_session.status_flags(),
    }


def window_closes_at(chat_session):
    """When free text stops reaching the chat's phone (WhatsApp's 24-hour window); None: never."""
    if chat_session.channel == "web":
        return None
    from .channels import channel_named
    return channel_named(chat_session.channel).window_closes_at(chat_session.visitor)


def brief(chat_session):
    """A chat's new status for those who may no longer see its content."""
    return {"session_id": chat_session.id, "status": chat_session.status, "agent_id": chat_session.agent_id}


def preview(message, status, agent_id):
    """A holder's chat list after a message: its preview and latest seq."""
    return {"session_id": message.session_id, "status": status, "agent_id": agent_id,
            "last_message": message_preview(message), "last_seq": message.seq,
            "last_message_at": isoformat(message.created_at), "sender_type": message.sender_type,
            "sender_name": message.sender_name}


def status(chat_session):
    """Where a chat stands, as its visitor sees it (`session_status`, `GET /status`)."""
    return {
        "session_id": chat_session.id,
        "status": chat_session.status,
        "agent_name": chat_session.agent.display_name if chat_session.agent else None,
        "end_reason": chat_session.end_reason,
        "last_seq": chat_session.last_seq,
        "created_at": isoformat(chat_session.started_at),
        "updated_at": isoformat(chat_session.last_activity_at),
        **chat_session.status_flags(),
    }


def started(chat_session, key):
    """The answer to `POST /start`: the only payload that ever holds the session key."""
    return {
        "session_id": chat_session.id,
        "session_key": key,
        "status": chat_session.status,
        "created_at": isoformat(chat_session.started_at),
        "expires_at": isoformat(chat_session.expires_at),
        "visitor_name": chat_session.visitor_label,
        **chat_session.status_flags(),
    }


# The supervisor view (chat/supervisor.py). The deadlines are the jobs' rules (chat/jobs.py),
# imported when called: jobs imports sessions, which imports publish, which imports this module.

def overview(chat_session, visitor_online=None, viewers=None):
    """A chat as a row of the supervisor view: its summary, and what the row's clocks count
    from (waiting since, the abandonment and expiry deadlines). `visitor_online` and `viewers`
    are left out when not known (a status change): the view keeps what the `presence` and
    `viewers` events told it."""
    from . import jobs
    inactive_at, silent_at = jobs.abandonment_deadlines(chat_session)
    row = summary(chat_session)
    row.update({
        "channel": chat_session.channel,
        "site_name": chat_session.site.name,
        "queued_at": isoformat(chat_session.queued_at or chat_session.started_at),
        "claimed_at": isoformat(chat_session.claimed_at),
        "expires_at": isoformat(chat_session.expires_at),
        "abandon_inactive_at": isoformat(inactive_at),
        "abandon_silent_at": isoformat(silent_at),
        "visitor_away": chat_session.visitor_away,
    })
    if visitor_online is not None:
        row["visitor_online"] = visitor_online
    if viewers is not None:
        row["viewers"] = viewers
    return row


def team_member(agent, online, chats_held=None):
    """An agent as the supervisor view's team panel shows it: `presence` is online (a
    dashboard connected), away (none, but its chats are kept until `away_until`) or offline."""
    from . import jobs
    away_until = agent.last_seen_at + jobs.away_limit() if agent.last_seen_at else None
    if online:
        state = "online"
    elif away_until is not None and away_until > utcnow():
        state = "away"
    else:
        state = "offline"
    member = {"agent_id": agent.id, "name": agent.display_name, "role": agent.role, "presence": state,
              "away_until": isoformat(away_until) if state == "away" else None, "max_chats": agent.max_chats}
    if chats_held is not None:
        member["chats_held"] = chats_held
    return member


def canned_reply(reply):
    """A canned reply as the composer's picker lists it (`GET /api/v1/agent/canned`)."""
    return {"id": reply.id, "shortcut": reply.shortcut, "text": reply.text, "shared": reply.agent_id is None}
