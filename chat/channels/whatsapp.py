"""WhatsApp Cloud API: the webhook (Meta's GET verification, signed POSTs kept as ChannelEvent
rows before the 200), what each kept event means (a customer's message for `inbound.receive`,
a delivery status for `delivery.record_status`), sending our messages, and the 24-hour
customer-service window. The Graph calls themselves are in whatsapp_api.py; the agent's
template picker in whatsapp_views.py; how one of our messages becomes WhatsApp messages in
whatsapp_send.py. docs/architecture.md ("WhatsApp") tells the whole path.
"""
import functools
import hashlib
import hmac
import json
import logging
from datetime import datetime, timedelta, timezone

from flask import Blueprint, current_app, request
from limits import parse
from sqlalchemy import select

from . import Channel, Contact, Incoming, Media, Sent, SendError, register
from . import accounts, whatsapp_api as api
from ..errors import ChatError
from ..extensions import csrf, db, limiter
from ..models import OPEN_STATUSES, ChannelAccount, ChannelEvent, ChatSession, Visitor, utcnow

log = logging.getLogger(__name__)

bp = Blueprint("whatsapp", __name__)
NAME = "whatsapp"
MAX_WEBHOOK_BYTES = 1024 * 1024
MAX_MEDIA_BYTES = 100 * 1024 * 1024
WINDOW = timedelta(hours=24)
UNSUPPORTED_TEXT = "The customer sent a message type WhatsApp does not pass on."
STATES = {"sent": "sent", "delivered": "delivered", "read": "read", "played": "read", "failed": "failed"}


# ---- the webhook ----

def signature_matches(secret, body, header):
    """X-Hub-Signature-256: "sha256=" and the hex HMAC-SHA256 of the raw body under the app secret."""
    if not secret or not header or not header.startswith("sha256="):
        return False
    expected = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header[len("sha256="):].strip().lower())


def active_accounts():
    return db.session.execute(select(ChannelAccount).where(ChannelAccount.channel == NAME,
                                                           ChannelAccount.active.is_(True))).scalars().all()


@bp.get("/channels/whatsapp/webhook")
def verify_webhook():
    """Meta's subscription check: the challenge back when the verify token is one of ours."""
    args = request.args
    token = args.get("hub.verify_token", "")
    known = False
    for account in active_accounts():
        # Every token is compared, in constant time, whatever matched before.
        known |= bool(account.verify_token) and hmac.compare_digest(account.verify_token.encode(), token.encode())
    if args.get("hub.mode") == "subscribe" and known and token:
        return args.get("hub.challenge", ""), 200, {"Content-Type": "text/plain"}
    return "Forbidden", 403, {"Content-Type": "text/plain"}


@bp.post("/channels/whatsapp/webhook")
@csrf.exempt
def receive_webhook():
    """A signed POST from Meta: kept once, answered at once, handled in the background."""
    body = raw_body(MAX_WEBHOOK_BYTES)
    if body is None:
        return "Too large", 413
    try:
        envelope = json.loads(body)
    except ValueError:
        return "Not JSON", 400
    by_number = accounts_of(envelope)
    header = request.headers.get("X-Hub-Signature-256")
    if not by_number:
        # No message or status of a number (a template's review, another field of the app):
        # signed by one of our apps, it is answered and nothing is kept.
        return other_fields(envelope, body, header)
    if not all(account is not None and signature_matches(account.signing_secret, body, header)
               for account in by_number.values()):
        log.warning("whatsapp webhook refused: unknown number or bad signature")
        return "Forbidden", 403
    learn_business_accounts(envelope, by_number)
    for account in by_number.values():
        if not within_rate(account):
            return "Too many requests", 429
    from . import events
    kept = []
    for account, rows in events_of(envelope, by_number):
        kept.extend(events.keep(account, rows))
    if kept:
        events.process_soon(current_app._get_current_object(), kept)
    return "OK", 200


def other_fields(envelope, body, header):
    """A webhook with no messages or statuses, signed by the app of one of our accounts: 200.
    A template's review (`message_template_status_update`) makes its business account's
    templates sync again when the picker next opens."""
    signed_by = [account for account in active_accounts() if signature_matches(account.signing_secret, body, header)]
    if not signed_by:
        return "Forbidden", 403
    reviewed = {str(entry.get("id")) for entry in entries(envelope)
                if any(isinstance(change, dict) and change.get("field") == "message_template_status_update"
                       for change in entry.get("changes") or ())}
    for account in signed_by:
        if account.business_account_id in reviewed:
            account.templates_synced_at = None
    db.session.commit()
    return "OK", 200


def raw_body(limit):
    """The request's bytes, or None past `limit` (a chunked body is read no further than that)."""
    if request.content_length is not None and request.content_length > limit:
        return None
    data = request.stream.read(limit + 1)
    return None if len(data) > limit else data


def accounts_of(envelope):
    """{phone_number_id: its active account (accounts.WebhookAccount) or None} for every number
    the body names."""
    numbers = {str((value.get("metadata") or {}).get("phone_number_id") or "")
               for entry in entries(envelope) for value in values(entry)}
    if not numbers or "" in numbers or any(len(number) > 64 for number in numbers):
        return {}
    return {number: accounts.webhook_account(NAME, number) for number in numbers}


def learn_business_accounts(envelope, by_number):
    """A signed webhook names the business account (entry.id) of its numbers: kept for the
    templates when the account was connected without it."""
    for entry in entries(envelope):
        waba = str(entry.get("id") or "")[:64]
        for value in values(entry):
            account = by_number[str(value["metadata"]["phone_number_id"])]
            if waba and not account.business_account_id:
                accounts.learn_business_account(account, waba)


def entries(envelope):
    if not isinstance(envelope, dict) or envelope.get("object") != "whatsapp_business_account":
        return []
    return [entry for entry in envelope.get("entry") or () if isinstance(entry, dict)]


def values(entry):
    return [change["value"] for change in entry.get("changes") or ()
            if isinstance(change, dict) and change.get("field") == "messages" and isinstance(change.get("value"), dict)]


def within_rate(account):
    """Generous per-account cap (WHATSAPP_WEBHOOK_LIMIT, shared by the processes through the
    limiter's storage): Meta retries a 429 later."""
    return limiter.limiter.hit(parsed_rate(current_app.config["WHATSAPP_WEBHOOK_LIMIT"]), "whatsapp-webhook",
                               str(account.id))


@functools.lru_cache(maxsize=8)
def parsed_rate(text):
    return parse(text)


def events_of(envelope, by_number):
    """[(account, [ChannelEvent])]: each message (its wamid) and each status (wamid:status)."""
    grouped, seen = {}, set()
    for entry in entries(envelope):
        for value in values(entry):
            account = by_number[str(value["metadata"]["phone_number_id"])]
            names = {contact.get("wa_id"): contact for contact in value.get("contacts") or () if isinstance(contact, dict)}
            rows = grouped.setdefault(account.id, (account, []))[1]
            for message in value.get("messages") or ():
                event_id, contact = str(message.get("id") or ""), str(message.get("from") or "")
                if not (0 < len(event_id) <= 128 and 0 < len(contact) <= 64) or event_id in seen:
                    continue
                seen.add(event_id)
                profile = names.get(contact) or {}
                payload = {"message": message, "name": (profile.get("profile") or {}).get("name"),
                           "user_id": profile.get("user_id")}
                rows.append(ChannelEvent(channel=NAME, event_id=event_id, account_id=account.id, kind="message",
                                         contact=contact, payload=json.dumps(payload)))
            for status in value.get("statuses") or ():
                event_id = f"{status.get('id')}:{status.get('status')}"
                if not status.get("id") or len(event_id) > 128 or event_id in seen:
                    continue
                seen.add(event_id)
                rows.append(ChannelEvent(channel=NAME, event_id=event_id, account_id=account.id, kind="status",
                                         contact=str(status.get("recipient_id") or "")[:64] or None,
                                         payload=json.dumps(status)))
            for error in value.get("errors") or ():
                log.warning("whatsapp reported an error for account %s: %s %s", account.id,
                            error.get("code"), error.get("title"))
    return [pair for pair in grouped.values() if pair[1]]


# ---- what a kept event means ----

def sent_at(message):
    try:
        return datetime.fromtimestamp(int(message.get("timestamp")), timezone.utc).replace(tzinfo=None)
    except (TypeError, ValueError, OverflowError):
        return utcnow()


def incoming_of(payload):
    """The Incoming a kept message event stands for, and whether WhatsApp passed it on
    (False: an unsupported type, for which the agent gets a line). (None, True) for what
    is no message (a reaction)."""
    message, name = payload["message"], payload.get("name")
    kind = message.get("type")
    text, button_id, media = "", None, ()
    if kind == "text":
        text = (message.get("text") or {}).get("body") or ""
    elif kind == "interactive":
        interactive = message.get("interactive") or {}
        reply = interactive.get(interactive.get("type")) or {}
        if interactive.get("type") not in ("button_reply", "list_reply"):
            return base(message, name, ""), False
        text, button_id = reply.get("title") or "", reply.get("id")
    elif kind == "button":
        text, button_id = (message.get("button") or {}).get("text") or "", (message.get("button") or {}).get("payload")
    elif kind in ("image", "document", "audio", "video", "sticker"):
        item = message.get(kind) or {}
        text = item.get("caption") or ""
        media = (Media(kind="image" if kind == "sticker" else kind, provider_id=str(item.get("id")),
                       content_type=item.get("mime_type"), sha256=item.get("sha256"), filename=item.get("filename")),)
    elif kind == "location":
        where = message.get("location") or {}
        place = ", ".join(part for part in (where.get("name"), where.get("address")) if part)
        text = f"📍 {place + ' ' if place else ''}({where.get('latitude')}, {where.get('longitude')})"
    elif kind == "contacts":
        cards = [(card.get("name") or {}).get("formatted_name", "") + "".join(
            f" {phone.get('phone')}" for phone in card.get("phones") or ()) for card in message.get("contacts") or ()]
        text = "Contact: " + "; ".join(card.strip() for card in cards if card.strip())
    elif kind == "reaction":
        return None, True
    else:
        return base(message, name, ""), False
    return base(message, name, text, button_id, media), True


def base(message, name, text, button_id=None, media=()):
    return Incoming(event_id=str(message["id"]), contact=Contact(str(message["from"]), (name or None) and name[:80]),
                    text=text, sent_at=sent_at(message), button_id=button_id and str(button_id)[:256], media=media)


def status_of(status):
    """(state, error code, error sentence, needs_template) of a status event, or None to ignore."""
    state = STATES.get(status.get("status"))
    if state is None:
        return None
    if state != "failed":
        return state, None, None, False
    error = (status.get("errors") or [{}])[0]
    code = error.get("code")
    text = api.sentence_for(code, error.get("title") or error.get("message"),
                            (error.get("error_data") or {}).get("details"))
    return state, str(code) if code is not None else None, text, code == api.RE_ENGAGEMENT


class WhatsApp(Channel):
    """The WhatsApp channel (registered as CHANNEL)."""

    @property
    def sends_per_second(self):
        try:
            return float(current_app.config["WHATSAPP_SENDS_PER_SECOND"])
        except RuntimeError:            # no app context: the default throughput
            return 80.0

    @sends_per_second.setter
    def sends_per_second(self, value):
        pass

    def handle(self, account, event):
        payload = json.loads(event.payload)
        if event.kind == "status":
            found = status_of(payload)
            if found is not None:
                from . import delivery
                state, code, text, needs_template = found
                delivery.record_status(NAME, payload["id"], state, error_code=code, error_text=text,
                                       needs_template=needs_template)
            return
        if event.kind != "message":
            return
        incoming, passed_on = incoming_of(payload)
        if incoming is None:
            log.debug("whatsapp reaction from %s ignored", event.contact)
            return
        from . import inbound
        message = inbound.receive(account, incoming)
        if not passed_on:
            # Nothing of the customer's is stored (no words, no file): the agent gets a line.
            found = open_chat_id(account, incoming.contact.external_id)
            if found is not None:
                from .. import messages
                messages.post_system(found, UNSUPPORTED_TEXT,
                                     client_id=inbound.client_id_of(f"{incoming.event_id}:unsupported"))
        return message

    def send(self, account, row, message):
        from .whatsapp_send import send_message
        return Sent(send_message(account, row.recipient, message))

    def download(self, account, media):
        limit = min(MAX_MEDIA_BYTES, current_app.config["MAX_UPLOAD_MB"] * 1024 * 1024)
        data, content_type, given_sha256 = api.fetch_media(account, media.provider_id, limit)
        if not api.matches_sha256(data, media.sha256 or given_sha256):
            raise SendError("sha256", "The customer's file arrived damaged (its checksum does not match).")
        return data, content_type or media.content_type, media.filename or default_name(media)

    def show_writing(self, account, visitor, last_event_id):
        if not last_event_id:
            return
        try:
            api.call(account, "POST", f"{account.external_id}/messages",
                     json={"messaging_product": "whatsapp", "status": "read", "message_id": last_event_id,
                           "typing_indicator": {"type": "text"}})
        except Exception as error:          # best effort: the answer itself still goes
            log.debug("whatsapp typing indicator failed: %s", error)

    def window_closes_at(self, visitor):
        """When free text stops being sent: the 24-hour customer-service window runs from the
        customer's last message, and is taken to close WINDOW_MARGIN_MINUTES early (WhatsApp's
        clock and ours differ, and a send takes time). None: the customer never wrote."""
        if visitor is None or not visitor.last_inbound_at:
            return None
        return visitor.last_inbound_at + WINDOW - timedelta(minutes=current_app.config["WINDOW_MARGIN_MINUTES"])

    def require_free_text(self, chat, now=None):
        require_open_window(chat, now)

    def describe_account(self, fields):
        """{external_id, display_name} of the number being connected, or SendError with a sentence."""
        number = fields.get("phone_number_id") or fields.get("external_id")
        return api.describe(fields.get("api_base") or api.DEFAULT_API_BASE, number, fields.get("access_token"))

    def after_connect(self, account):
        """The approved templates, at once when the business account is known (else the picker
        syncs them once a customer's message has named it)."""
        if account.business_account_id:
            try:
                sync_templates(account)
            except SendError as error:
                log.info("templates not synced on connect account=%s: %s", account.id, error.code)


def window_is_open(visitor, now=None):
    """Whether free text may still go to this contact."""
    closes_at = CHANNEL.window_closes_at(visitor)
    return closes_at is not None and (now or utcnow()) < closes_at


def require_open_window(chat, now=None):
    """The one rule for an agent's free text in a WhatsApp chat (messages.post_agent; `chat` is
    a ChatSession or the facts a socket event read, access.ChatFacts)."""
    visitor = getattr(chat, "visitor", None) or db.session.execute(
        select(Visitor).join(ChatSession, ChatSession.visitor_id == Visitor.id).where(ChatSession.id == chat.id)
    ).scalar_one_or_none()
    if not window_is_open(visitor, now):
        raise ChatError("window_closed", api.WINDOW_CLOSED_TEXT)


def open_chat_id(account, contact_id):
    """The id of the contact's open chat (inbound.receive has just started one if none was)."""
    return db.session.execute(
        select(ChatSession.id).join(Visitor, ChatSession.visitor_id == Visitor.id)
        .where(Visitor.site_id == account.site_id, Visitor.channel == NAME, Visitor.external_id == contact_id,
               ChatSession.status.in_(OPEN_STATUSES))
        .order_by(ChatSession.started_at.desc()).limit(1)).scalar()


def default_name(media):
    extension = {"image": "jpg", "video": "mp4", "audio": "ogg", "document": "bin"}.get(media.kind, "bin")
    return f"whatsapp-{media.kind}.{extension}"


# ---- templates ----

def sync_templates(account):
    """Copy the business account's approved templates into account.templates (SendError with a
    sentence when WhatsApp cannot be asked)."""
    if not account.business_account_id:
        raise SendError("no_business_account", "WhatsApp's business account id is not known yet: give it when "
                                               "connecting, or it is learned from the first message a customer sends.")
    account.templates = json.dumps(api.approved_templates(account))
    account.templates_synced_at = utcnow()
    db.session.commit()
    return templates_of(account)


def templates_of(account):
    return json.loads(account.templates) if account.templates else []


def template_named(account, name, language):
    return next((t for t in templates_of(account) if t["name"] == name and t["language"] == language), None)


def account_of_site(site_id):
    return db.session.execute(select(ChannelAccount).where(
        ChannelAccount.site_id == site_id, ChannelAccount.channel == NAME,
        ChannelAccount.active.is_(True))).scalar_one_or_none()


CHANNEL = register(WhatsApp(name=NAME, blueprint=bp))

from . import whatsapp_views  # noqa: E402,F401  (the template picker's routes, on this blueprint)
