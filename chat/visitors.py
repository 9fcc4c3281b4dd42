"""What the team knows of a chat's visitor: the details the side panel shows and the
visitor's other conversations on the same website (the same visitor, or the same email)."""
from sqlalchemy import func, or_, select

from .extensions import db
from .models import ChatSession, Visitor

EARLIER_LIMIT = 10


def same_person(chat_session):
    """A condition on ChatSession: a chat of the same person on the same website."""
    visitor = chat_session.visitor
    people = select(Visitor.id).where(Visitor.site_id == chat_session.site_id)
    if visitor.email:
        people = people.where(or_(Visitor.id == visitor.id, func.lower(Visitor.email) == visitor.email.lower()))
    else:
        people = people.where(Visitor.id == visitor.id)
    return ChatSession.visitor_id.in_(people)


def earlier_conversations(chat_session, readable, limit=EARLIER_LIMIT):
    """The visitor's other chats on this chat's site that meet `readable` (the viewer's
    access.readable_transcripts), newest first."""
    return db.session.execute(
        select(ChatSession).where(same_person(chat_session), ChatSession.id != chat_session.id, readable)
        .order_by(ChatSession.started_at.desc()).limit(limit)
    ).scalars().all()
