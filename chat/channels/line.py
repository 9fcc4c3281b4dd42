"""LINE Messaging API: a site's LINE official account as a channel (issue 16, research §2).

In: `POST /channels/line/webhook`, signed by the channel secret (X-Line-Signature: base64 of
HMAC-SHA256 over the raw body). Each event of a user's one-to-one chat is kept once by its
webhookEventId before we answer 200, then handled in the background: text, images and other
files (fetched from the content API), a tapped quick reply (a postback whose data is the
button's id), follow and unfollow. Events in "standby" mode (another bot answers) and group or
room chats are not ours and are dropped.

Out: a message goes as a reply while the user's reply token is fresh (free, single use, about
a minute), else as a push with X-Line-Retry-Key (the outbox row's key: a retried push that LINE
had already accepted answers 409 and is not delivered twice). LINE has no delivery statuses: a
sent message stays "sent". What the requests hold and what LINE's answers mean: line_api.py.
"""
import base64
import hashlib
import hmac
import json
import logging
import re
from datetime import datetime, timedelta, timezone

import requests
from flask import Blueprint, current_app, request
from sqlalchemy import select, update

from ..extensions import csrf, db, limiter
from ..models import OPEN_STATUSES, ChannelEvent, ChatSession, Visitor, utcnow
from . import Channel, Contact, Incoming, Media, SendError, Sent, accounts, register
from .line_api import (
    MAX_POSTBACK_DATA, TIMEOUT, api_base, auth, data_base, failure, first_sent_id, is_invalid_reply_token,
    line_messages, retry_key_for, unreachable, wait_for_transcoding,
)

log = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024                          # a webhook larger than this is refused (413)
WEBHOOK_LIMIT = "100 per second"                # per address: LINE batches events, so this is generous
# A reply token is good for about a minute after LINE made it; we use it only within this
# many seconds of the event, leaving time for the request itself.
REPLY_TOKEN_SECONDS = 50
MESSAGES_PER_REQUEST = 5                        # LINE's limit for one reply or push
LOADING_SECONDS = 20
EVENT_KINDS = ("message", "postback", "follow", "unfollow")
MEDIA_KINDS = {"image": "image", "video": "video", "audio": "audio", "file": "document"}
USER_ID = re.compile(r"^U[0-9a-f]{32}$")
CONTENT_ID = re.compile(r"^[0-9A-Za-z_-]{1,64}$")
BLOCKED_TEXT = "The customer blocked the account; messages will not reach them."
UNBLOCKED_TEXT = "The customer unblocked the account; messages reach them again."

bp = Blueprint("line_channel", __name__)
csrf.exempt(bp)


# ---- the webhook ----

def signature_matches(secret, body, signature):
    """Whether X-Line-Signature is base64(HMAC-SHA256(channel secret, raw body)), in constant time."""
    if not secret or not signature:
        return False
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()
    return hmac.compare_digest(signature.encode("utf-8", "replace"), base64.b64encode(digest))


def account_for(destination):
    """The active LINE account a webhook is for: its `destination` is the bot's user id."""
    if not isinstance(destination, str) or not USER_ID.match(destination):
        return None
    return accounts.webhook_account("line", destination)


@bp.post("/channels/line/webhook")
@limiter.limit(WEBHOOK_LIMIT)
def webhook():
    """LINE's webhook: verify, keep each new event once, answer 200, handle them in the background."""
    if (request.content_length or 0) > MAX_BODY:
        return "The webhook is too large.", 413
    body = request.stream.read(MAX_BODY + 1)
    if len(body) > MAX_BODY:
        return "The webhook is too large.", 413
    try:
        envelope = json.loads(body)
    except ValueError:
        return "The webhook is not JSON.", 400
    if not isinstance(envelope, dict) or not isinstance(envelope.get("events"), list):
        return "The webhook has no events list.", 400
    account = account_for(envelope.get("destination"))
    if account is None and not envelope["events"]:
        return "", 200          # the console's connectivity check, before the account is connected
    if account is None or not signature_matches(account.signing_secret, body,
                                                request.headers.get("X-Line-Signature")):
        log.warning("LINE webhook refused: unknown destination or bad signature")
        return "The signature does not match.", 403
    rows = [row for row in (event_row(account, event) for event in envelope["events"]) if row is not None]
    if rows:
        from . import events
        new = events.keep(account, rows)
        if new:
            events.process_soon(current_app._get_current_object(), new)
    return "", 200


def event_row(account, event):
    """The ChannelEvent to keep for one webhook event, or None for what is not ours to handle."""
    if not isinstance(event, dict) or event.get("type") not in EVENT_KINDS:
        return None
    if event.get("mode") == "standby":
        return None            # another channel's bot answers this chat (module switching)
    source = event.get("source") if isinstance(event.get("source"), dict) else {}
    event_id, user_id = event.get("webhookEventId"), source.get("userId")
    if (source.get("type") != "user" or not isinstance(user_id, str) or not USER_ID.match(user_id)
            or not isinstance(event_id, str) or not 1 <= len(event_id) <= 64):
        return None
    return ChannelEvent(channel="line", event_id=event_id, account_id=account.id, kind=event["type"],
                        contact=user_id, payload=json.dumps(event, separators=(",", ":"), ensure_ascii=False))


# ---- reading events ----

def event_time(event):
    """An event's timestamp (milliseconds) as naive UTC; now when it has none."""
    stamp = event.get("timestamp")
    if not isinstance(stamp, (int, float)):
        return utcnow()
    return datetime.fromtimestamp(stamp / 1000, timezone.utc).replace(tzinfo=None)


def fresh_reply_token(event, now):
    """The event's reply token while it may still be used: not a redelivery (its token is
    stale), and within REPLY_TOKEN_SECONDS of the event."""
    token = event.get("replyToken")
    if not isinstance(token, str) or not 1 <= len(token) <= 64:
        return None
    if (event.get("deliveryContext") or {}).get("isRedelivery"):
        return None
    if now - event_time(event) > timedelta(seconds=REPLY_TOKEN_SECONDS):
        return None
    return token


def incoming_of(event, name=None, button_title=None, now=None):
    """The customer's message in a message or postback event, as an Incoming (None for a
    message we cannot read). `button_title(data)` names a tapped quick reply."""
    user_id = event["source"]["userId"]
    common = dict(event_id=event["webhookEventId"], contact=Contact(user_id, name), sent_at=event_time(event),
                  reply_token=fresh_reply_token(event, now or utcnow()))
    if event["type"] == "postback":
        data = str((event.get("postback") or {}).get("data") or "")[:MAX_POSTBACK_DATA]
        if not data:
            return None
        title = (button_title or (lambda data: None))(data) or data
        return Incoming(text=title, button_id=data, **common)
    message = event.get("message") if isinstance(event.get("message"), dict) else {}
    kind = message.get("type")
    if kind == "text":
        return Incoming(text=str(message.get("text") or ""), **common)
    if kind in MEDIA_KINDS:
        provider = (message.get("contentProvider") or {}).get("type", "line")
        content_id = str(message.get("id") or "")
        if provider != "line" or not CONTENT_ID.match(content_id):
            return Incoming(text=f"({kind})", **common)       # a link to someone else's server: not fetched
        media = Media(kind=MEDIA_KINDS[kind], provider_id=content_id,
                      filename=message.get("fileName") if isinstance(message.get("fileName"), str) else None)
        return Incoming(text="", media=(media,), **common)
    if kind == "location":
        lines = [str(message.get(key)) for key in ("title", "address") if message.get(key)]
        lines.append(f"https://www.google.com/maps?q={message.get('latitude')},{message.get('longitude')}")
        return Incoming(text="📍 " + "\n".join(lines), **common)
    if kind == "sticker":
        return Incoming(text="(sticker)", **common)
    return Incoming(text=f"({str(kind or 'message')[:30]})", **common)


def button_titles(site):
    """{button id: title} of every button the bot offers on this site (a postback names only the id)."""
    from ..bot import rules
    from ..bot.menu import buttons_of, menu_of
    titles = {button["id"]: button["title"] for button in rules.ANSWER_BUTTONS}
    try:
        titles.update({button["id"]: button["title"] for button in buttons_of(menu_of(site))})
    except (KeyError, TypeError, ValueError):
        log.warning("site %s has a bot menu without buttons", site.id)
    return titles


def visitor_of(account, user_id):
    return db.session.execute(select(Visitor).where(
        Visitor.site_id == account.site_id, Visitor.channel == "line", Visitor.external_id == user_id)
    ).scalar_one_or_none()


def open_chat_of(visitor):
    if visitor is None:
        return None
    return db.session.execute(select(ChatSession).where(
        ChatSession.visitor_id == visitor.id, ChatSession.status.in_(OPEN_STATUSES))
        .order_by(ChatSession.started_at.desc()).limit(1)).scalar_one_or_none()


# ---- sending ----

def take_reply_token(account, user_id, now=None):
    """The user's reply token if it is fresh, taken once: a conditional UPDATE clears it, so
    two senders never both use it (commits)."""
    now = now or utcnow()
    found = db.session.execute(select(Visitor.id, Visitor.reply_token, Visitor.reply_token_at).where(
        Visitor.site_id == account.site_id, Visitor.channel == "line", Visitor.external_id == user_id)).first()
    if found is None or not found.reply_token or found.reply_token_at is None:
        return None
    if now - found.reply_token_at > timedelta(seconds=REPLY_TOKEN_SECONDS):
        return None
    taken = db.session.execute(update(Visitor).where(Visitor.id == found.id, Visitor.reply_token == found.reply_token)
                               .values(reply_token=None, reply_token_at=None)
                               .execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    return found.reply_token if taken == 1 else None


class Line(Channel):
    """The LINE Messaging API behind the Channel interface."""

    def post(self, account, path, body, headers=None, timeout=TIMEOUT):
        try:
            return requests.post(api_base(account) + path, json=body, timeout=timeout,
                                 headers={**auth(account.access_token), **(headers or {})})
        except requests.RequestException as error:
            raise unreachable(error) from None

    def reply(self, account, token, objects):
        """Sent, or None when LINE says the token is no longer good (then push)."""
        response = self.post(account, "/v2/bot/message/reply", {"replyToken": token, "messages": objects})
        if is_invalid_reply_token(response):
            log.info("LINE reply token no longer valid; pushing instead")
            return None
        if response.status_code != 200:
            raise failure(response)
        return Sent(first_sent_id(response))

    def push(self, account, user_id, objects, retry_key):
        response = self.post(account, "/v2/bot/message/push", {"to": user_id, "messages": objects},
                             headers={"X-Line-Retry-Key": retry_key})
        if response.status_code == 409:
            # The same retry key was accepted before (a retry after a timeout): sent once, not twice.
            return Sent(response.headers.get("X-Line-Accepted-Request-Id"))
        if response.status_code != 200:
            raise failure(response)
        return Sent(first_sent_id(response))

    def send(self, account, row, message):
        objects = line_messages(message)
        token = take_reply_token(account, row.recipient)
        results = []
        for batch, start in enumerate(range(0, len(objects), MESSAGES_PER_REQUEST)):
            part = objects[start:start + MESSAGES_PER_REQUEST]
            sent = self.reply(account, token, part) if batch == 0 and token else None
            results.append(sent or self.push(account, row.recipient, part, retry_key_for(row.retry_key, batch)))
        return Sent(results[0].provider_message_id)

    def handle(self, account, event):
        data = json.loads(event.payload)
        if event.kind in ("message", "postback"):
            incoming = incoming_of(data, self.name_of(account, event.contact), lambda button_id: button_titles(
                account.site).get(button_id))
            if incoming is not None:
                from . import inbound
                inbound.receive(account, incoming)
        elif event.kind in ("follow", "unfollow"):
            self.note_following(account, event, data)

    def note_following(self, account, event, data):
        """Follow: the profile's name for the visitor we know; nothing is shown unless the customer
        unblocked the account during an open chat. Unfollow (a block): the agent of an open chat
        is told that messages will not reach the customer."""
        from .. import messages
        visitor = visitor_of(account, event.contact)
        if event.kind == "follow" and visitor is not None:
            name = self.profile_name(account, event.contact)
            if name:
                visitor.name = name
                db.session.commit()
        chat = open_chat_of(visitor)
        if chat is None:
            return
        if event.kind == "unfollow":
            messages.post_system(chat.id, BLOCKED_TEXT, client_id=event.event_id)
        elif (data.get("follow") or {}).get("isUnblocked"):
            messages.post_system(chat.id, UNBLOCKED_TEXT, client_id=event.event_id)

    def name_of(self, account, user_id):
        """The customer's name: the one we keep on the visitor, else their LINE profile's."""
        visitor = visitor_of(account, user_id)
        if visitor is not None and visitor.name:
            return visitor.name
        return self.profile_name(account, user_id)

    def profile_name(self, account, user_id):
        """The display name of the user's LINE profile, or None (best effort)."""
        from .events import waiting_on_provider
        try:
            with waiting_on_provider():
                response = requests.get(f"{api_base(account)}/v2/bot/profile/{user_id}", timeout=TIMEOUT,
                                        headers=auth(account.access_token))
            if response.status_code == 200:
                name = response.json().get("displayName")
                return (name.strip()[:80] or None) if isinstance(name, str) else None
            log.info("LINE profile lookup answered %s", response.status_code)
        except (requests.RequestException, ValueError) as error:
            log.info("LINE profile lookup failed: %s", type(error).__name__)
        return None

    def download(self, account, media):
        base, limit = data_base(account), current_app.config["MAX_UPLOAD_MB"] * 1024 * 1024
        url = f"{base}/v2/bot/message/{media.provider_id}/content"
        try:
            if media.kind in ("video", "audio"):
                wait_for_transcoding(url, account.access_token)
            response = requests.get(url, headers=auth(account.access_token), stream=True, timeout=TIMEOUT)
            if response.status_code != 200:
                raise failure(response)
            chunks, total = [], 0
            for chunk in response.iter_content(256 * 1024):
                total += len(chunk)
                if total > limit:
                    response.close()
                    raise SendError("file_too_large", f"The file is larger than {limit // (1024 * 1024)} MB.")
                chunks.append(chunk)
        except requests.RequestException as error:
            raise unreachable(error) from None
        content_type = (response.headers.get("Content-Type") or "").split(";")[0].strip() or None
        return b"".join(chunks), content_type, media.filename or f"line-{media.kind}-{media.provider_id}"

    def show_writing(self, account, visitor, last_event_id):
        try:
            response = self.post(account, "/v2/bot/chat/loading/start",
                                 {"chatId": visitor.external_id, "loadingSeconds": LOADING_SECONDS}, timeout=5)
            if response.status_code != 202:
                log.info("LINE loading animation answered %s", response.status_code)
        except SendError:
            log.info("LINE loading animation not shown: LINE unreachable")

    def describe_account(self, fields):
        """{external_id, display_name} of the bot a channel access token belongs to (GET /v2/bot/info),
        for connecting an account; SendError with a sentence when LINE says no."""
        try:
            response = requests.get(api_base(fields) + "/v2/bot/info", timeout=TIMEOUT,
                                    headers=auth(fields.get("access_token") or ""))
        except requests.RequestException as error:
            raise SendError("network", f"LINE could not be reached at {api_base(fields)} "
                                       f"({type(error).__name__}).") from None
        if response.status_code != 200:
            if response.status_code == 401:
                raise SendError(401, "LINE did not accept this channel access token.")
            raise failure(response)
        try:
            info = response.json()
        except ValueError:
            info = None
        if not isinstance(info, dict) or not isinstance(info.get("userId"), str) or not USER_ID.match(info["userId"]):
            raise SendError("unexpected", "LINE's answer about the bot has no user id.")
        return {"external_id": info["userId"], "display_name": str(info.get("displayName") or "")[:120] or None}


CHANNEL = register(Line(name="line", sends_per_second=500.0, blueprint=bp))
