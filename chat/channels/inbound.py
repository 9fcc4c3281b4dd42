"""A customer's message from a phone (WhatsApp, LINE), as its channel parsed it, into a chat.

The contact is the site's Visitor for (channel, contact id), made once; its open chat is found
or started (the bot greets a new one with the menu, as on the widget); the files are fetched
from the provider into attachment storage; and the message takes the widget's own path,
`messages.receive` (stored once per provider id, the end words, the bot, the agents). While the
chat waits for an agent, the customer hears so now and then. Also here: showing the customer
that an answer is being written (`show_writing_soon`).
"""
import hashlib
import io
import logging
import threading
import time
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm.attributes import set_committed_value

from .. import attachments, messages, sessions
from ..bot.rules import MENU_WORDS, words_of
from ..errors import ChatError, session_closed
from ..extensions import db, socketio
from ..models import OPEN_STATUSES, ChannelAccount, ChatSession, Message, Visitor, utcnow
from . import SendError, channel_named, channel_of, events, words
from .events import insert_new

log = logging.getLogger(__name__)

WAIT_TEXT = words.WAIT
# A chat's first message that only greets: the greeting's menu is the answer (one menu, not two).
GREETING_WORDS = frozenset({"hi", "hello", "hey", "hi there", "hello there", "good morning", "good afternoon",
                            "good evening"})
PROVIDER_NAMES = {"whatsapp": "WhatsApp", "line": "LINE"}
KIND_WORDS = {"image": "a photo", "video": "a video", "audio": "an audio message", "document": "a document"}
CLIENT_ID_LENGTH = 64          # message.client_id; longer provider ids are stored as a digest
DIGEST = "sha256:"
WRITING_EVERY_SECONDS = 20     # a chat's customer is shown "writing..." at most this often
_guard = threading.Lock()


@dataclass
class Download:
    """A fetched file as attachments.accept reads an upload."""
    stream: io.BytesIO
    filename: str


def receive(account, incoming, now=None):
    """Take one customer message (an Incoming) that came to `account`: returns the stored
    Message, or None when nothing was stored (an end word with no chat open; a file alone that
    could not be kept, which leaves a line for the agent). Runs in a background task."""
    now = now or utcnow()
    client_id = client_id_of(incoming.event_id)
    visitor = contact_visitor(account, incoming, now)
    stored = stored_before(visitor.id, client_id)
    if stored is not None:              # handled before (the sweep, after a server died)
        return stored
    for last_try in (False, True):
        chat = open_chat_of(visitor.id)
        started = chat is None
        if started:
            if messages.is_end_word(incoming.text) and not incoming.media:
                log.info("an end word with no chat open channel=%s visitor=%s", account.channel, visitor.id)
                return None
            chat, _key = sessions.start_session(account.site, visitor=visitor, channel=account.channel)
        try:
            return take_message(account, incoming, chat, visitor, client_id, started, now)
        except ClosedMeanwhile:
            # The chat ended (it expired, an agent ended it) between the look and the store.
            if last_try:
                raise session_closed() from None


class ClosedMeanwhile(Exception):
    """The chat a message was for ended before the message was stored: it goes to a new one."""


def take_message(account, incoming, chat, visitor, client_id, started, now):
    """Store the message in `chat`, with its files, and the lines the agent needs."""
    session_id, waiting, visitor_id, name = chat.id, chat.status == "waiting", visitor.id, visitor.name
    attachment_ids, problems = fetch_files(account, chat, visitor_id, incoming.media)
    message = None
    if incoming.text or attachment_ids:
        try:
            message = messages.receive(messages.Inbound(
                session_id, incoming.text, client_id, sender_name=name, channel=account.channel,
                button_id=incoming.button_id, attachment_ids=tuple(attachment_ids),
                greeted=started and only_greets(incoming.text)))
        except ChatError as error:
            if error.code == "session_closed":
                raise ClosedMeanwhile() from None
            raise
    for number, line in enumerate(problems):
        try:
            messages.post_system(session_id, line, client_id=client_id_of(f"{incoming.event_id}:file:{number}"))
        except ChatError as error:
            if error.code != "session_closed":       # the message was an end word: the chat is over
                raise
    if waiting:
        tell_to_wait(session_id, now)
    return message


_digested = {}          # client_id -> the provider's id it digests (this process's recent ones)


def client_id_of(event_id):
    """The stored message's client_id: the provider's id (a redelivery stores nothing new), or a
    digest of it when it is longer than the column (WhatsApp's ids can be)."""
    if len(event_id) <= CLIENT_ID_LENGTH:
        return event_id
    client_id = DIGEST + hashlib.sha256(event_id.encode("utf-8")).hexdigest()[:CLIENT_ID_LENGTH - len(DIGEST)]
    with _guard:
        if len(_digested) > 10000:
            _digested.clear()
        _digested[client_id] = event_id
    return client_id


def provider_id_of(client_id):
    """The provider's id of a stored customer message, when known (see client_id_of)."""
    if client_id and client_id.startswith(DIGEST):
        return _digested.get(client_id)
    return client_id


def only_greets(text):
    """Whether a message is only a greeting or asks for the menu ("hi", "Hello!", "menu")."""
    said = words_of(text or "")
    return said in MENU_WORDS or said in GREETING_WORDS


# ---- the contact and its chat

def contact_visitor(account, incoming, now):
    """The site's Visitor for this contact, made on its first message (once, whatever races:
    the unique (site, channel, contact id)); its name, the time it last wrote (WhatsApp's
    24-hour window runs from it) and LINE's reply token kept fresh. Committed."""
    site_id, channel, contact = account.site_id, account.channel, incoming.contact
    name = (contact.name or "").strip()[:80] or None
    this_contact = select(Visitor).where(Visitor.site_id == site_id, Visitor.channel == channel,
                                         Visitor.external_id == contact.external_id
                                         ).execution_options(populate_existing=True)
    visitor = db.session.execute(this_contact).scalar_one_or_none()
    if visitor is None:                 # its first message: made once, whoever else makes it meanwhile
        db.session.execute(
            insert_new(Visitor).values(site_id=site_id, channel=channel, external_id=contact.external_id,
                                       name=name, created_at=now)
            .on_conflict_do_nothing(index_elements=["site_id", "channel", "external_id"]))
        visitor = db.session.execute(this_contact).scalar_one()
    if name and visitor.name != name:
        visitor.name = name
    if visitor.last_inbound_at is None or incoming.sent_at > visitor.last_inbound_at:
        visitor.last_inbound_at = incoming.sent_at
    if incoming.reply_token:
        token_at = min(incoming.sent_at, now)
        if visitor.reply_token_at is None or token_at >= visitor.reply_token_at:
            visitor.reply_token, visitor.reply_token_at = incoming.reply_token, token_at
    kept = {"id": visitor.id, "name": visitor.name}
    db.session.commit()
    # What the message's handling reads of it, without a read back of the whole row.
    for key, value in kept.items():
        set_committed_value(visitor, key, value)
    return visitor


def stored_before(visitor_id, client_id):
    """The contact's message already stored with this client_id, in any of its chats."""
    return db.session.execute(
        select(Message).join(ChatSession, Message.session_id == ChatSession.id)
        .where(ChatSession.visitor_id == visitor_id, Message.client_id == client_id)
    ).scalars().first()


def open_chat_of(visitor_id):
    """The contact's open chat (the newest, should there be two), or None."""
    return db.session.execute(
        select(ChatSession).where(ChatSession.visitor_id == visitor_id, ChatSession.status.in_(OPEN_STATUSES))
        .order_by(ChatSession.started_at.desc()).limit(1).execution_options(populate_existing=True)
    ).scalar_one_or_none()


# ---- files

def fetch_files(account, chat, visitor_id, media):
    """Fetch each Media from the provider and keep it as the visitor's attachment of `chat`.
    Returns (attachment ids, lines for the agent about the files that could not be kept): a
    refused file never loses the message's words."""
    ids, problems = [], []
    if not media:
        return ids, problems
    channel = channel_named(account.channel)
    provider = PROVIDER_NAMES.get(account.channel, account.channel)
    for item in media:
        what = KIND_WORDS.get(item.kind, "a file")
        try:
            with events.waiting_on_provider():
                data, content_type, filename = channel.download(account, item)
        except SendError as error:
            log.warning("a customer's file could not be fetched channel=%s media=%s: %s", account.channel,
                        item.provider_id, error)
            problems.append(f"The customer sent {what} that could not be fetched from {provider} ({error.text}).")
            continue
        except Exception:
            log.exception("a customer's file could not be fetched channel=%s media=%s", account.channel,
                          item.provider_id)
            problems.append(f"The customer sent {what} that could not be fetched from {provider}.")
            continue
        upload = Download(io.BytesIO(data), item.filename or filename or item.kind)
        try:
            attachment = attachments.accept(upload, chat, attachments.Uploader("visitor", visitor_id))
        except ChatError as error:
            problems.append(refused_file_line(what, error))
            continue
        ids.append(attachment.id)
    return ids, problems


def refused_file_line(what, error):
    """What the agent reads about a customer's file the site did not keep."""
    if error.code == "file_type_not_allowed":
        return f"The customer sent {what} this site does not accept."
    if error.code == "file_too_large":
        return f"The customer sent {what} larger than {current_app.config['MAX_UPLOAD_MB']} MB; it was not kept."
    if error.code == "upload_limit":
        return f"The customer sent {what}, but this chat has reached its hourly limit of files; it was not kept."
    return f"The customer sent {what} that could not be kept: {error.message}"


# ---- while the chat waits

def tell_to_wait(session_id, now):
    """A customer who writes while the chat waits for an agent hears WAIT_TEXT, at most once
    every WAIT_NOTICE_MINUTES (a system line with the event "wait", which the outbox delivers).
    Returns the notice, or None."""
    status, offline = db.session.execute(
        select(ChatSession.status, ChatSession.offline).where(ChatSession.id == session_id)).one()
    if status != "waiting" or offline:      # offline: the customer was told nobody is there now
        return None
    last = db.session.execute(
        select(Message.created_at).where(Message.session_id == session_id, Message.sender_type == "system",
                                         Message.extras == messages.event_extras("wait", {}))
        .order_by(Message.seq.desc()).limit(1)
    ).scalar()
    if last is not None and now - last < timedelta(minutes=current_app.config["WAIT_NOTICE_MINUTES"]):
        return None
    return messages.post_system(session_id, WAIT_TEXT, event="wait")


# ---- "writing..." on the customer's phone

_writing_shown = {}     # session id -> when this process last showed it (monotonic)


def show_writing_soon(session_id, now=None):
    """In a phone's chat, show the customer that an answer is being written (WhatsApp's typing
    indicator, LINE's loading animation), at most once every WRITING_EVERY_SECONDS per chat, in
    a background task. The bot calls it as it starts an answer, an agent's typing too. Returns
    whether it was asked for."""
    if channel_of(session_id) in (None, "web"):
        return False
    now = time.monotonic() if now is None else now
    with _guard:
        if now - _writing_shown.get(session_id, float("-inf")) < WRITING_EVERY_SECONDS:
            return False
        if len(_writing_shown) > 10000:
            for key in [key for key, at in _writing_shown.items() if now - at >= WRITING_EVERY_SECONDS]:
                del _writing_shown[key]
        _writing_shown[session_id] = now
    socketio.start_background_task(_show_writing_in_app, current_app._get_current_object(), session_id)
    return True


def _show_writing_in_app(app, session_id):
    with app.app_context():
        try:
            show_writing(session_id)
        except Exception:
            log.exception("showing the customer an answer is being written failed session=%s", session_id)
        finally:
            db.session.remove()


def show_writing(session_id):
    """Ask the chat's channel to show "writing..." for the customer's last message."""
    chat = db.session.get(ChatSession, session_id)
    channel = channel_named(chat.channel) if chat is not None else None
    if channel is None or not chat.is_open:
        return
    account = db.session.execute(
        select(ChannelAccount).where(ChannelAccount.site_id == chat.site_id, ChannelAccount.channel == chat.channel,
                                     ChannelAccount.active.is_(True))
    ).scalar_one_or_none()
    if account is None:
        return
    last_client_id = db.session.execute(
        select(Message.client_id).where(Message.session_id == session_id, Message.sender_type == "visitor")
        .order_by(Message.seq.desc()).limit(1)
    ).scalar()
    channel.show_writing(account, chat.visitor, provider_id_of(last_client_id))
