"""The session lifecycle: every status change of a chat goes through here (start, claim,
back to the queue, end, the jobs' bulk ends, the visitor seen or away); nothing else writes
a status.

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

from . import access, messages, publish, queue, visitor_identity
from .errors import ChatError, session_closed, session_not_found
from .extensions import db
from .models import OPEN_STATUSES, QUEUED_STATUSES, Agent, ChatSession, Visitor, hash_session_key, utcnow

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


def start_session(site, name=None, email=None, page_url=None, started_from=None, time_zone=None,
                  visitor=None, channel="web", title=None):
    """Open a chat for a visitor of `site`: with the site's bot on, the bot greets it (status
    `bot`); otherwise it joins the line (`waiting`). Returns (session, session_key).
    A phone's chat (`channel` whatsapp or line) comes with its contact's `visitor`; its key is
    told to nobody (the provider's signed webhook speaks for the customer)."""
    now = utcnow()
    key = secrets.token_urlsafe(32)
    if visitor is None:
        visitor = Visitor(site_id=site.id, name=name or None, email=email or None, time_zone=time_zone)
    lifetime = timedelta(hours=current_app.config["SESSION_LIFETIME_HOURS"])
    with_bot = site.bot_enabled
    chat_session = ChatSession(
        site=site, visitor=visitor, status="bot" if with_bot else "waiting", key_hash=hash_session_key(key),
        page_url=page_url or None, started_at=now, queued_at=None if with_bot else now,
        expires_at=now + lifetime, last_activity_at=now, visitor_last_seen_at=now, started_from=started_from,
        with_bot=with_bot, channel=channel, title=title,
    )
    db.session.add(chat_session)
    db.session.commit()
    log.info("session started session=%s site=%s bot=%s channel=%s", chat_session.id, site.key, with_bot, channel)
    publish.queue_changed(chat_session)
    if with_bot:
        from . import bot           # the bot posts through messages, which imports this module
        bot.greet(chat_session)
    else:
        queue.offer_waiting([site.id])
    return chat_session, key


HANDOFF_TEXT = "Connecting you to an agent…"
OFFLINE_TEXT = "Your message is with the team; they will answer here or by email as soon as they can."


def hand_off(chat_session, reason, offline=False):
    """The bot gives the chat to a person: from `bot` to the line (`waiting`), with the reason
    (bot/rules.py HANDOFF_REASONS) kept for the reports and a system line everyone reads.
    `offline`: the visitor left a message through the offline form; the chat waits for the
    team however long the visitor is gone. Returns False when the chat had left `bot` already."""
    moved = db.session.execute(
        update(ChatSession).where(ChatSession.id == chat_session.id, ChatSession.status == "bot")
        .values(status="waiting", queued_at=utcnow(), handoff_reason=reason, offline=offline)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not moved:
        db.session.rollback()
        return False
    message = (messages.add_system(chat_session.id, OFFLINE_TEXT) if offline
               else messages.add_system(chat_session.id, HANDOFF_TEXT, event="handoff"))
    db.session.commit()
    log.info("session handed off session=%s reason=%s", chat_session.id, reason)
    announce_status_change(chat_session.id, message)
    queue.offer_waiting([chat_session.site_id])
    return True


def find_session(session_id):
    if not isinstance(session_id, str) or len(session_id) > 36:
        return None
    return db.session.get(ChatSession, session_id)


def find_session_for_visitor(session_id, session_key, visitor_token=None):
    """The session, only if its key opens it, or the visitor token of the visitor whose
    conversation it is (visitor_identity); otherwise ChatError(not found)."""
    chat_session = find_session(session_id)
    if chat_session is None:
        raise session_not_found()
    if session_key is not None:
        opened = chat_session.key_matches(session_key)
    else:
        visitor = visitor_identity.visitor_for_token(visitor_token)
        opened = visitor is not None and visitor.id == chat_session.visitor_id
    if not opened:
        raise session_not_found()
    return chat_session


def claim_session(chat_session, agent):
    """Assign a queued chat to `agent`, who may claim it (access.require_claim); exactly one
    of racing agents wins."""
    access.require_claim(agent, chat_session)
    queue.require_capacity(agent)
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
        raise session_closed()
    message = messages.add_system(chat_session.id, f"{agent.display_name} has joined the chat",
                                  event="claimed", agent=agent.display_name)
    db.session.commit()
    log.info("session claimed session=%s agent=%s", chat_session.id, agent.id)
    announce_status_change(chat_session.id, message)
    return chat_session


def transfer_session(chat_session, by_agent, to_agent=None, note=None):
    """Hand an active chat to `to_agent`, or back to the queue when None, with an optional
    private note for the next person; `by_agent` holds it or supervises
    (access.require_transfer). Both sides read a system line saying what happened."""
    access.require_transfer(by_agent, chat_session, to_agent)
    if to_agent is not None:
        try:
            queue.require_capacity(to_agent, taken_by=by_agent)
        except ChatError:
            db.session.rollback()
            raise
    holder = chat_session.agent_id
    values = (dict(agent_id=to_agent.id, claimed_at=utcnow()) if to_agent is not None
              else dict(status="waiting", agent_id=None, claimed_at=None, queued_at=utcnow()))
    moved = db.session.execute(
        update(ChatSession).where(ChatSession.id == chat_session.id, ChatSession.status == "active",
                                  ChatSession.agent_id == holder)
        .values(**values).execution_options(synchronize_session=False)
    ).rowcount
    if not moved:
        db.session.rollback()
        raise ChatError("session_changed", "This chat changed in the meantime (accepted, transferred or "
                                           "ended); look at it again.")
    note_message = messages.add_note(chat_session.id, by_agent, note) if note else None
    text = (f"{by_agent.display_name} transferred the chat to {to_agent.display_name}." if to_agent is not None
            else f"{by_agent.display_name} returned the chat to the queue; someone from the team will be "
                 "with you shortly.")
    message = messages.add_system(chat_session.id, text)
    db.session.commit()
    log.info("session transferred session=%s from=%s to=%s by=%s", chat_session.id, holder,
             to_agent.id if to_agent else "queue", by_agent.id)
    if note_message is not None:
        messages.after_stored(note_message)
    announce_status_change(chat_session.id, message)
    queue.offer_after([chat_session.id])       # a chat back in line, or a holder with room again
    return chat_session


def join_chat(chat_session, agent):
    """A supervisor joins an open chat as a participant (access.require_join): a waiting chat
    is theirs (a claim); an active one gets a system line everyone reads."""
    access.require_join(agent, chat_session)
    if chat_session.is_queued:
        return claim_session(chat_session, agent)
    messages.post_system(chat_session.id, f"{agent.display_name} has joined the chat")
    return chat_session


def end_session(chat_session, reason, ended_by=None):
    """End an open chat with a system message saying why; ending twice changes nothing."""
    end_many(ChatSession.id == chat_session.id, reason, ended_by=ended_by)
    db.session.refresh(chat_session)
    return chat_session


def end_many(condition, reason, status="ended", ended_by=None, now=None):
    """End every open chat matching `condition` (one UPDATE, so a chat that changed since
    it was selected is judged by its state now), each with a system message saying why.
    Returns the ids of the chats ended."""
    now = now or utcnow()
    ended_ids = db.session.execute(
        update(ChatSession).where(ChatSession.status.in_(OPEN_STATUSES), condition)
        .values(status=status, ended_at=now, end_reason=reason)
        .returning(ChatSession.id).execution_options(synchronize_session=False)
    ).scalars().all()
    if not ended_ids:
        db.session.rollback()
        return []
    text = end_message(reason, ended_by)
    notices = [messages.add_system(session_id, text, require_open=False, event="ended", reason=reason)
               for session_id in ended_ids]
    db.session.commit()
    with queue.line_changes_batched():
        for session_id, message in zip(ended_ids, notices):
            log.info("session ended session=%s reason=%s", session_id, reason)
            announce_status_change(session_id, message)
    queue.offer_after(ended_ids)
    return ended_ids


def return_to_queue(condition, why):
    """Active chats matching `condition` go back to the queue because their agent left
    (`why`, for the log: "logged out", "away", "disabled"), each with a system message both
    sides read, so another agent can take them over. Returns their ids."""
    holders = db.session.execute(
        select(ChatSession.agent_id, Agent.display_name).join(Agent, ChatSession.agent_id == Agent.id)
        .where(ChatSession.status == "active", condition).distinct()
    ).all()
    db.session.rollback()
    returned = []
    for agent_id, name in holders:
        ids = db.session.execute(
            update(ChatSession).where(ChatSession.status == "active", ChatSession.agent_id == agent_id, condition)
            .values(status="waiting", agent_id=None, claimed_at=None, queued_at=utcnow())
            .returning(ChatSession.id).execution_options(synchronize_session=False)
        ).scalars().all()
        text = f"{name} had to leave; someone else from the team will be with you shortly."
        notices = [messages.add_system(session_id, text) for session_id in ids]
        db.session.commit()
        for session_id, message in zip(ids, notices):
            log.info("session back in the queue session=%s agent=%s (%s)", session_id, agent_id, why)
            announce_status_change(session_id, message)
        returned += ids
    queue.offer_after(returned)
    return returned


def agents_seen(agent_ids, now=None):
    """These agents have a dashboard connected now."""
    if agent_ids:
        db.session.execute(update(Agent).where(Agent.id.in_(list(agent_ids)))
                           .values(last_seen_at=now or utcnow()).execution_options(synchronize_session=False))
        db.session.commit()


def announce_status_change(session_id, message):
    """After the commit of a claim or an end: its system message, then the new status."""
    messages.after_stored(message)
    chat_session = db.session.get(ChatSession, session_id)
    db.session.refresh(chat_session)
    publish.status_changed(chat_session)


def mark_visitors_away(condition):
    """Active chats matching `condition` whose visitor has stopped being heard from: the
    chat stays with its agent, who sees the visitor as gone. Returns their ids."""
    away_ids = db.session.execute(
        update(ChatSession).where(ChatSession.status == "active", ChatSession.visitor_away.is_(False), condition)
        .values(visitor_away=True).returning(ChatSession.id)
        .execution_options(synchronize_session=False)
    ).scalars().all()
    db.session.commit()
    for session_id in away_ids:
        publish.visitor_presence(session_id, online=False, reason="heartbeat_timeout")
    return away_ids


def record_restoration(session_id):
    """The visitor's widget brought this open chat back after a page load (seed 002's
    restoration rate, in reports)."""
    db.session.execute(update(ChatSession).where(ChatSession.id == session_id, ChatSession.status.in_(OPEN_STATUSES))
                       .values(restored_count=ChatSession.restored_count + 1).execution_options(synchronize_session=False))
    db.session.commit()


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
