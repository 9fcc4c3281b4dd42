"""The session lifecycle: every state change of a chat goes through here.

Each function writes to the database, commits, and then publishes what changed.
"""
import hashlib
import hmac
import logging
import secrets
import threading
import time
from datetime import timedelta

from flask import current_app
from sqlalchemy import select, update

from . import message_store, publish
from .errors import ChatError
from .extensions import db
from .models import OPEN_STATUSES, QUEUED_STATUSES, ChatSession, Message, Visitor, hash_session_key, utcnow

log = logging.getLogger(__name__)

def end_message(reason, ended_by=None):
    """The system message that records why a chat ended; durations come from the settings."""
    config = current_app.config
    texts = {
        "visitor": "The visitor ended the chat.",
        "inactivity": f"Chat ended after {plural(config['INACTIVITY_MINUTES'], 'minute')} without activity.",
        "heartbeat_timeout": "The visitor left the chat.",
        "expired": f"Chat session automatically ended after {plural(config['SESSION_LIFETIME_HOURS'], 'hour')}.",
    }
    return texts.get(reason) or f"{ended_by} ended the chat."


def plural(count, unit):
    return f"{count} {unit}" + ("" if count == 1 else "s")


def not_found():
    # The same answer for a session that does not exist and one the caller may not see.
    return ChatError("session_not_found", "No such chat session.")


def address_fingerprint(address):
    """A keyed hash of the address a chat was started from: enough to count a sender's
    open chats, without keeping the address itself."""
    secret = current_app.config["SECRET_KEY"].encode("utf-8")
    return hmac.new(secret, (address or "").encode("utf-8"), hashlib.sha256).hexdigest()[:32]


def refuse_too_many_open_sessions(fingerprint):
    """One address may hold only MAX_OPEN_SESSIONS_PER_IP open chats at once."""
    open_count = db.session.execute(
        select(db.func.count()).select_from(ChatSession)
        .where(ChatSession.started_from == fingerprint, ChatSession.status.in_(OPEN_STATUSES))
    ).scalar_one()
    if open_count >= current_app.config["MAX_OPEN_SESSIONS_PER_IP"]:
        raise ChatError("too_many_open_sessions",
                        "Too many chats are open from your network; end one or try again later.",
                        retry_after=60)


def start_session(site, name=None, email=None, page_url=None, started_from=None):
    """Open a chat for a visitor of `site`; returns (session, session_key)."""
    now = utcnow()
    key = secrets.token_urlsafe(32)
    visitor = Visitor(site_id=site.id, name=name or None, email=email or None)
    lifetime = timedelta(hours=current_app.config["SESSION_LIFETIME_HOURS"])
    chat_session = ChatSession(
        site=site, visitor=visitor, status="waiting", key_hash=hash_session_key(key),
        page_url=page_url or None, started_at=now, expires_at=now + lifetime,
        last_activity_at=now, visitor_last_seen_at=now, started_from=started_from,
    )
    db.session.add(chat_session)
    db.session.commit()
    log.info("session started session=%s site=%s", chat_session.id, site.key)
    publish.queue_changed(chat_session)
    return chat_session, key


def find_session(session_id):
    if not isinstance(session_id, str) or len(session_id) > 36:
        return None
    return db.session.get(ChatSession, session_id)


def find_session_for_visitor(session_id, session_key):
    """The session, only if the key opens it; otherwise ChatError(not found)."""
    chat_session = find_session(session_id)
    if chat_session is None or not chat_session.key_matches(session_key):
        raise not_found()
    return chat_session


def find_session_for_agent(session_id, agent):
    chat_session = find_session(session_id)
    if chat_session is None or not agent_can_view(agent, chat_session):
        raise not_found()
    return chat_session


def agent_can_view(agent, chat_session):
    """Supervisors see everything; agents see their own chats and the queue of the sites
    they serve (the holder is checked first: it needs no look-up of the agent's sites)."""
    if agent.sees_every_session or chat_session.agent_id == agent.id:
        return True
    return chat_session.is_queued and agent.serves_site(chat_session.site_id)


def agent_can_write(agent, chat_session):
    if chat_session.status != "active":
        return False
    return chat_session.agent_id == agent.id or agent.sees_every_session


def _append_system_message(session_id, text, require_open=True):
    """A system message with the next seq, in the caller's transaction."""
    cursor = db.session.connection().connection.cursor()
    try:
        message, _ = message_store.append(cursor, session_id, "system", text, require_open=require_open)
    finally:
        cursor.close()
    return message


def _message_by_client_id(session_id, client_id):
    return db.session.execute(
        select(Message).where(Message.session_id == session_id, Message.client_id == client_id)
    ).scalar_one_or_none()


def publish_stored(pending):
    """After the commit: tell the session's room about a newly stored message."""
    if pending.message is not None:
        log.debug("message stored session=%s seq=%s", pending.message.session_id, pending.message.seq)
        publish.message_posted(pending.message, *pending.outcome)


def start_message_writer(app):
    """In a serving process, messages are stored by one group-committing task."""
    message_store.start_writer(app, publish_stored)


def post_message(session_id, sender_type, text, client_id, sender_id=None, sender_name=None):
    """Store a message once per client_id and publish it; returns the message."""
    # The writer takes its connection from the pool the events use: an event that read
    # something first (an agent's, the agent and the chat) gives its connection back before
    # it waits, or forty agents in flight starve the writer (docs/benchmarks.md).
    db.session.rollback()
    pending = message_store.store_one(dict(session_id=session_id, sender_type=sender_type, text=text,
                                           client_id=client_id, sender_id=sender_id, sender_name=sender_name),
                                      publish_stored)
    if isinstance(pending.outcome, Exception):
        raise pending.outcome
    if pending.outcome in ("duplicate", "closed"):
        # A retry of a stored message gets that message back, even once the chat has ended.
        existing = _message_by_client_id(session_id, client_id) if client_id else None
        if existing is not None:
            return existing
        raise ChatError("session_closed", "This chat has ended.")
    return pending.message


def post_visitor_message(session_id, visitor_name, text, client_id):
    return post_message(session_id, "visitor", text, client_id, sender_name=visitor_name or "Visitor")


def post_agent_message(chat_session, agent, text, client_id):
    if not agent_can_write(agent, chat_session):
        raise ChatError("not_assigned", "Accept this chat before replying.")
    return post_message(chat_session.id, "agent", text, client_id,
                        sender_id=agent.id, sender_name=agent.display_name)


def claim_session(chat_session, agent):
    """Assign a waiting session to `agent`; exactly one of racing agents wins. An agent
    who does not serve the chat's site is told it does not exist."""
    if not agent.serves_site(chat_session.site_id):
        raise not_found()
    now = utcnow()
    claimed = db.session.execute(
        update(ChatSession)
        .where(ChatSession.id == chat_session.id, ChatSession.status.in_(QUEUED_STATUSES))
        .values(status="active", agent_id=agent.id, claimed_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not claimed:
        db.session.rollback()
        db.session.refresh(chat_session)
        if chat_session.status == "active":
            raise ChatError("already_claimed", "Another agent has already accepted this chat.")
        raise ChatError("session_closed", "This chat has ended.")
    message = _append_system_message(chat_session.id, f"{agent.display_name} has joined the chat")
    db.session.commit()
    log.info("session claimed session=%s agent=%s", chat_session.id, agent.id)
    db.session.refresh(chat_session)
    publish.to_session("message", message.to_dict(), chat_session.id)
    publish.status_changed(chat_session)
    return chat_session


def end_session(chat_session, reason, ended_by=None, status="ended"):
    """End an open session with a system message; ending twice changes nothing."""
    now = utcnow()
    ended = db.session.execute(
        update(ChatSession)
        .where(ChatSession.id == chat_session.id, ChatSession.status.in_(OPEN_STATUSES))
        .values(status=status, ended_at=now, end_reason=reason)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not ended:
        db.session.rollback()
        db.session.refresh(chat_session)
        return chat_session
    message = _append_system_message(chat_session.id, end_message(reason, ended_by), require_open=False)
    db.session.commit()
    log.info("session ended session=%s reason=%s", chat_session.id, reason)
    db.session.refresh(chat_session)
    publish.to_session("message", message.to_dict(), chat_session.id)
    publish.status_changed(chat_session)
    return chat_session


def messages_after(session_id, after_seq=0, limit=None):
    query = (select(Message).where(Message.session_id == session_id, Message.seq > after_seq)
             .order_by(Message.seq))
    if limit:
        query = query.limit(limit)
    return db.session.execute(query).scalars().all()


def message_page(session_id, after_seq=0):
    """One answer's worth of messages after `after_seq`, oldest first: at most
    MESSAGE_PAGE_SIZE messages and MESSAGE_PAGE_BYTES of text (always at least one).
    Returns (messages, has_more)."""
    size, budget = current_app.config["MESSAGE_PAGE_SIZE"], current_app.config["MESSAGE_PAGE_BYTES"]
    found = messages_after(session_id, after_seq, limit=size + 1)
    page, used = [], 0
    for message in found[:size]:
        used += len(message.text.encode("utf-8"))
        if page and used > budget:
            break
        page.append(message)
    return page, len(page) < len(found)


_seen_lock = threading.Lock()
_seen_writes = {}        # (session_id, page_load) -> when this process last wrote it (monotonic)


def _written_recently(session_id, page_load):
    window = current_app.config["VISITOR_SEEN_WRITE_SECONDS"]
    with _seen_lock:
        return time.monotonic() - _seen_writes.get((session_id, page_load), float("-inf")) < window


def _note_written(session_id, page_load):
    now = time.monotonic()
    with _seen_lock:
        if len(_seen_writes) > 10000:
            window = current_app.config["VISITOR_SEEN_WRITE_SECONDS"]
            for key in [key for key, at in _seen_writes.items() if now - at >= window]:
                del _seen_writes[key]
        _seen_writes[(session_id, False)] = now
        if page_load:
            _seen_writes[(session_id, True)] = now


def record_visitor_seen(session_id, page_load=False):
    """A heartbeat or a connection: the visitor of an open chat is still there. A page load
    (a connection or a status check) also counts as activity. Written at most once per
    VISITOR_SEEN_WRITE_SECONDS per chat in this process (heartbeats from many tabs would
    otherwise each commit). Returns the session's latest seq, so the widget can fetch any
    message it missed."""
    if not _written_recently(session_id, page_load):
        now = utcnow()
        values = {"visitor_last_seen_at": now, "visitor_away": False}
        if page_load:
            values["last_activity_at"] = now
        last_seq = db.session.execute(
            update(ChatSession).where(ChatSession.id == session_id, ChatSession.status.in_(OPEN_STATUSES))
            .values(**values).returning(ChatSession.last_seq).execution_options(synchronize_session=False)
        ).scalar()
        db.session.commit()
        if last_seq is not None:
            _note_written(session_id, page_load)
            return last_seq
    return db.session.execute(select(ChatSession.last_seq).where(ChatSession.id == session_id)).scalar()


def latest_messages(session_id, before_seq=None, limit=100):
    """One page of history: the `limit` messages just before `before_seq`, oldest first."""
    query = select(Message).where(Message.session_id == session_id)
    if before_seq is not None:
        query = query.where(Message.seq < before_seq)
    page = db.session.execute(query.order_by(Message.seq.desc()).limit(limit)).scalars().all()
    return page[::-1]


def waiting_sessions(agent, limit=100):
    """The queue of the sites `agent` serves, oldest first, and how many wait in all
    (the list shows the first `limit`)."""
    queued = ChatSession.status.in_(QUEUED_STATUSES)
    if not agent.sees_every_session:
        queued = queued & ChatSession.site_id.in_(agent.site_ids)
    rows = db.session.execute(
        select(ChatSession).where(queued).order_by(ChatSession.started_at).limit(limit)
    ).scalars().all()
    total = len(rows)
    if total == limit:
        total = db.session.execute(select(db.func.count()).select_from(ChatSession).where(queued)).scalar_one()
    return rows, total


def sessions_of_agent(agent):
    return db.session.execute(
        select(ChatSession).where(ChatSession.agent_id == agent.id, ChatSession.status == "active")
        .order_by(ChatSession.last_message_at.desc())
    ).scalars().all()
