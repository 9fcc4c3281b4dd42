"""What the team knows of a chat's visitor: the details the side panel shows and the
visitor's earlier conversations on the same website (the same visitor, or the same email)."""
from sqlalchemy import func, or_, select

from .extensions import db
from .models import ChatSession, Visitor

EARLIER_LIMIT = 10


def earlier_conversations(chat_session, limit=EARLIER_LIMIT):
    """The visitor's other chats on this chat's site, newest first."""
    same_person = [ChatSession.visitor_id == chat_session.visitor_id]
    if chat_session.visitor.email:
        same_person.append(func.lower(Visitor.email) == chat_session.visitor.email.lower())
    return db.session.execute(
        select(ChatSession).join(Visitor, ChatSession.visitor_id == Visitor.id)
        .where(ChatSession.site_id == chat_session.site_id, ChatSession.id != chat_session.id, or_(*same_person))
        .order_by(ChatSession.started_at.desc()).limit(limit)
    ).scalars().all()
