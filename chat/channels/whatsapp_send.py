"""How one stored message goes to a phone as WhatsApp messages (WhatsApp.send): a template; the
words with their links; each file uploaded and sent, the words as the last one's caption; the
bot's buttons as reply buttons or a list; text too long for one message in several."""
import json

from flask import current_app

from . import SendError
from . import whatsapp_api as api
from ..extensions import db

# Kinds of file WhatsApp sends as what they are; anything else goes as a document.
SENDABLE_AS = {
    "image": {"image/jpeg", "image/png"},
    "video": {"video/mp4", "video/3gpp"},
    "audio": {"audio/aac", "audio/amr", "audio/mpeg", "audio/mp4", "audio/ogg"},
}


def send_message(account, to, message):
    """Send one stored message as one WhatsApp message where it can (a template; text; text with
    buttons; a file with the text as its caption). Returns the wamid of the last one sent: the
    one whose statuses the agent sees."""
    extras = json.loads(message.extras) if message.extras else {}
    if extras.get("template"):
        return api.send_body(account, api.template_body(to, extras["template"]))
    text = message.text or ""
    text = api.with_links(text, extras.get("links"), current_app.config.get("APP_ORIGIN", ""))
    last = None
    files = files_of(extras.get("attachments") or [])
    for index, found in enumerate(files):
        caption = text if index == len(files) - 1 and text and len(text) <= api.MAX_BODY else None
        last, sent_caption = send_file(account, to, found, caption)
        if sent_caption:
            text = ""
    buttons = [b for b in extras.get("buttons") or () if b.get("id") and b.get("title")]
    if buttons:
        if len(text) > api.MAX_BODY:
            for part in api.text_parts(text):
                api.send_body(account, api.envelope(to, "text", {"body": part, "preview_url": False}))
            text = "Choose an option:"
        return api.send_body(account, api.buttons_body(to, text or "Choose an option:", buttons))
    for part in api.text_parts(text):
        last = api.send_body(account, api.envelope(to, "text", {"body": part, "preview_url": False}))
    if last is None:
        raise SendError("empty", "This message has nothing WhatsApp can show.")
    return last


def files_of(listed):
    """(kind, content type, name, bytes) of a message's files, read before any call to WhatsApp
    so that no database connection is held while it answers."""
    from .. import attachments
    files = []
    for item in listed:
        found, _ = attachments.find(item["id"])
        if found is None:
            raise SendError("file_gone", "The file of this message no longer exists.")
        files.append((found.kind, found.content_type, found.name, attachments.read(found)))
    if files:
        db.session.rollback()
    return files


def send_file(account, to, found, caption):
    """Upload one file and send it; (wamid, whether the caption went with it)."""
    kind, content_type, name, data = found
    kind = kind if content_type in SENDABLE_AS.get(kind, ()) else "document"
    media_id = api.upload(account, data, content_type, name)
    with_caption = caption if kind != "audio" else None
    return api.send_body(account, api.media_body(to, kind, media_id, with_caption, name)), bool(with_caption)
