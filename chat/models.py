"""Database models: agents, sites, visitors, chat sessions and their messages."""
import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone

from flask_login import UserMixin

from .extensions import db
from .passwords import hash_password, password_matches

AGENT_ROLES = ("agent", "supervisor", "admin")
EVERY_SITE_ROLES = ("supervisor", "admin")   # see every session of every site
SESSION_STATUSES = ("bot", "waiting", "active", "ended", "abandoned")
QUEUED_STATUSES = ("bot", "waiting")                 # no agent holds it yet
LINE_STATUSES = ("waiting",)                         # in the agents' Waiting list and the visitor's line
OPEN_STATUSES = (*QUEUED_STATUSES, "active")         # not ended or abandoned
SITE_ROUTINGS = ("manual", "auto")                   # who gives a waiting chat to an agent
MAX_CHATS_LIMIT = 50                                 # the highest capacity an admin may set
SENDER_TYPES = ("visitor", "agent", "bot", "system")
CHANNELS = ("web", "whatsapp", "line")                # how a visitor reached us (chat_session.channel)
PREVIEW_LENGTH = 200


def utcnow():
    """Naive UTC now: every timestamp in the database is UTC without a zone."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def visitor_label(name, session_id):
    """What everyone calls a chat's visitor: the name given, else "Visitor" and the chat's first 8 characters."""
    return name or f"Visitor {session_id[:8]}"


def hash_session_key(key):
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def isoformat(moment):
    return moment.replace(tzinfo=timezone.utc).isoformat().replace("+00:00", "Z") if moment else None


# Which sites' visitors a plain agent answers (supervisors and admins see every site).
agent_site = db.Table(
    "agent_site",
    db.Column("agent_id", db.Integer, db.ForeignKey("agent.id", ondelete="CASCADE"), primary_key=True),
    db.Column("site_id", db.Integer, db.ForeignKey("site.id", ondelete="CASCADE"), primary_key=True),
)


class Agent(UserMixin, db.Model):
    id = db.Column(db.Integer, primary_key=True)
    email = db.Column(db.String(254), unique=True, nullable=False)
    display_name = db.Column(db.String(80), nullable=False)
    role = db.Column(db.String(20), nullable=False, default="agent")
    password_hash = db.Column(db.String(256), nullable=False)
    active = db.Column(db.Boolean, nullable=False, default=True)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    sites = db.relationship("Site", secondary=agent_site, order_by="Site.id")
    # Part of every login cookie and socket; bumping it ends every login of the agent.
    session_version = db.Column(db.Integer, nullable=False, default=0, server_default="0")
    # When a dashboard of the agent was last known to be connected (connect, disconnect, and
    # every job tick while one is); its chats go back to the queue AGENT_AWAY_MINUTES after.
    last_seen_at = db.Column(db.DateTime)
    # Capacity: how many active chats the agent holds at most (auto-assignment respects it).
    max_chats = db.Column(db.Integer, nullable=False, default=5, server_default="5")

    @property
    def is_active(self):
        return self.active

    def get_id(self):
        """Flask-Login's "alternative token": a cookie stays valid only for this version."""
        return f"{self.id}:{self.session_version}"

    def revoke_logins(self):
        """Every login cookie and socket of this agent stops working (on commit)."""
        self.session_version = Agent.session_version + 1

    @property
    def site_ids(self):
        return [site.id for site in self.sites]

    def serves_site(self, site_id):
        """Whether the agent answers this site's visitors (access.py holds the rules built on it)."""
        return self.role in EVERY_SITE_ROLES or site_id in self.site_ids

    def set_password(self, password):
        self.password_hash = hash_password(password)

    def check_password(self, password):
        return password_matches(self.password_hash, password)


class Site(db.Model):
    id = db.Column(db.Integer, primary_key=True)
    key = db.Column(db.String(64), unique=True, nullable=False)
    name = db.Column(db.String(120), nullable=False)
    # Space-separated origins (scheme://host[:port]); the word "self" stands for
    # the app's own origin, whatever host and port it is served on.
    allowed_origins = db.Column(db.Text, nullable=False, default="self")
    greeting = db.Column(db.String(500), nullable=False, default="Hi! How can we help?")
    color = db.Column(db.String(7), nullable=False, default="#2563eb")
    # Which bottom corner of the page the launcher sits in.
    position = db.Column(db.String(12), nullable=False, default="bottom-right", server_default="bottom-right")
    # "manual": agents accept chats from the queue; "auto": queue.assign gives each to an agent.
    routing = db.Column(db.String(10), nullable=False, default="manual", server_default="manual")
    # The bot answers new chats first (chat/bot); its menu is seed 004's JSON (bot/menu.py), None
    # for the default menu. Business hours: JSON (bot/hours.py), None for always open.
    bot_enabled = db.Column(db.Boolean, nullable=False, default=False, server_default=db.false())
    bot_menu = db.Column(db.Text)
    business_hours = db.Column(db.Text)

    @property
    def origin_list(self):
        return self.allowed_origins.split()


class Visitor(db.Model):
    id = db.Column(db.Integer, primary_key=True)
    site_id = db.Column(db.Integer, db.ForeignKey("site.id"), nullable=False)
    name = db.Column(db.String(80))
    email = db.Column(db.String(254))
    # An IANA zone name the widget reports (e.g. "Europe/Paris"), to show the visitor's local time.
    time_zone = db.Column(db.String(64))
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)


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
    # The bot's part (chat/bot): why it handed the chat to a person (bot/rules.py HANDOFF_REASONS),
    # its weak answers in a row, whether the visitor said an answer helped, and whether the
    # visitor left a message through the offline form while nobody could answer.
    handoff_reason = db.Column(db.String(20))
    bot_misses = db.Column(db.Integer, nullable=False, default=0, server_default="0")
    bot_helped = db.Column(db.Boolean, nullable=False, default=False, server_default=db.false())
    offline = db.Column(db.Boolean, nullable=False, default=False, server_default=db.false())

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
        db.Index("ix_message_sender", "sender_type", "sender_id", "session_id"),   # history: the chats an agent wrote in
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
    # JSON of what a bot message offers beside its text: buttons, links, a form (message_extras).
    extras = db.Column(db.Text)

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
    }


EXTRA_KEYS = ("buttons", "links", "form", "button")


def message_extras(extras):
    """What a message offers beside its text, from its `extras` JSON: `buttons` (quick replies,
    each {id, title}), `links` ({title, url}), `form` ("offline"); a visitor's message sent
    by pressing a button holds its id (`button`). Empty for most messages."""
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


class CannedResponse(db.Model):
    """A saved reply: an agent's own (agent_id set) or shared by the team (agent_id None)."""
    __tablename__ = "canned_response"
    __table_args__ = (db.Index("ix_canned_response_agent", "agent_id"),)

    id = db.Column(db.Integer, primary_key=True)
    agent_id = db.Column(db.Integer, db.ForeignKey("agent.id", ondelete="CASCADE"))
    shortcut = db.Column(db.String(40), nullable=False)
    text = db.Column(db.Text, nullable=False)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)


class JobLease(db.Model):
    """Which server process runs the housekeeping jobs, until when."""
    __tablename__ = "job_lease"

    name = db.Column(db.String(40), primary_key=True)
    holder = db.Column(db.String(80), nullable=False)
    expires_at = db.Column(db.DateTime, nullable=False)


class Article(db.Model):
    """A knowledge-base article of a site: Markdown, searched by the bot (knowledge_search.py)."""
    __table_args__ = (db.Index("ix_article_site_published", "site_id", "published"),
                      db.Index("ix_article_search_length", "search_length"))

    id = db.Column(db.Integer, primary_key=True)
    site_id = db.Column(db.Integer, db.ForeignKey("site.id", ondelete="CASCADE"), nullable=False)
    title = db.Column(db.String(200), nullable=False)
    body = db.Column(db.Text, nullable=False)
    tags = db.Column(db.String(500), nullable=False, default="", server_default="")
    published = db.Column(db.Boolean, nullable=False, default=False, server_default=db.false())
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    updated_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    # What the full-text index holds: the stems of the title and tags, and of the body
    # (knowledge_search.index_fields), and the weighted number of stems. PostgreSQL also has
    # search_vector, their tsvector, generated by the database (migration a9e4c2d8b6f1).
    search_title = db.Column(db.Text, nullable=False, default="", server_default="")
    search_body = db.Column(db.Text, nullable=False, default="", server_default="")
    search_length = db.Column(db.Integer, nullable=False, default=0, server_default="0")

    site = db.relationship(Site)

    @property
    def tag_list(self):
        return [tag for tag in (part.strip() for part in self.tags.split(",")) if tag]


class UnansweredQuestion(db.Model):
    """A visitor's question the knowledge base had no answer for: for admins to write one."""
    __tablename__ = "unanswered_question"
    __table_args__ = (db.Index("ix_unanswered_question_site_asked", "site_id", "asked_at"),)

    id = db.Column(db.Integer, primary_key=True)
    site_id = db.Column(db.Integer, db.ForeignKey("site.id", ondelete="CASCADE"), nullable=False)
    session_id = db.Column(db.String(36), db.ForeignKey("chat_session.id", ondelete="CASCADE"), nullable=False)
    text = db.Column(db.Text, nullable=False)
    asked_at = db.Column(db.DateTime, nullable=False, default=utcnow)
