"""What every table shares: the status groups and other fixed choices, UTC time, the visitor's label."""
import hashlib
from datetime import datetime, timezone

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
CHANNEL_TITLES = {"web": "Website", "whatsapp": "WhatsApp", "line": "LINE"}     # as people read them
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
