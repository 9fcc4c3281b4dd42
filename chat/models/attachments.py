"""Files attached to messages: what was uploaded, by whom, to which chat, and what it is
(decided from its content, chat/attachments.py). The bytes live in attachment storage
(chat/attachment_storage.py) under keys made from the ids, never from a file name."""
import uuid

from ..extensions import db
from .common import utcnow

# What a file is, for clients (`kind`), and the groups a site allows (`Site.attachment_types`).
ATTACHMENT_KINDS = ("image", "video", "audio", "document")
ATTACHMENT_CATEGORIES = ("images", "pdf", "office", "audio", "video")


def files_preview(listed):
    """What a chat list shows for a message of files only: "📎 photo.jpg" (and how many more)."""
    first = listed[0]["name"]
    return f"📎 {first}" if len(listed) == 1 else f"📎 {first} (+{len(listed) - 1})"


class Attachment(db.Model):
    __tablename__ = "attachment"
    __table_args__ = (
        db.Index("ix_attachment_session_created", "session_id", "created_at"),   # the per-hour limits
        db.Index("ix_attachment_message", "message_id"),
    )

    id = db.Column(db.String(36), primary_key=True, default=lambda: str(uuid.uuid4()))
    session_id = db.Column(db.String(36), db.ForeignKey("chat_session.id", ondelete="CASCADE"), nullable=False)
    # Set in the transaction that stores the message naming it; NULL until then.
    message_id = db.Column(db.Integer, db.ForeignKey("message.id", ondelete="SET NULL"))
    uploaded_by_type = db.Column(db.String(10), nullable=False)      # visitor, agent
    uploaded_by_id = db.Column(db.Integer)                           # the agent's id, or the chat's visitor's
    name = db.Column(db.String(200), nullable=False)                 # a display name (attachments.safe_name)
    content_type = db.Column(db.String(100), nullable=False)
    kind = db.Column(db.String(10), nullable=False)
    size = db.Column(db.Integer, nullable=False)                     # of the stored bytes
    sha256 = db.Column(db.String(64), nullable=False)
    width = db.Column(db.Integer)
    height = db.Column(db.Integer)
    # The thumbnail's content type (image/jpeg or image/png); NULL: no thumbnail.
    thumbnail_type = db.Column(db.String(20))
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)

    @property
    def has_thumbnail(self):
        return self.thumbnail_type is not None

    @property
    def storage_key(self):
        return f"{self.session_id}/{self.id}"

    @property
    def thumbnail_key(self):
        return f"{self.session_id}/{self.id}/thumb"

    def to_dict(self):
        """As a message's `attachments` lists it (docs/protocol.md): no URL."""
        item = {"id": self.id, "name": self.name, "size": self.size, "content_type": self.content_type,
                "kind": self.kind}
        if self.width is not None:
            item["width"], item["height"] = self.width, self.height
        item["thumbnail"] = self.has_thumbnail
        return item

    def upload_payload(self):
        """The answer to an upload."""
        answer = {"attachment_id": self.id, "name": self.name, "size": self.size,
                  "content_type": self.content_type, "kind": self.kind}
        if self.width is not None:
            answer["width"], answer["height"] = self.width, self.height
        return answer
