"""Database models: people (agents, visitors), sites, conversations (chat sessions and their
messages, the files attached to them), the knowledge base, and the jobs' lease. Every name is importable from here."""
from .common import (
    AGENT_ROLES, CHANNEL_TITLES, CHANNELS, EVERY_SITE_ROLES, LINE_STATUSES, MAX_CHATS_LIMIT, OPEN_STATUSES, PREVIEW_LENGTH,
    QUEUED_STATUSES, SENDER_TYPES, SESSION_STATUSES, SITE_ROUTINGS, hash_session_key, isoformat, utcnow,
    visitor_label,
)
from .conversations import (
    EXTRA_KEYS, ChatRead, ChatSession, Message, StatusGroups, StoredMessage, message_extras, message_payload,
    message_preview,
)
from .channels import CHANNEL_PROVIDERS, DELIVERY_STATES, OUTBOX_STATES, ChannelAccount, ChannelEvent, ChannelOutbox
from .attachments import ATTACHMENT_CATEGORIES, ATTACHMENT_KINDS, Attachment, files_preview
from .jobs import JobLease
from .knowledge import Article, ArticleTerm, UnansweredQuestion
from .people import Agent, CannedResponse, Visitor, VisitorToken, agent_site
from .sites import Site

__all__ = [
    "AGENT_ROLES", "CHANNEL_TITLES", "CHANNELS", "EVERY_SITE_ROLES", "LINE_STATUSES", "MAX_CHATS_LIMIT", "OPEN_STATUSES",
    "PREVIEW_LENGTH", "QUEUED_STATUSES", "SENDER_TYPES", "SESSION_STATUSES", "SITE_ROUTINGS", "hash_session_key",
    "isoformat", "utcnow", "visitor_label", "EXTRA_KEYS", "ChatRead", "ChatSession", "Message", "StatusGroups",
    "StoredMessage", "message_extras", "message_payload", "message_preview", "JobLease", "Article", "ArticleTerm", "UnansweredQuestion", "Agent",
    "CannedResponse", "Visitor", "VisitorToken", "agent_site", "Site", "ATTACHMENT_CATEGORIES", "ATTACHMENT_KINDS", "Attachment", "files_preview",
    "CHANNEL_PROVIDERS", "DELIVERY_STATES", "OUTBOX_STATES", "ChannelAccount", "ChannelEvent", "ChannelOutbox",
]
