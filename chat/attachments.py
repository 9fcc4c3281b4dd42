"""Attachments: files visitors and agents send in a chat (issue 15).

An upload is read with the size cap (MAX_UPLOAD_MB), its type decided from its content (the
`filetype` library: signatures, never the name or the client's header), checked against the
site's allowed kinds and the chat's hourly limits; an image is verified, refused past
MAX_IMAGE_PIXELS, re-encoded without its metadata (EXIF, GPS; orientation applied) and given a
thumbnail. The reading, hashing and image work run off the event loop (chat/off_loop.py).
A message names uploaded attachments by id (chat/messages.py); who may attach and fetch is
`access`. Visitors fetch files through short-lived signed links (`link`, `attachment_for_link`).
"""
import hashlib
import io
import logging
import threading
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import timedelta

import filetype
from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer
from PIL import Image, ImageOps
from sqlalchemy import delete, func, select

from . import off_loop
from .attachment_storage import storage_for
from .errors import ChatError
from .extensions import db
from .models import Attachment, Message, utcnow

log = logging.getLogger(__name__)

# What each accepted content type is: (kind for clients, category a site allows, extensions a
# name may end with; the first is added to a name that ends otherwise). Nothing else is accepted:
# text formats (SVG, HTML, scripts) have no signature and are never recognised.
TYPES = {
    "image/jpeg": ("image", "images", (".jpg", ".jpeg", ".jpe", ".jfif")),
    "image/png": ("image", "images", (".png",)),
    "image/gif": ("image", "images", (".gif",)),
    "image/webp": ("image", "images", (".webp",)),
    "application/pdf": ("document", "pdf", (".pdf",)),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ("document", "office", (".docx",)),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ("document", "office", (".xlsx",)),
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": ("document", "office", (".pptx",)),
    "application/vnd.oasis.opendocument.text": ("document", "office", (".odt",)),
    "application/vnd.oasis.opendocument.spreadsheet": ("document", "office", (".ods",)),
    "application/vnd.oasis.opendocument.presentation": ("document", "office", (".odp",)),
    "audio/mpeg": ("audio", "audio", (".mp3",)),
    "audio/ogg": ("audio", "audio", (".ogg", ".oga", ".opus")),
    "audio/wav": ("audio", "audio", (".wav",)),
    "audio/mp4": ("audio", "audio", (".m4a",)),
    "video/mp4": ("video", "video", (".mp4", ".m4v")),
    "video/webm": ("video", "video", (".webm",)),
    "video/quicktime": ("video", "video", (".mov",)),
}
# filetype's names for some of them.
DETECTED_AS = {"audio/x-wav": "audio/wav", "audio/x-m4a": "audio/mp4", "audio/m4a": "audio/mp4"}
# The raster images served inline (everything else is a download).
INLINE_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")
CATEGORY_WORDS = {
    "images": "images (JPEG, PNG, GIF, WebP)",
    "pdf": "PDF documents",
    "office": "office documents (Word, Excel, PowerPoint, OpenDocument)",
    "audio": "audio (MP3, Ogg, WAV, M4A)",
    "video": "video (MP4, WebM, MOV)",
}
MAX_NAME_LENGTH = 200
THUMBNAIL_SIZE = 320
READ_CHUNK = 256 * 1024
LINK_SECONDS = 15 * 60
# A link sent to a WhatsApp or LINE phone (LINE fetches images from it; a customer opens a file's
# link when they read it, maybe days later): its lifetime is signed into it.
PHONE_LINK_SECONDS = 7 * 24 * 3600
# Images decoded at once by a process: a 20-megapixel photo takes ~60 MB while it is worked on.
IMAGES_AT_ONCE = threading.BoundedSemaphore(2)
# Freed image memory Pillow keeps for the next image, in 16 MB blocks (128 MB at most), instead
# of handing it back to the system at once: mapping and faulting in ~80 MB per photo beside the
# event loop woke the loop 20-33 ms late once or twice per ten photos (docs/benchmarks.md, issue 15).
IMAGE_BLOCKS_KEPT = 8
Image.core.set_blocks_max(IMAGE_BLOCKS_KEPT)
# What a re-encoded image keeps of what its file said beside the pixels: nothing personal.
KEPT_IMAGE_INFO = ("transparency", "duration", "loop", "background", "icc_profile")


@dataclass(frozen=True)
class Uploader:
    """Who uploads: ("visitor", the chat's visitor id) or ("agent", the agent's id)."""
    type: str
    id: int | None


def not_found():
    """The one answer to every refused fetch: no login, a wrong key or token, another chat's file."""
    return ChatError("attachment_not_found", "This file could not be found.")


def attach_again():
    return ChatError("invalid_payload", "This file could not be found; please attach it again.")


def image_invalid():
    return ChatError("image_invalid", "This image could not be read (it is damaged, or too large to open).")


def too_large():
    return ChatError("file_too_large", f"This file is larger than {current_app.config['MAX_UPLOAD_MB']} MB.")


def storage():
    app = current_app._get_current_object()
    found = app.extensions.get("attachment_storage")
    if found is None:
        found = app.extensions["attachment_storage"] = storage_for(app.config)
    return found


# ---- accepting an upload ----

def safe_name(filename, content_type=None):
    """A display name from the client's file name: no folders, no control or formatting
    characters (a right-to-left override could disguise "exe.pdf"), at most MAX_NAME_LENGTH
    characters, and ending in an extension of its detected type (so a download opens as what it is)."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(char for char in name if unicodedata.category(char)[0] not in ("C", "Z") or char == " ")
    name = " ".join(name.split()).strip(" .") or "file"
    extensions = TYPES[content_type][2] if content_type in TYPES else ()
    if extensions and not name.lower().endswith(extensions):
        name = name[:MAX_NAME_LENGTH - len(extensions[0])] + extensions[0]
    if len(name) > MAX_NAME_LENGTH:
        stem, dot, extension = name.rpartition(".")
        if dot and len(extension) < 20:
            name = stem[:MAX_NAME_LENGTH - len(extension) - 1] + "." + extension
        else:
            name = name[:MAX_NAME_LENGTH]
    return name


def detect(data):
    """The content type of `data` from its signature, or None when it is none we accept."""
    found = filetype.guess(data[:8192])
    if found is None:
        return None
    content_type = DETECTED_AS.get(found.mime, found.mime)
    return content_type if content_type in TYPES else None


def allowed_words(categories):
    words = [CATEGORY_WORDS[category] for category in categories if category in CATEGORY_WORDS]
    if not words:
        return "This website does not accept files."
    listed = words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]
    return f"This kind of file cannot be sent here; you can send {listed}."


def read_capped(stream, limit):
    """The stream's bytes, refused as soon as they pass `limit` (never read whole first)."""
    chunks, total = [], 0
    while True:
        chunk = stream.read(READ_CHUNK)
        if not chunk:
            break
        total += len(chunk)
        if total > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


@dataclass
class Examined:
    """What the off-loop work found: the bytes to store and what they are."""
    data: bytes
    content_type: str
    kind: str
    category: str
    width: int | None = None
    height: int | None = None
    thumbnail: bytes | None = None
    thumbnail_type: str | None = None
    sha256: str = ""


def examine(stream, limit, allowed):
    """Read an upload and decide what it is; runs in an OS thread."""
    data = read_capped(stream, limit)
    if data is None:
        raise ChatError("file_too_large", f"This file is larger than {limit // (1024 * 1024)} MB.")
    if not data:
        raise ChatError("invalid_payload", "This file is empty.")
    content_type = detect(data)
    if content_type is None or TYPES[content_type][1] not in allowed:
        raise ChatError("file_type_not_allowed", allowed_words(allowed))
    kind, category, _ = TYPES[content_type]
    return Examined(data, content_type, kind, category, sha256=hashlib.sha256(data).hexdigest())


def cleaned(found, max_pixels):
    """An examined image, verified and re-encoded (clean_image); runs in an OS thread."""
    found.data, found.width, found.height, found.thumbnail, found.thumbnail_type = clean_image(
        found.data, found.content_type, max_pixels)
    found.sha256 = hashlib.sha256(found.data).hexdigest()
    return found


# What Pillow must find in each accepted image type (the first is what it is saved as).
IMAGE_FORMATS = {"image/jpeg": ("JPEG", "MPO"), "image/png": ("PNG",), "image/gif": ("GIF",),
                 "image/webp": ("WEBP",)}


def clean_image(data, content_type, max_pixels):
    """(stored bytes, width, height, thumbnail bytes, thumbnail type) of an image: verified,
    refused past `max_pixels` (every frame counted), re-encoded in its own format without its
    metadata (orientation applied first), and a thumbnail of at most THUMBNAIL_SIZE pixels a side."""
    try:
        with Image.open(io.BytesIO(data)) as probe:
            if probe.format not in IMAGE_FORMATS[content_type]:
                raise image_invalid()
            width, height = probe.size
            # A phone's MPO (a JPEG with a second, preview picture) is kept as its first picture.
            frames = 1 if probe.format == "MPO" else getattr(probe, "n_frames", 1)
            if width * height * frames > max_pixels:
                raise image_invalid()
            probe.verify()
        image = Image.open(io.BytesIO(data))
        image.load()
        image_format = IMAGE_FORMATS[content_type][0]
        if frames > 1:
            stored = reencode_frames(image, image_format)
            image.seek(0)
            first = image.convert("RGBA")
        else:
            image = ImageOps.exif_transpose(image)
            stored = reencode(image, image_format)
            first = image
        width, height = first.size
        thumbnail, thumbnail_type = make_thumbnail(first)
    except ChatError:
        raise
    except (Image.DecompressionBombError, OSError, SyntaxError, ValueError, EOFError, KeyError, IndexError,
            TypeError, ZeroDivisionError, MemoryError):
        raise image_invalid() from None
    return stored, width, height, thumbnail, thumbnail_type


def without_metadata(image):
    image.info = {key: value for key, value in image.info.items() if key in KEPT_IMAGE_INFO}
    return image


def reencode(image, image_format):
    out = io.BytesIO()
    image = without_metadata(image)
    if image_format == "JPEG":
        if image.mode not in ("RGB", "L", "CMYK"):
            image = image.convert("RGB")
        image.save(out, "JPEG", quality=90, exif=b"")
    elif image_format == "WEBP":
        image.save(out, "WEBP", quality=90, exif=b"", xmp=b"")
    else:
        image.save(out, image_format)
    return out.getvalue()


def reencode_frames(image, image_format):
    """An animated GIF or WebP, every frame kept (and nothing else)."""
    out = io.BytesIO()
    image = without_metadata(image)
    options = {"save_all": True}
    if image_format == "WEBP":
        options.update(quality=90, exif=b"", xmp=b"")
    image.save(out, image_format, **options)
    return out.getvalue()


def make_thumbnail(image):
    """A JPEG thumbnail, or PNG when the image has transparency."""
    transparent = image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)
    thumb = image.convert("RGBA" if transparent else "RGB")
    thumb.thumbnail((THUMBNAIL_SIZE, THUMBNAIL_SIZE))
    out = io.BytesIO()
    if transparent:
        thumb.save(out, "PNG")
        return out.getvalue(), "image/png"
    thumb.save(out, "JPEG", quality=85)
    return out.getvalue(), "image/jpeg"


def hourly_use(session_id, now):
    """(files, bytes, the first upload's time) of the chat's uploads in the hour before `now`."""
    since = now - timedelta(hours=1)
    return db.session.execute(
        select(func.count(Attachment.id), func.coalesce(func.sum(Attachment.size), 0), func.min(Attachment.created_at))
        .where(Attachment.session_id == session_id, Attachment.created_at >= since)).one()


def require_within_hourly_limits(session_id, size=0):
    """The chat's uploads of the last hour leave room for one more file of `size` bytes; else
    upload_limit, with the seconds until the hour's first upload stops counting."""
    config = current_app.config
    most_files, most_mb = config["ATTACHMENTS_PER_SESSION_HOUR"], config["ATTACHMENT_MB_PER_SESSION_HOUR"]
    now = utcnow()
    count, total, first = hourly_use(session_id, now)
    if count + 1 > most_files or total + size > most_mb * 1024 * 1024:
        wait = (first + timedelta(hours=1) - now).total_seconds() if first else 3600
        raise ChatError("upload_limit", f"This chat has reached its limit of {most_files:,} files "
                                        f"({most_mb:,} MB) an hour; please try again later.", retry_after=wait)


def accept(upload, chat, uploader):
    """Store an upload (a werkzeug FileStorage, or anything with `stream` and `filename`) as an
    attachment of `chat` from `uploader`; the caller has authorised it (access.require_attach,
    access.require_visitor_attach). Returns the committed Attachment."""
    config = current_app.config
    session_id, allowed = chat.id, tuple(chat.site.attachment_type_list)
    require_within_hourly_limits(session_id)
    db.session.rollback()          # no connection held while the file is read and worked on
    found = off_loop.run(examine, upload.stream, config["MAX_UPLOAD_MB"] * 1024 * 1024, allowed)
    if found.kind == "image":
        # Taken here, on the loop's side: a green semaphore cannot be waited on in an OS thread.
        with IMAGES_AT_ONCE:
            found = off_loop.run(cleaned, found, config["MAX_IMAGE_PIXELS"])
    require_within_hourly_limits(session_id, len(found.data))
    attachment = Attachment(id=str(uuid.uuid4()), session_id=session_id, uploaded_by_type=uploader.type,
                            uploaded_by_id=uploader.id,
                            name=safe_name(upload.filename, found.content_type), content_type=found.content_type,
                            kind=found.kind, size=len(found.data), sha256=found.sha256, width=found.width,
                            height=found.height, thumbnail_type=found.thumbnail_type)
    files = [(attachment.storage_key, found.data, found.content_type)]
    if found.thumbnail is not None:
        files.append((attachment.thumbnail_key, found.thumbnail, found.thumbnail_type))
    save_files(files)
    db.session.add(attachment)
    try:
        db.session.commit()
    except Exception:
        db.session.rollback()
        delete_files([key for key, _, _ in files])
        raise
    return attachment


def _blocking(function, *args):
    """Storage calls: a local folder's off the loop; a bucket's client is green already."""
    return off_loop.run(function, *args) if getattr(storage(), "blocking", False) else function(*args)


def save_files(files):
    target = storage()
    saved = []
    try:
        for key, data, content_type in files:
            _blocking(target.save, key, data, content_type)
            saved.append(key)
    except Exception:
        delete_files(saved)
        raise


def delete_files(keys):
    target = storage()
    for key in keys:
        try:
            _blocking(target.delete, key)
        except Exception:
            log.exception("deleting attachment file %s failed", key)


def read(attachment, thumbnail=False):
    """The stored bytes of a file (or its thumbnail); not_found when they are gone."""
    key = attachment.thumbnail_key if thumbnail else attachment.storage_key
    try:
        return _blocking(storage().read, key)
    except KeyError:
        raise not_found() from None


# ---- naming attachments in a message ----

def for_message(session_id, ids, sender_type, sender_id):
    """The attachments a new message names, as its payload lists them: each must be of this chat,
    uploaded by the same sender, and in no other message; else `attach_again`. The message
    store claims them for good in the message's transaction (message_store.claim_attachments)."""
    found = db.session.execute(select(Attachment).where(Attachment.id.in_(ids))).scalars().all()
    by_id = {attachment.id: attachment for attachment in found}
    listed = []
    for attachment_id in ids:
        attachment = by_id.get(attachment_id)
        if (attachment is None or attachment.session_id != session_id or attachment.message_id is not None
                or attachment.uploaded_by_type != sender_type
                or (sender_type == "agent" and attachment.uploaded_by_id != sender_id)):
            raise attach_again()
        listed.append(attachment.to_dict())
    return listed


# ---- fetching ----

def find(attachment_id):
    """(attachment, whether its message is a private note) or (None, None)."""
    if not isinstance(attachment_id, str) or not 1 <= len(attachment_id) <= 36:
        return None, None
    row = db.session.execute(
        select(Attachment, Message.private).outerjoin(Message, Message.id == Attachment.message_id)
        .where(Attachment.id == attachment_id)).first()
    return (row[0], bool(row[1])) if row is not None else (None, None)


def visible_to_visitor(session_id, ids):
    """Those of `ids` the chat's visitor may fetch: of its chat, and sent in a public message
    or uploaded by the visitor (not yet sent). A private note's files never are."""
    rows = db.session.execute(
        select(Attachment, Message.private).outerjoin(Message, Message.id == Attachment.message_id)
        .where(Attachment.id.in_(ids), Attachment.session_id == session_id)).all()
    from . import access
    return [attachment for attachment, private in rows if access.visitor_may_fetch(attachment, private)]


def _serializer():
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="attachment-link")


def link(attachment, seconds=LINK_SECONDS):
    """A visitor's signed link to a file and its thumbnail, good for `seconds` (LINK_SECONDS for
    the widget, PHONE_LINK_SECONDS for a phone)."""
    token = _serializer().dumps([attachment.id, attachment.session_id, min(seconds, PHONE_LINK_SECONDS)])
    return {"url": f"/attachments/{attachment.id}?token={token}",
            "thumbnail_url": f"/attachments/{attachment.id}/thumbnail?token={token}"
            if attachment.has_thumbnail else None}


def attachment_for_link(attachment_id, token):
    """The attachment a visitor's token opens (still visible to the visitor), else not_found."""
    try:
        signed, signed_at = _serializer().loads(token, max_age=PHONE_LINK_SECONDS, return_timestamp=True)
        signed_id, session_id, seconds = signed
        if (utcnow() - signed_at.replace(tzinfo=None)).total_seconds() > seconds:
            raise BadSignature("expired")
    except (BadSignature, TypeError, ValueError):
        raise not_found() from None
    attachment, private = find(attachment_id)
    from . import access
    if (attachment is None or signed_id != attachment.id or session_id != attachment.session_id
            or not access.visitor_may_fetch(attachment, private)):
        raise not_found()
    return attachment


def is_inline(content_type):
    return content_type in INLINE_TYPES


# ---- deleting ----

DRAFTS_PER_SWEEP = 500


def delete_unsent(cutoff):
    """Files uploaded before `cutoff` that no message named (abandoned drafts): their rows, then
    their files. A message naming one meanwhile finds it gone (attach_again). Returns their ids."""
    ids = db.session.execute(select(Attachment.id).where(Attachment.message_id.is_(None),
                                                         Attachment.created_at <= cutoff)
                             .limit(DRAFTS_PER_SWEEP)).scalars().all()
    if not ids:
        return []
    gone = db.session.execute(
        delete(Attachment).where(Attachment.id.in_(ids), Attachment.message_id.is_(None))
        .returning(Attachment.id, Attachment.session_id, Attachment.thumbnail_type)
        .execution_options(synchronize_session=False)).all()
    db.session.commit()
    keys = []
    for attachment_id, session_id, thumbnail_type in gone:
        keys.append(f"{session_id}/{attachment_id}")
        if thumbnail_type is not None:
            keys.append(f"{session_id}/{attachment_id}/thumb")
    delete_files(keys)
    return [attachment_id for attachment_id, _, _ in gone]


def delete_files_of(session_ids):
    """Delete the stored files of these chats' attachments (before the chats are deleted: their
    rows go with them, ON DELETE CASCADE). No retention rule deletes chats yet; one that does
    calls this first."""
    found = db.session.execute(select(Attachment).where(Attachment.session_id.in_(list(session_ids)))).scalars().all()
    keys = []
    for attachment in found:
        keys.append(attachment.storage_key)
        if attachment.has_thumbnail:
            keys.append(attachment.thumbnail_key)
    delete_files(keys)
    return len(found)
