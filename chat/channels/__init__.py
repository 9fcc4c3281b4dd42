"""Channels: every way a customer reaches us besides the widget (WhatsApp, LINE), on one
interface. A provider's webhook is verified and kept as ChannelEvent rows (channels/events.py)
before it is answered; each event is then handled by its channel, which hands a customer's
message to `inbound.receive` (the same `messages.receive` the widget uses) and a delivery
status to `delivery.record_status`. What we say goes out through `deliver` and the durable
outbox (channels/outbox.py), one message at a time per chat, retried until the provider
takes it. docs/architecture.md ("Channels") tells the whole path.
"""
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Contact:
    """Who wrote: the provider's id of the contact (WhatsApp's wa_id, LINE's user id) and the
    name their profile shows, when known."""
    external_id: str
    name: str | None = None


@dataclass(frozen=True)
class Media:
    """A file a customer sent, still at the provider: fetched with `Channel.download`."""
    kind: str                       # image, video, audio, document
    provider_id: str                # WhatsApp's media id, LINE's message id
    content_type: str | None = None
    sha256: str | None = None       # WhatsApp gives it: the download must match
    filename: str | None = None


@dataclass(frozen=True)
class Incoming:
    """One customer message as a channel parsed it from its event."""
    event_id: str                   # the provider's id: also the stored message's client_id
    contact: Contact
    text: str                       # the words (a caption, a button's title); "" for a file alone
    sent_at: datetime               # the provider's timestamp (naive UTC)
    button_id: str | None = None    # a reply button's id or a template quick reply's payload
    media: tuple = ()               # Media values
    reply_token: str | None = None  # LINE: answers within a minute go as a (free) reply


@dataclass
class Sent:
    """What a provider said when it took a message."""
    provider_message_id: str | None


class SendError(Exception):
    """A provider refused a send. `text` is a sentence for the agent; `retry` says whether the
    same send may succeed later (5xx, 429, throughput limits), `retry_after` in seconds when the
    provider said; `needs_template`: WhatsApp's window has closed (131047)."""

    def __init__(self, code, text, retry=False, retry_after=None, needs_template=False):
        super().__init__(f"{code}: {text}")
        self.code, self.text, self.retry, self.retry_after = str(code), text, retry, retry_after
        self.needs_template = needs_template


@dataclass
class Channel:
    """What each provider's module (whatsapp.py, line.py) gives the rest of the product."""
    name: str
    # Messages per second one account may send (WhatsApp: the number's throughput).
    sends_per_second: float = 80.0
    blueprint: object = None
    extra: dict = field(default_factory=dict)

    def send(self, account, row, message):
        """Send one stored message (a detached Message whose text is what the phone reads: a system
        line's is already in the customer's words, channels/words.py) to `row.recipient`; returns
        Sent or raises SendError.
        Blocking HTTP through `requests` (green under eventlet)."""
        raise NotImplementedError

    def handle(self, account, event):
        """Act on one kept ChannelEvent (a message, a status, a follow...)."""
        raise NotImplementedError

    def download(self, account, media):
        """(bytes, content_type, filename) of a customer's file; SendError when it cannot be had."""
        raise NotImplementedError

    def show_writing(self, account, visitor, last_event_id):
        """Show the customer that an answer is being written (best effort, never raises)."""

    def after_connect(self, account):
        """Anything to fetch once an account is connected (WhatsApp: its templates); best effort."""

    def window_closes_at(self, visitor):
        """When we stop being allowed to send free text to this contact; None: never."""
        return None

    def require_free_text(self, chat):
        """Refuse (ChatError) an agent's free text this channel cannot deliver now (WhatsApp:
        its 24-hour window has closed); messages.post_agent calls it."""


CHANNELS = {}
CHANNEL_CACHE_SIZE = 10_000
_channel_of = {}        # session id -> its channel (a chat's channel never changes)


def channel_of(session_id):
    """A chat's channel ("web", "whatsapp", "line"), or None for no such chat, from a bounded
    cache: the widget's messages pay one look-up per chat and process, not one per message."""
    channel = _channel_of.get(session_id)
    if channel is None:
        channel = _read_channel(session_id)
        if channel is None:
            return None
        _channel_of[session_id] = channel
        if len(_channel_of) > CHANNEL_CACHE_SIZE:
            _channel_of.pop(next(iter(_channel_of)), None)
    return channel


def _read_channel(session_id):
    from .. import message_store
    from ..extensions import db
    from ..models import ChatSession
    if db.session.registry.has() and db.session.registry().in_transaction():
        # This task's session holds a connection (an event that claimed the chat, say): read
        # through it. Taking a second one could wait for ever on a small pool this task drains.
        return db.session.execute(db.select(ChatSession.channel).where(ChatSession.id == session_id)).scalar()
    row = message_store.fetch_one("SELECT channel FROM chat_session WHERE id = :id", {"id": session_id})
    return row[0] if row else None


def register(channel):
    CHANNELS[channel.name] = channel
    return channel


def channel_named(name):
    """The Channel for a chat's channel name, or None for the widget."""
    if not CHANNELS:
        from . import line, whatsapp  # noqa: F401  (each registers itself)
    return CHANNELS.get(name)


def register_blueprints(app):
    """Each provider's webhook blueprint (its module registers the channel as it is imported)."""
    from . import line, whatsapp
    for module in (whatsapp, line):
        app.register_blueprint(module.CHANNEL.blueprint)
