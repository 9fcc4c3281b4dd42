"""The sites whose visitors chat: origins, look, routing and the bot's settings."""
import secrets

from ..extensions import db

DEFAULT_ATTACHMENT_TYPES = "images pdf office audio video"


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
    # The kinds of files visitors and agents may attach (models.ATTACHMENT_CATEGORIES),
    # space-separated; empty: none.
    attachment_types = db.Column(db.String(100), nullable=False, default=DEFAULT_ATTACHMENT_TYPES,
                                 server_default=DEFAULT_ATTACHMENT_TYPES)

    # Signs the widget's verified user ids: ChatWidget.setUser({id, hash}) with hash =
    # HMAC-SHA256(identity_secret, id) in hex, computed by the site's own server (visitor_identity).
    identity_secret = db.Column(db.String(64), nullable=False, default=lambda: secrets.token_hex(32))

    @property
    def origin_list(self):
        return self.allowed_origins.split()

    @property
    def attachment_type_list(self):
        return (self.attachment_types or "").split()
