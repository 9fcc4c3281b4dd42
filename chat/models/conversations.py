"""Conversations: chat sessions, their messages (and how clients receive one), read state."""
import hmac
import json
import uuid
from dataclasses import dataclass
from datetime import datetime

from ..extensions import db
from .attachments import files_preview
from .common import (
    LINE_STATUSES, OPEN_STATUSES, PREVIEW_LENGTH, QUEUED_STATUSES, hash_session_key, isoformat, utcnow, visitor_label,
)
from .people import Agent, Visitor
from .sites import Site

class StatusGroups:
    """The status groups of a chat, for anything with a `status` (a ChatSession, or the
    facts an agent event reads, see access.agent_and_chat)."""

    @property
    def is_open(self):
        return self.status in OPEN_STATUSES

    @property
    def is_queued(self):
        return self.status in QUEUED_STATUSES

    @property
    def in_line(self):
        """Waiting for an agent (a chat with the bot is not, until it hands off)."""
        return self.status in LINE_STATUSES

    def status_flags(self):
        """What clients need to know of the status groups, so no script keeps its own list."""
        return {"is_open": self.is_open, "is_queued": self.is_queued, "in_line": self.in_line}


class ChatSession(StatusGroups, db.Model):
    __tablename__ = "chat_session"
    __table_args__ = (
        db.Index("ix_chat_session_visitor", "visitor_id"),             # history: chats of the visitors found
        db.Index("ix_chat_session_status_started", "status", "started_at"),
        db.Index("ix_chat_session_agent_status", "agent_id", "status"),
        db.Index("ix_chat_session_status_expires", "status", "expires_at"),
        db.Index("ix_chat_session_status_activity", "status", "last_activity_at"),
        db.Index("ix_chat_session_started_from_status", "started_from", "status"),
        db.Index("ix_chat_session_started_at", "started_at"),          # reports: a date range
        db.Index("ix_chat_session_site_status_queued", "site_id", "status", "queued_at"),
        db.Index("ix_chat_session_site_claimed", "site_id", "claimed_at"),
    )

    id = db.Column(db.String(36), primary_key=True, default=lambda: str(uuid.uuid4()))
    site_id = db.Column(db.Integer, db.ForeignKey("site.id"), nullable=False)
    visitor_id = db.Column(db.Integer, db.ForeignKey("visitor.id"), nullable=False)
    channel = db.Column(db.String(20), nullable=False, default="web")
    status = db.Column(db.String(20), nullable=False, default="waiting")
    agent_id = db.Column(db.Integer, db.ForeignKey("agent.id"))
    key_hash = db.Column(db.String(64), nullable=False)
    page_url = db.Column(db.String(2000))
    started_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    claimed_at = db.Column(db.DateTime)
    ended_at = db.Column(db.DateTime)
    end_reason = db.Column(db.String(40))
    expires_at = db.Column(db.DateTime, nullable=False)
    last_activity_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    visitor_last_seen_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    # Set by the heartbeat sweep when an assigned visitor stops being heard from.
    visitor_away = db.Column(db.Boolean, nullable=False, default=False, server_default=db.false())
    last_seq = db.Column(db.Integer, nullable=False, default=0)
    last_message_preview = db.Column(db.String(PREVIEW_LENGTH))
    last_message_at = db.Column(db.DateTime)
    # A keyed hash of the address the chat was started from (sessions.address_fingerprint).
    started_from = db.Column(db.String(32))
    # When the chat last joined the queue (start, handoff, back to the queue): waiting time.
    queued_at = db.Column(db.DateTime)
    # When an agent first replied: first response time.
    first_response_at = db.Column(db.DateTime)
    # How many times the visitor's widget restored this chat after a page reload (seed 002).
    restored_count = db.Column(db.Integer, nullable=False, default=0, server_default="0")
    # The bot's part (chat/bot): whether the chat started with the bot, why it handed the chat to
    # a person (bot/rules.py HANDOFF_REASONS), its weak answers in a row, whether the visitor said
    # an answer helped, and whether the visitor left a message through the offline form.
    with_bot = db.Column(db.Boolean, nullable=False, default=False, server_default=db.false())
    handoff_reason = db.Column(db.String(20))
    bot_misses = db.Column(db.Integer, nullable=False, default=0, server_default="0")
    bot_helped = db.Column(db.Boolean, nullable=False, default=False, server_default=db.false())
    offline = db.Column(db.Boolean, nullable=False, default=False, server_default=db.false())

    # The visitor's name for the conversation (seed 003: renamable); without one the widget
    # shows the start of the visitor's first message (conversations.auto_title).
    title = db.Column(db.String(80))
    # How far the visitor has read (unread badges of the widget's conversations), and when the
    # visitor closed the conversation's tab (it leaves the visitor's list; the team keeps it).
    visitor_read_seq = db.Column(db.Integer, nullable=False, default=0, server_default="0")
    visitor_closed_at = db.Column(db.DateTime)

    site = db.relationship(Site, lazy="joined")
    visitor = db.relationship(Visitor, lazy="joined")
    agent = db.relationship(Agent, lazy="joined")

    def key_matches(self, key):
        """Constant-time check of a visitor's session key."""
        if not isinstance(key, str) or not key:
            return False
        return hmac.compare_digest(self.key_hash, hash_session_key(key))

    @property
    def visitor_label(self):
        return visitor_label(self.visitor.name, self.id)


class Message(db.Model):
    __table_args__ = (
        db.UniqueConstraint("session_id", "seq", name="uq_message_session_seq"),
        db.UniqueConstraint("session_id", "client_id", name="uq_message_session_client_id"),
        # history: the chats an agent wrote in (public messages: access._wrote_in)
        db.Index("ix_message_sender", "sender_type", "sender_id", "private", "session_id"),
    )

    id = db.Column(db.Integer, primary_key=True)
    session_id = db.Column(db.String(36), db.ForeignKey("chat_session.id"), nullable=False)
    seq = db.Column(db.Integer, nullable=False)
    client_id = db.Column(db.String(64))
    sender_type = db.Column(db.String(10), nullable=False)
    sender_id = db.Column(db.Integer)
    sender_name = db.Column(db.String(80))
    text = db.Column(db.Text, nullable=False)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    # A private note: agents and supervisors only, never sent to the visitor or any channel.
    private = db.Column(db.Boolean, nullable=False, default=False, server_default=db.false())
    # JSON of what a message holds beside its text: a bot's buttons, links, a form; the files
    # attached (message_extras).
    extras = db.Column(db.Text)
    # On WhatsApp and LINE: how far the message got to the phone (models.DELIVERY_STATES) and,
    # when it failed, why (a sentence for the agent). NULL for the widget's messages.
    delivery_state = db.Column(db.String(10))
    delivery_error = db.Column(db.String(300))

    def to_dict(self):
        return message_payload(self)


def message_payload(message):
    """A message as every client receives it: a Message row, or a StoredMessage."""
    return {
        "id": message.id,
        "session_id": message.session_id,
        "seq": message.seq,
        "client_id": message.client_id,
        "sender_type": message.sender_type,
        "sender_name": message.sender_name,
        "text": message.text,
        "created_at": isoformat(message.created_at),
        "private": message.private,
        **message_extras(message.extras),
        **delivery_of(message),
    }


def delivery_of(message):
    """{"delivery": {"state", "error"}} for a message on its way to a phone; {} otherwise."""
    state = getattr(message, "delivery_state", None)
    return {"delivery": {"state": state, "error": message.delivery_error}} if state else {}


EXTRA_KEYS = ("buttons", "links", "form", "button", "attachments", "event", "template")


def message_preview(message):
    """What a chat list shows for a message: its text, or for files alone "📎 photo.jpg"."""
    if message.text or not message.extras:
        return message.text[:PREVIEW_LENGTH]
    listed = message_extras(message.extras).get("attachments")
    return files_preview(listed)[:PREVIEW_LENGTH] if listed else ""


def message_extras(extras):
    """What a message offers beside its text, from its `extras` JSON: `buttons` (quick replies,
    each {id, title}), `links` ({title, url}), `form` ("offline"); a visitor's message sent
    by pressing a button holds its id (`button`); a message with files lists them (`attachments`,
    Attachment.to_dict each). Empty for most messages."""
    if not extras:
        return {}
    values = json.loads(extras)
    return {key: values[key] for key in EXTRA_KEYS if key in values}


@dataclass(slots=True)
class StoredMessage:
    """A message the hot path has just stored: its columns without an ORM object (building a
    Message cost about 5% of a message's CPU), its payload built once for the room and the ack."""
    id: int
    session_id: str
    seq: int
    client_id: str | None
    sender_type: str
    sender_id: int | None
    sender_name: str | None
    text: str
    created_at: datetime
    private: bool = False
    extras: str | None = None
    payload: dict | None = None
    delivery_state: str | None = None
    delivery_error: str | None = None

    def to_dict(self):
        if self.payload is None:
            self.payload = message_payload(self)
        return self.payload


class ChatRead(db.Model):
    """How far an agent has read a chat: its unread badge counts the visitor's messages after."""
    __tablename__ = "chat_read"

    agent_id = db.Column(db.Integer, db.ForeignKey("agent.id", ondelete="CASCADE"), primary_key=True)
    session_id = db.Column(db.String(36), db.ForeignKey("chat_session.id", ondelete="CASCADE"), primary_key=True)
    last_read_seq = db.Column(db.Integer, nullable=False, default=0, server_default="0")
