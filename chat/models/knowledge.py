"""The knowledge base the bot answers from, and the questions it had no answer for."""
from ..extensions import db
from .common import utcnow
from .sites import Site

class Article(db.Model):
    """A knowledge-base article of a site: Markdown, searched by the bot (knowledge_search.py)."""
    __table_args__ = (db.Index("ix_article_site_published", "site_id", "published"),)

    id = db.Column(db.Integer, primary_key=True)
    site_id = db.Column(db.Integer, db.ForeignKey("site.id", ondelete="CASCADE"), nullable=False)
    title = db.Column(db.String(200), nullable=False)
    body = db.Column(db.Text, nullable=False)
    tags = db.Column(db.String(500), nullable=False, default="", server_default="")
    published = db.Column(db.Boolean, nullable=False, default=False, server_default=db.false())
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    updated_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    # What the full-text index holds: the stems of the title and tags, and of the body
    # (knowledge_search.index_fields), and the weighted number of stems.
    search_title = db.Column(db.Text, nullable=False, default="", server_default="")
    search_body = db.Column(db.Text, nullable=False, default="", server_default="")
    search_length = db.Column(db.Integer, nullable=False, default=0, server_default="0")

    site = db.relationship(Site)

    @property
    def tag_list(self):
        return [tag for tag in (part.strip() for part in self.tags.split(",")) if tag]


class UnansweredQuestion(db.Model):
    """A visitor's question the knowledge base had no answer for: for admins to write one."""
    __tablename__ = "unanswered_question"
    __table_args__ = (db.Index("ix_unanswered_question_site_asked", "site_id", "asked_at"),)

    id = db.Column(db.Integer, primary_key=True)
    site_id = db.Column(db.Integer, db.ForeignKey("site.id", ondelete="CASCADE"), nullable=False)
    session_id = db.Column(db.String(36), db.ForeignKey("chat_session.id", ondelete="CASCADE"), nullable=False)
    text = db.Column(db.Text, nullable=False)
    asked_at = db.Column(db.DateTime, nullable=False, default=utcnow)
