"""The dashboard's lists: the queue of chats waiting for an agent, an agent's own chats, and
how much of each an agent has read."""
from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite

from . import access
from .extensions import db
from .models import QUEUED_STATUSES, ChatRead, ChatSession, Message


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


def mark_read(agent_id, chat, seq):
    """The agent has seen `chat` up to `seq` (never past its latest message, never backwards).
    Returns the seq now recorded."""
    seq = max(0, min(seq, chat.last_seq))
    postgres = db.engine.dialect.name == "postgresql"
    insert = (postgresql.insert if postgres else sqlite.insert)(ChatRead).values(
        agent_id=agent_id, session_id=chat.id, last_read_seq=seq)
    larger = func.greatest if postgres else func.max          # SQLite's max(a, b) is the scalar one
    db.session.execute(insert.on_conflict_do_update(
        index_elements=["agent_id", "session_id"],
        set_={"last_read_seq": larger(ChatRead.last_read_seq, insert.excluded.last_read_seq)}))
    db.session.commit()
    return db.session.execute(select(ChatRead.last_read_seq).where(
        ChatRead.agent_id == agent_id, ChatRead.session_id == chat.id)).scalar_one()


def unread_counts(agent_id, session_ids):
    """{session_id: how many visitor messages the agent has not read} for these chats (absent: none)."""
    if not session_ids:
        return {}
    read_up_to = (select(ChatRead.last_read_seq)
                  .where(ChatRead.agent_id == agent_id, ChatRead.session_id == Message.session_id)
                  .scalar_subquery())
    rows = db.session.execute(
        select(Message.session_id, func.count())
        .where(Message.session_id.in_(list(session_ids)), Message.sender_type == "visitor",
               Message.seq > func.coalesce(read_up_to, 0))
        .group_by(Message.session_id)
    ).all()
    return dict(rows)
