"""What we send the LINE Messaging API and what its answers mean (chat/channels/line.py uses
it): the addresses (an account's api_base serves both the API and the content host), our stored
messages as LINE message objects, and LINE's refusals as SendError sentences for the agent."""
import json
import time
import uuid

import requests
from flask import current_app

from ..extensions import db
from ..models import Attachment
from ..origins import public_origin
from . import SendError

API_BASE = "https://api.line.me"
DATA_BASE = "https://api-data.line.me"        # file contents
TIMEOUT = 10                                    # seconds for one request to LINE
MAX_TEXT = 5000                                 # one text message
MAX_QUICK_REPLIES = 13
MAX_SENDER_NAME = 20
MAX_POSTBACK_DATA = 300
BOT_NAME = "Assistant"
TRANSCODING_CHECKS = 10


def auth(token):
    return {"Authorization": f"Bearer {token}"}


def api_base(account_or_fields):
    base = (account_or_fields.get("api_base") if isinstance(account_or_fields, dict)
            else account_or_fields.api_base)
    return (base or API_BASE).rstrip("/")


def data_base(account):
    return (account.api_base or DATA_BASE).rstrip("/")


def detail_of(response):
    """LINE's own words for a refusal ({"message": ..., "details": [...]}), short."""
    try:
        body = response.json()
    except ValueError:
        return (response.text or "")[:150]
    if not isinstance(body, dict):
        return ""
    words = str(body.get("message") or "")
    details = body.get("details")
    if isinstance(details, list) and details and isinstance(details[0], dict):
        words += f" ({details[0].get('property', '')}: {details[0].get('message', '')})"
    return words[:200]


def failure(response):
    """The SendError for a refused request: 429 and 5xx may pass (retry), the rest will not."""
    status, detail = response.status_code, detail_of(response)
    if status == 429 and "monthly limit" in detail.lower():
        return SendError(429, "This LINE account has used all the messages its plan allows this month; "
                              "LINE sends no more pushes until the plan is raised or the month ends.")
    if status == 429:
        retry_after = response.headers.get("Retry-After")
        return SendError(429, "LINE asked us to slow down; the message will be sent again shortly.", retry=True,
                         retry_after=float(retry_after) if retry_after and retry_after.isdigit() else None)
    if status >= 500:
        return SendError(status, f"LINE could not take the message ({status}); it will be sent again.", retry=True)
    if status == 401:
        return SendError(401, "LINE refused the channel access token; reconnect the LINE account with a valid one.")
    if status == 403:
        return SendError(403, f"LINE does not allow this account to do this: {detail or 'forbidden'}.")
    return SendError(status, f"LINE refused the message ({status}): {detail or 'no reason given'}.")


def unreachable(error):
    return SendError("network", f"LINE could not be reached ({type(error).__name__}); it will be tried again.",
                     retry=True)


def is_invalid_reply_token(response):
    return response.status_code == 400 and "reply token" in detail_of(response).lower()


def sender_of(message):
    """Who LINE shows as writing: the agent's name, or the bot's; none for system notices. LINE
    refuses names that contain "LINE"."""
    if message.sender_type == "agent":
        name = (message.sender_name or "").strip()[:MAX_SENDER_NAME]
    elif message.sender_type == "bot":
        name = (message.sender_name or BOT_NAME).strip()[:MAX_SENDER_NAME]
    else:
        return None
    return {"name": name} if name and "line" not in name.lower() else None


def public_url(path):
    """An absolute URL of ours that LINE can fetch: under APP_ORIGIN (in development without it,
    where bin/run serves: the fake LINE fetches nothing, the development phone page shows it)."""
    origin = public_origin(current_app.config)
    if not origin:
        raise SendError("no_public_address", "Files cannot be sent on LINE until APP_ORIGIN is set to this "
                                             "server's public address (LINE fetches them from there).")
    return origin + path


def file_objects(listed):
    """LINE message objects and text lines for a message's files: images as image messages (LINE
    fetches them from our signed links), other files as links in the text."""
    from .. import attachments
    images, lines = [], []
    for item in listed:
        attachment = db.session.get(Attachment, item.get("id"))
        if attachment is None:
            continue
        links = attachments.link(attachment, attachments.PHONE_LINK_SECONDS)
        if attachment.kind == "image":
            images.append({"type": "image", "originalContentUrl": public_url(links["url"]),
                           "previewImageUrl": public_url(links["thumbnail_url"] or links["url"])})
        else:
            lines.append(f"📎 {attachment.name}: {public_url(links['url'])}")
    return images, lines


def text_of(message, extras):
    """The words the phone gets (a system line's are the customer's words already, see
    sender.send_taken), with the message's links as "Title: url" lines."""
    lines = [message.text] if message.text else []
    lines += [f"{link.get('title')}: {link.get('url')}" for link in extras.get("links") or []
              if isinstance(link, dict) and link.get("url")]
    return "\n".join(lines)


def line_messages(message):
    """A stored message as LINE message objects: its images, then its text (in pieces of at most
    MAX_TEXT), the bot's buttons as quick replies on the last one, each signed by its sender."""
    extras = json.loads(message.extras) if message.extras else {}
    images, file_lines = file_objects(extras.get("attachments") or [])
    text = "\n".join(part for part in [text_of(message, extras), *file_lines] if part)
    objects = images + [{"type": "text", "text": text[start:start + MAX_TEXT]}
                        for start in range(0, len(text), MAX_TEXT)]
    if not objects:
        raise SendError("empty", "This message has nothing LINE can show.")
    buttons = [button for button in extras.get("buttons") or [] if isinstance(button, dict) and button.get("id")]
    if buttons:
        objects[-1]["quickReply"] = {"items": [
            {"type": "action", "action": {"type": "postback", "label": str(button.get("title") or button["id"])[:20],
                                          "data": str(button["id"])[:MAX_POSTBACK_DATA],
                                          "displayText": str(button.get("title") or button["id"])[:300]}}
            for button in buttons[:MAX_QUICK_REPLIES]]}
    sender = sender_of(message)
    if sender:
        for item in objects:
            item["sender"] = sender
    return objects


def retry_key_for(row_key, batch):
    """The X-Line-Retry-Key of one request of a row: the row's own key for the first, one derived
    from it for the rest (each request of a row keeps its key on every attempt)."""
    return row_key if batch == 0 else str(uuid.uuid5(uuid.UUID(row_key), str(batch)))


def first_sent_id(response):
    try:
        sent = response.json().get("sentMessages") or []
        return str(sent[0]["id"]) if sent else None
    except (ValueError, KeyError, TypeError, AttributeError):
        return None



def wait_for_transcoding(content_url, token):
    """A video or audio file can be fetched once LINE has prepared it: ask until it says so."""
    for _ in range(TRANSCODING_CHECKS):
        response = requests.get(content_url + "/transcoding", headers=auth(token), timeout=TIMEOUT)
        try:
            status = response.json().get("status") if response.status_code == 200 else None
        except (ValueError, AttributeError):
            status = None
        if status == "succeeded":
            return
        if status != "processing":
            raise SendError("transcoding", "LINE could not prepare the customer's file.")
        time.sleep(1)
    raise SendError("transcoding", "LINE took too long to prepare the customer's file.", retry=True)
