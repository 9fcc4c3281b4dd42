"""The dashboard's lists: the queue of chats waiting for an agent, and an agent's own chats."""
from sqlalchemy import select

from . import access
from .extensions import db
from .models import QUEUED_STATUSES, ChatSession


def waiting_sessions(agent, limit=100):
    """The queue of the sites `agent` serves, oldest first, and how many wait in all
    (the list shows the first `limit`)."""
    queued = ChatSession.status.in_(QUEUED_STATUSES)
    if not access.supervises(agent):
        queued = queued & ChatSession.site_id.in_(agent.site_ids)
    rows = db.session.execute(
        select(ChatSession).where(queued).order_by(ChatSession.started_at).limit(limit)
    ).scalars().all()
    total = len(rows)
    if total == limit:
        total = db.session.execute(select(db.func.count()).select_from(ChatSession).where(queued)).scalar_one()
    return rows, total


def sessions_of_agent(agent):
    """The chats `agent` holds, most recent message first."""
    return db.session.execute(
        select(ChatSession).where(ChatSession.agent_id == agent.id, ChatSession.status == "active")
        .order_by(ChatSession.last_message_at.desc())
    ).scalars().all()
