"""Channels other than the widget (WhatsApp, LINE): a site's account with each provider, the
outbox that sends our messages to the customer's phone, and the provider events already taken
(a provider delivers at least once; chat/channels/)."""
from ..extensions import db
from .common import utcnow

CHANNEL_PROVIDERS = ("whatsapp", "line")
# A message's delivery to a phone (Message.delivery_state): queued -> sent -> delivered -> read,
# or failed (Message.delivery_error says why). chat/channels/delivery.py holds the order.
DELIVERY_STATES = ("queued", "sent", "delivered", "read", "failed")
# An outbox row's own state: waiting to go (queued), held by a sender (sending), done (sent),
# given up (failed). What the phone did after "sent" is on the message.
OUTBOX_STATES = ("queued", "sending", "sent", "failed")


class ChannelAccount(db.Model):
    """A site's account with a provider: one per site and channel. The secrets are never shown
    back in full (`masked`) and never logged."""
    __tablename__ = "channel_account"
    __table_args__ = (
        db.UniqueConstraint("site_id", "channel", name="uq_channel_account_site_channel"),
        db.UniqueConstraint("channel", "external_id", name="uq_channel_account_external"),
    )

    id = db.Column(db.Integer, primary_key=True)
    site_id = db.Column(db.Integer, db.ForeignKey("site.id", ondelete="CASCADE"), nullable=False)
    channel = db.Column(db.String(20), nullable=False)                 # whatsapp, line
    # WhatsApp: the phone number id we send as; LINE: the bot's user id (a webhook's `destination`).
    external_id = db.Column(db.String(64), nullable=False)
    # What people see: WhatsApp's display phone number, the LINE bot's name.
    display_name = db.Column(db.String(120))
    # WhatsApp: the business account (WABA) id, for its templates; learned from webhooks if not given.
    business_account_id = db.Column(db.String(64))
    access_token = db.Column(db.Text, nullable=False)
    # WhatsApp: the app secret; LINE: the channel secret. Both sign the provider's webhooks.
    signing_secret = db.Column(db.String(256), nullable=False)
    verify_token = db.Column(db.String(256))                           # WhatsApp's GET verification
    api_base = db.Column(db.String(500))                               # None: the provider's own
    # WhatsApp's approved templates, as synced from the API: JSON list of
    # {"name", "language", "category", "body", "params"} (params: how many {{n}} in the body).
    templates = db.Column(db.Text)
    templates_synced_at = db.Column(db.DateTime)
    active = db.Column(db.Boolean, nullable=False, default=True, server_default=db.true())
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    updated_at = db.Column(db.DateTime, nullable=False, default=utcnow, onupdate=utcnow)

    site = db.relationship("Site", lazy="joined")


class ChannelOutbox(db.Model):
    """One message on its way to a phone. Written after the message commits (and by the jobs'
    sweep for any message a crash left without one); taken by a sender with a lease, so a
    server that dies mid-send leaves it to be sent again."""
    __tablename__ = "channel_outbox"
    __table_args__ = (
        db.UniqueConstraint("message_id", name="uq_channel_outbox_message"),
        db.Index("ix_channel_outbox_due", "state", "next_attempt_at"),
        db.Index("ix_channel_outbox_session", "session_id", "id"),
        db.Index("ix_channel_outbox_provider_id", "channel", "provider_message_id"),
    )

    id = db.Column(db.Integer, primary_key=True)
    message_id = db.Column(db.Integer, db.ForeignKey("message.id", ondelete="CASCADE"), nullable=False)
    session_id = db.Column(db.String(36), db.ForeignKey("chat_session.id", ondelete="CASCADE"), nullable=False)
    account_id = db.Column(db.Integer, db.ForeignKey("channel_account.id", ondelete="CASCADE"), nullable=False)
    channel = db.Column(db.String(20), nullable=False)
    recipient = db.Column(db.String(64), nullable=False)               # wa_id, LINE user id
    state = db.Column(db.String(10), nullable=False, default="queued")
    attempts = db.Column(db.Integer, nullable=False, default=0, server_default="0")
    next_attempt_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    lease_until = db.Column(db.DateTime)                               # while `sending`
    # The provider's id of what it accepted (a wamid; LINE's sent message id): statuses name it.
    provider_message_id = db.Column(db.String(128))
    # LINE's X-Line-Retry-Key: the same on every attempt, so a retried push is delivered once.
    retry_key = db.Column(db.String(36), nullable=False)
    error_code = db.Column(db.String(20))
    error_text = db.Column(db.String(300))
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    sent_at = db.Column(db.DateTime)


class ChannelEvent(db.Model):
    """A provider's event, kept before the webhook answers 200 (so a server that dies after
    answering still takes it) and once only: a redelivery (WhatsApp's message id, LINE's
    webhookEventId, a status's id and state) finds its row and stores nothing new."""
    __tablename__ = "channel_event"
    __table_args__ = (
        db.Index("ix_channel_event_unprocessed", "processed_at", "received_at"),
    )

    channel = db.Column(db.String(20), primary_key=True)
    event_id = db.Column(db.String(128), primary_key=True)
    account_id = db.Column(db.Integer, db.ForeignKey("channel_account.id", ondelete="CASCADE"), nullable=False)
    kind = db.Column(db.String(20), nullable=False)          # message, status, follow, unfollow, ...
    contact = db.Column(db.String(64))                       # whose event: events of a contact go in order
    payload = db.Column(db.Text, nullable=False)             # the provider's JSON of this one event
    received_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    processed_at = db.Column(db.DateTime)
    attempts = db.Column(db.Integer, nullable=False, default=0, server_default="0")
