"""People: the team's agents (and their canned replies) and the visitors who chat."""
from flask_login import UserMixin

from ..extensions import db
from ..passwords import hash_password, password_matches
from .common import EVERY_SITE_ROLES, utcnow

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


class Visitor(db.Model):
    __table_args__ = (
        # A phone's contact is one visitor per site and channel (NULL external_id: the widget's visitors).
        db.Index("uq_visitor_channel_contact", "site_id", "channel", "external_id", unique=True),
    )

    id = db.Column(db.Integer, primary_key=True)
    site_id = db.Column(db.Integer, db.ForeignKey("site.id"), nullable=False)
    channel = db.Column(db.String(20), nullable=False, default="web", server_default="web")
    # The provider's id of the contact: WhatsApp's wa_id, LINE's user id; on the widget, the
    # site's own user id of a visitor verified with the site's identity secret, else NULL.
    external_id = db.Column(db.String(64))
    # When the contact last wrote to us: WhatsApp's 24-hour customer-service window runs from it.
    last_inbound_at = db.Column(db.DateTime)
    # LINE: the reply token of the contact's last event and when it came (single use, ~1 minute).
    reply_token = db.Column(db.String(64))
    reply_token_at = db.Column(db.DateTime)
    name = db.Column(db.String(80))
    email = db.Column(db.String(254))
    # An IANA zone name the widget reports (e.g. "Europe/Paris"), to show the visitor's local time.
    time_zone = db.Column(db.String(64))
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)

    @property
    def verified_user_id(self):
        """The site's own id of a widget visitor who proved it (visitor_identity.identify)."""
        return self.external_id if self.channel == "web" else None


class VisitorToken(db.Model):
    """A browser's long-lived proof of being one visitor: the widget frame keeps the token, this
    table only its hash. A visitor has one per browser (a verified user on several devices)."""
    __tablename__ = "visitor_token"
    __table_args__ = (db.Index("ix_visitor_token_visitor", "visitor_id"),)

    id = db.Column(db.Integer, primary_key=True)
    visitor_id = db.Column(db.Integer, db.ForeignKey("visitor.id", ondelete="CASCADE"), nullable=False)
    token_hash = db.Column(db.String(64), nullable=False, unique=True)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    # Refreshed (at most daily) when the token is used; the token lapses VISITOR_TOKEN_DAYS after.
    last_used_at = db.Column(db.DateTime, nullable=False, default=utcnow)

    visitor = db.relationship("Visitor", lazy="joined")


class CannedResponse(db.Model):
    """A saved reply: an agent's own (agent_id set) or shared by the team (agent_id None)."""
    __tablename__ = "canned_response"
    __table_args__ = (db.Index("ix_canned_response_agent", "agent_id"),)

    id = db.Column(db.Integer, primary_key=True)
    agent_id = db.Column(db.Integer, db.ForeignKey("agent.id", ondelete="CASCADE"))
    shortcut = db.Column(db.String(40), nullable=False)
    text = db.Column(db.Text, nullable=False)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
