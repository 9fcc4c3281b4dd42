"""What clients receive about a chat: one serializer per kind of payload, each written once
(docs/protocol.md, "Payloads"). A message is `Message.to_dict()`."""
from .models import PREVIEW_LENGTH, isoformat


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
        **chat_session.status_flags(),
    }


def brief(chat_session):
    """A chat's new status for those who may no longer see its content."""
    return {"session_id": chat_session.id, "status": chat_session.status, "agent_id": chat_session.agent_id}


def preview(message, status, agent_id):
    """A holder's chat list after a message: its preview and latest seq."""
    return {"session_id": message.session_id, "status": status, "agent_id": agent_id,
            "last_message": message.text[:PREVIEW_LENGTH], "last_seq": message.seq,
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
    }


def canned_reply(reply):
    """A canned reply as the composer's picker lists it (`GET /api/v1/agent/canned`)."""
    return {"id": reply.id, "shortcut": reply.shortcut, "text": reply.text, "shared": reply.agent_id is None}
