"""What we say in a WhatsApp or LINE chat goes to the phone through a durable outbox: a row per
message (channel_outbox), written after the message commits (`deliver`, and the jobs' `sweep`
for a message a crash left without one), then sent off the ack path by channels/sender.py
(retried, throttled, in order per chat, sent again after a restart). An agent's `retry` puts a
failed message back. docs/architecture.md ("Channels: the outbox") says where a message can
still reach the phone twice."""
import logging
import uuid
from datetime import timedelta

from sqlalchemy import and_, select, update

from .. import publish
from ..errors import ChatError
from ..extensions import db
from ..models import CHANNEL_PROVIDERS, CHANNEL_TITLES, ChannelAccount, ChannelOutbox, ChatSession, Message, Visitor, utcnow
from . import channel_of, sender
from .words import phone_text

log = logging.getLogger(__name__)

SWEEP_HOURS = 1             # the jobs' sweep looks this far back for messages left without a row
SWEEP_GRACE_SECONDS = 30    # ...and leaves the newest to the live path


# ---- which messages go to a phone ----

def deliver(message, chat_status=None):
    """After a message commits (messages.after_stored): in a WhatsApp or LINE chat, queue what
    the phone must get. Returns True when a row was queued. The message's `delivery_state`
    becomes "queued" before it is published, so its payload carries it."""
    if message.private or message.sender_type == "visitor":       # the widget's hot path: no look-up
        return False
    if channel_of(message.session_id) not in CHANNEL_PROVIDERS or phone_text(message) is None:
        return False
    queued = enqueue(message)
    if queued:
        message.delivery_state = "queued"
        if getattr(message, "payload", None) is not None:
            message.payload = None
        publish.message_delivery(message.session_id, message.id, message.seq, "queued")
        sender.wake()
    return queued


def enqueue(message):
    """The message's outbox row and its "queued" state, in one transaction of its own (the
    caller's ORM session is left alone); once per message. A chat whose site has no connected
    account marks the message failed."""
    now = utcnow()
    with db.engine.begin() as connection:
        target = connection.execute(
            select(ChatSession.channel, ChatSession.site_id, Visitor.external_id, ChannelAccount.id.label("account_id"))
            .select_from(ChatSession).join(Visitor, Visitor.id == ChatSession.visitor_id)
            .outerjoin(ChannelAccount, and_(ChannelAccount.site_id == ChatSession.site_id,
                                            ChannelAccount.channel == ChatSession.channel,
                                            ChannelAccount.active.is_(True)))
            .where(ChatSession.id == message.session_id)).first()
        if target is None:
            return False
        if target.account_id is None or not target.external_id:
            connection.execute(update(Message).where(Message.id == message.id, Message.delivery_state.is_(None))
                               .values(delivery_state="failed", delivery_error=not_connected(target.channel)))
            failed = True
        else:
            failed = False
            inserted = connection.execute(insert_once(connection, ChannelOutbox).values(
                message_id=message.id, session_id=message.session_id, account_id=target.account_id,
                channel=target.channel, recipient=target.external_id, state="queued", attempts=0,
                next_attempt_at=now, retry_key=str(uuid.uuid4()), created_at=now)).rowcount
            if not inserted:
                return False
            connection.execute(update(Message).where(Message.id == message.id, Message.delivery_state.is_(None))
                               .values(delivery_state="queued"))
    if failed:
        log.warning("no %s account for site %s: message %s not sent", target.channel, target.site_id, message.id)
        publish.message_delivery(message.session_id, message.id, message.seq, "failed", not_connected(target.channel))
    return not failed


def not_connected(channel):
    return f"This site has no connected {CHANNEL_TITLES.get(channel, channel)} account, so the message was not sent."


def insert_once(connection, model):
    """INSERT ... ON CONFLICT DO NOTHING, on SQLite and PostgreSQL alike."""
    if connection.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(model).on_conflict_do_nothing()


# ---- the jobs' sweep and the agent's retry ----

def sweep(now):
    """Messages of WhatsApp and LINE chats from the last hour that have no outbox row (a crash
    between the message's commit and its row) get one. Returns the ids of those queued."""
    rows = db.session.execute(
        select(Message).join(ChatSession, ChatSession.id == Message.session_id)
        .outerjoin(ChannelOutbox, ChannelOutbox.message_id == Message.id)
        .where(ChatSession.channel.in_(CHANNEL_PROVIDERS), Message.created_at >= now - timedelta(hours=SWEEP_HOURS),
               Message.created_at <= now - timedelta(seconds=SWEEP_GRACE_SECONDS),
               Message.sender_type.in_(("agent", "bot", "system")), Message.private.is_(False),
               Message.delivery_state.is_(None), ChannelOutbox.id.is_(None))
        .order_by(Message.id)).scalars().all()
    missing = [message for message in rows if phone_text(message) is not None]
    db.session.rollback()
    queued = []
    for message in missing:
        if enqueue(message):
            publish.message_delivery(message.session_id, message.id, message.seq, "queued")
            queued.append(message.id)
    if queued:
        sender.wake()
    return queued


def retry(message):
    """An agent sends a failed message again: its row back to queued, attempts from 0 (the
    same retry key: a LINE push that did go through is not delivered twice)."""
    if message.delivery_state != "failed":
        raise not_failed()
    row_id = db.session.execute(select(ChannelOutbox.id).where(ChannelOutbox.message_id == message.id)).scalar()
    if row_id is not None:
        reset = db.session.execute(
            update(ChannelOutbox).where(ChannelOutbox.id == row_id, ChannelOutbox.state.in_(("sent", "failed")))
            .values(state="queued", attempts=0, next_attempt_at=utcnow(), lease_until=None, provider_message_id=None,
                    error_code=None, error_text=None, sent_at=None)
            .execution_options(synchronize_session=False)).rowcount
        if not reset:
            db.session.rollback()
            raise not_failed()
    moved = db.session.execute(
        update(Message).where(Message.id == message.id, Message.delivery_state == "failed")
        .values(delivery_state="queued" if row_id is not None else None, delivery_error=None)
        .execution_options(synchronize_session=False)).rowcount
    if not moved:
        db.session.rollback()
        raise not_failed()
    db.session.commit()
    db.session.refresh(message)
    if row_id is None:                 # it never had a row (no account then): queue it now
        enqueue(message)
        db.session.refresh(message)
    publish.message_delivery(message.session_id, message.id, message.seq, message.delivery_state,
                             message.delivery_error)
    sender.wake()
    return message


def not_failed():
    return ChatError("not_failed", "This message was not refused, so there is nothing to send again.")
