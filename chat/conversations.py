"""A visitor's conversations (seed 003): each is a chat session of its own, listed in the widget
with a title (the visitor's, or the start of the first message), unread replies, renamed and
closed by the visitor. Sessions (chat/sessions.py) keep every status rule."""
from flask import current_app
from sqlalchemy import func, select, update

from . import publish, sessions
from .errors import ChatError
from .extensions import db
from .models import OPEN_STATUSES, ChatSession, Message, isoformat, utcnow

LIST_LIMIT = 20
TITLE_LENGTH = 40            # an automatic title: about this many characters of the first message
TITLE_MAX = 80               # a title the visitor gives
UNTITLED = "New conversation"
COUNTED_AS_UNREAD = ("agent", "bot")


def listed(visitor):
    """The conversations the visitor has not closed, newest first."""
    return db.session.execute(
        select(ChatSession).where(ChatSession.visitor_id == visitor.id, ChatSession.channel == "web",
                                  ChatSession.visitor_closed_at.is_(None))
        .order_by(ChatSession.started_at.desc(), ChatSession.id).limit(LIST_LIMIT)
    ).scalars().all()


def others_open(chat_session):
    """The ids of the visitor's other open conversations in the widget: its socket hears of them
    too (a reply there shows as unread on its tab)."""
    return db.session.execute(
        select(ChatSession.id).where(ChatSession.visitor_id == chat_session.visitor_id,
                                     ChatSession.id != chat_session.id, ChatSession.channel == "web",
                                     ChatSession.status.in_(OPEN_STATUSES), ChatSession.visitor_closed_at.is_(None))
        .limit(current_app.config["VISITOR_OPEN_CONVERSATIONS"])
    ).scalars().all()


def start(site, visitor, title=None, page_url=None, started_from=None, time_zone=None):
    """A new conversation for `visitor` (committed with the visitor when it is new); at most
    VISITOR_OPEN_CONVERSATIONS open at once; the visitor's widgets elsewhere hear of it.
    Returns (session, session_key)."""
    most = current_app.config["VISITOR_OPEN_CONVERSATIONS"]
    known_visitor = visitor.id is not None
    if known_visitor and open_count(visitor) >= most:
        raise ChatError("too_many_conversations",
                        f"You have {most} conversations open; close one to start another.")
    chat_session, key = sessions.start_session(site, page_url=page_url, started_from=started_from,
                                               time_zone=time_zone, visitor=visitor,
                                               title=checked_title(title) if title else None)
    if known_visitor:
        publish.conversation_started(chat_session)
    return chat_session, key


def open_count(visitor):
    return db.session.execute(
        select(func.count()).select_from(ChatSession)
        .where(ChatSession.visitor_id == visitor.id, ChatSession.status.in_(OPEN_STATUSES))
    ).scalar_one()


def rename(chat_session, title):
    chat_session.title = checked_title(title)
    db.session.commit()
    return chat_session


def checked_title(title):
    if not isinstance(title, str) or not title.strip():
        raise ChatError("invalid_payload", "A conversation's title cannot be empty.")
    title = " ".join(title.split())
    if len(title) > TITLE_MAX:
        raise ChatError("invalid_payload", f"A conversation's title is at most {TITLE_MAX} characters.")
    return title


def close(chat_session):
    """The visitor closes the conversation's tab: an open chat ends (the visitor ended it) and
    the conversation leaves the visitor's list; the team keeps its transcript."""
    if chat_session.is_open:
        sessions.end_session(chat_session, "visitor")
    db.session.execute(update(ChatSession).where(ChatSession.id == chat_session.id,
                                                 ChatSession.visitor_closed_at.is_(None))
                       .values(visitor_closed_at=utcnow()).execution_options(synchronize_session=False))
    db.session.commit()
    db.session.refresh(chat_session)
    return chat_session


def mark_read(chat_session, seq):
    """The visitor has seen the conversation through `seq` (never backwards, never past its end)."""
    seq = min(seq, chat_session.last_seq)
    db.session.execute(update(ChatSession).where(ChatSession.id == chat_session.id,
                                                 ChatSession.visitor_read_seq < seq)
                       .values(visitor_read_seq=seq).execution_options(synchronize_session=False))
    db.session.commit()


def auto_title(text):
    """The start of a first message, cut at a word near TITLE_LENGTH characters."""
    text = " ".join((text or "").split())
    if len(text) <= TITLE_LENGTH:
        return text or UNTITLED
    head = text[:TITLE_LENGTH + 1]
    cut = head.rsplit(" ", 1)[0]
    if not TITLE_LENGTH // 2 <= len(cut) <= TITLE_LENGTH:
        cut = text[:TITLE_LENGTH]
    return cut.rstrip(" ,.;:!?-") + "…"


def first_messages(session_ids):
    """The text of each conversation's first message from its visitor."""
    if not session_ids:
        return {}
    first = (select(Message.session_id, func.min(Message.seq).label("seq"))
             .where(Message.session_id.in_(session_ids), Message.sender_type == "visitor")
             .group_by(Message.session_id).subquery())
    rows = db.session.execute(
        select(Message.session_id, Message.text)
        .join(first, (Message.session_id == first.c.session_id) & (Message.seq == first.c.seq))
    ).all()
    return dict(rows)


def unread_counts(session_ids):
    """Replies (the team's and the bot's) after what the visitor has read, per conversation."""
    if not session_ids:
        return {}
    rows = db.session.execute(
        select(Message.session_id, func.count())
        .join(ChatSession, ChatSession.id == Message.session_id)
        .where(Message.session_id.in_(session_ids), Message.seq > ChatSession.visitor_read_seq,
               Message.sender_type.in_(COUNTED_AS_UNREAD), Message.private.is_(False))
        .group_by(Message.session_id)
    ).all()
    return dict(rows)


def payloads(chat_sessions):
    """The widget's list: what each tab shows."""
    ids = [chat_session.id for chat_session in chat_sessions]
    firsts, unread = first_messages(ids), unread_counts(ids)
    return [payload(chat_session, firsts.get(chat_session.id), unread.get(chat_session.id, 0))
            for chat_session in chat_sessions]


def payload(chat_session, first_text=None, unread=0):
    return {
        "id": chat_session.id,
        "title": chat_session.title or auto_title(first_text),
        "titled": chat_session.title is not None,
        "untitled": chat_session.title is None and first_text is None,
        "status": chat_session.status,
        "is_open": chat_session.is_open,
        "agent_name": chat_session.agent.display_name if chat_session.agent else None,
        "last_seq": chat_session.last_seq,
        "read_seq": chat_session.visitor_read_seq,
        "unread": unread,
        "last_message_preview": chat_session.last_message_preview,
        "last_message_at": isoformat(chat_session.last_message_at),
        "created_at": isoformat(chat_session.started_at),
    }


def one_payload(chat_session):
    return payloads([chat_session])[0]
