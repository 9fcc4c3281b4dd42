"""The one path of every message: what comes in from a visitor on any channel, what agents,
the bot and the system post, and what happens after each is stored.

Every message is committed before anyone hears of it; `after_stored` is the single hook
that runs after the commit (the rooms, the channels' outbox and the bot plug in here).
"""
import json
import logging
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select

from . import access, attachments, message_store, publish, sessions
from .errors import session_closed
from .extensions import db
from .models import ChatSession, Message, files_preview, visitor_label

log = logging.getLogger(__name__)

# A visitor message that is exactly one of these (ignoring case and surrounding spaces)
# ends the chat, whatever the client: WhatsApp and LINE have no End button.
END_WORDS = frozenset({"end chat", "end", "quit", "exit"})
BOT_NAME = "Assistant"


@dataclass(frozen=True)
class Inbound:
    """A visitor's message as any channel hands it over (the channel has already checked
    that the sender may write to this session: the widget's session key, a webhook's signature)."""
    session_id: str
    text: str
    client_id: str | None         # the client's (or the provider's) id: a retry stores nothing new
    sender_name: str | None = None
    channel: str = "web"
    button_id: str | None = None  # the quick-reply button pressed (its title is the text)
    offline_form: bool = False    # sent through the offline form: for the team, not the bot
    attachment_ids: tuple = ()    # files the visitor uploaded to this chat (attachments.accept)
    # A phone's "hi" or "menu" that opened the chat: the greeting's menu answers it, not the bot
    # (one menu, not two; chat/channels/inbound.py).
    greeted: bool = False


def is_end_word(text):
    return text.strip().lower() in END_WORDS


def receive(inbound):
    """Store a visitor's message once; an end word then ends the chat. Returns the message."""
    message = _store(inbound.session_id, "visitor", inbound.text, inbound.client_id,
                     sender_name=visitor_label(inbound.sender_name, inbound.session_id),
                     extras=inbound_extras(inbound), attachment_ids=inbound.attachment_ids)
    if is_end_word(inbound.text):
        chat_session = sessions.find_session(inbound.session_id)
        if chat_session is not None:
            sessions.end_session(chat_session, "visitor")
    return message


def inbound_extras(inbound):
    extras = {"button": inbound.button_id} if inbound.button_id else {}
    if inbound.offline_form:
        extras["form"] = "offline"
    if inbound.greeted:
        extras["greeted"] = True      # not in EXTRA_KEYS: no client is told
    return json.dumps(extras) if extras else None


def for_the_bot(message, chat_status):
    """A visitor's message the bot answers: in a chat that is `bot`, with words (not files alone),
    neither an end word, nor one sent through the offline form, nor a phone's greeting the menu
    answered already."""
    if chat_status != "bot" or message.sender_type != "visitor" or not message.text or is_end_word(message.text):
        return False
    extras = json.loads(message.extras) if message.extras else {}
    return "form" not in extras and not extras.get("greeted")


def post_agent(chat, agent, text, client_id, attachment_ids=(), template=None):
    """An agent's reply to a chat it may write to (access.may_write), with the files it uploaded.
    On a phone's channel, free text must be deliverable now (WhatsApp's 24-hour window); a
    `template` ({name, language, params}: channels/whatsapp_views.py) is what goes when it is not."""
    access.require_write(agent, chat)
    extras = None
    if template is not None:
        extras = json.dumps({"template": template}, separators=(",", ":"), ensure_ascii=False)
    elif chat.channel != "web":
        from .channels import channel_named
        channel_named(chat.channel).require_free_text(chat)
    return _store(chat.id, "agent", text, client_id, sender_id=agent.id, sender_name=agent.display_name,
                  attachment_ids=attachment_ids, extras=extras)


def post_note(chat, agent, text, client_id, attachment_ids=()):
    """A private note in a chat the agent may note (access.may_note): agents and supervisors
    see it (and its files); it never reaches the visitor or any channel."""
    access.require_note(agent, chat)
    return _store(chat.id, "agent", text, client_id, sender_id=agent.id, sender_name=agent.display_name,
                  private=True, attachment_ids=attachment_ids)


def add_note(session_id, agent, text):
    """A private note in the caller's transaction (a transfer's note for the next person)."""
    return _append_in_transaction(session_id, "agent", text, sender_id=agent.id, sender_name=agent.display_name,
                                  private=True)


def post_bot(session_id, text, client_id=None, extras=None, sender_name=BOT_NAME):
    """The bot's message; `extras` is what it offers beside the text (models.message_extras)."""
    return _store(session_id, "bot", text, client_id, sender_name=sender_name,
                  extras=json.dumps(extras, separators=(",", ":")) if extras else None)


def post_system(session_id, text, client_id=None, event=None, **details):
    """A system line on its own (a status change writes its line with `add_system`)."""
    return _store(session_id, "system", text, client_id, extras=event_extras(event, details))


def add_system(session_id, text, require_open=True, event=None, **details):
    """A system message with the next seq, in the caller's transaction; the caller passes it
    to `after_stored` once it has committed. `event` (and its `details`) says what happened,
    for the channels that tell a phone in their own words (chat/channels/words.py)."""
    return _append_in_transaction(session_id, "system", text, require_open=require_open,
                                  extras=event_extras(event, details))


def event_extras(event, details):
    """A system message's extras: {"event": ..., **details}, or None without an event."""
    if event is None:
        return None
    return json.dumps({"event": event, **details}, separators=(",", ":"), ensure_ascii=False)


def _append_in_transaction(session_id, sender_type, text, **fields):
    cursor = db.session.connection().connection.cursor()
    try:
        message, _ = message_store.append(cursor, session_id, sender_type, text, **fields)
    finally:
        cursor.close()
    return message


def after_stored(message, chat_status=None, agent_id=None, site_id=None):
    """After the commit: tell everyone watching the chat. What the store returned (the chat's
    status, holder and site) lets the lists that show the chat update its preview."""
    log.debug("message stored session=%s seq=%s", message.session_id, message.seq)
    deliver_to_phone(message, chat_status)
    publish.message_posted(message, chat_status, agent_id, site_id)
    if for_the_bot(message, chat_status):
        from . import bot           # the bot posts through this module
        bot.on_visitor_message(message)


def deliver_to_phone(message, chat_status):
    """In a WhatsApp or LINE chat, what the customer must get is queued in the outbox before
    the message is published (its payload then says "queued"). A failure here is logged: the
    jobs' sweep queues what was missed (channels/outbox.py)."""
    from .channels import outbox
    try:
        outbox.deliver(message, chat_status)
    except Exception:
        log.exception("queueing message %s for its channel failed", message.id)


def _after_writer_stored(pending):
    if pending.message is not None:
        after_stored(pending.message, *pending.outcome)


def start_writer(app):
    """In a serving process, messages are stored by one group-committing task."""
    message_store.start_writer(app, _after_writer_stored)


def _store(session_id, sender_type, text, client_id, sender_id=None, sender_name=None, private=False, extras=None,
           attachment_ids=()):
    """Store a message once per client_id, publish it, and return it."""
    fields = dict(session_id=session_id, sender_type=sender_type, text=text, client_id=client_id,
                  sender_id=sender_id, sender_name=sender_name, private=private, extras=extras)
    if attachment_ids:
        # A resend of a stored message names files that are its own now: the message answers.
        existing = _by_client_id(session_id, client_id) if client_id else None
        if existing is not None:
            return existing
        with_files(fields, attachment_ids)
    # The writer takes its connection from the pool the events use: an event that read
    # something through the ORM first gives its connection back before it waits, or forty
    # agents in flight starve the writer (docs/benchmarks.md). An event that did not, the
    # usual case, creates no session just to roll it back.
    if db.session.registry.has():
        db.session.rollback()
    pending = message_store.store_one(fields, _after_writer_stored)
    if isinstance(pending.outcome, Exception):
        raise pending.outcome
    if pending.outcome in ("duplicate", "closed"):
        # A retry of a stored message gets that message back, even once the chat has ended.
        existing = _by_client_id(session_id, client_id) if client_id else None
        if existing is not None:
            return existing
        raise session_closed()
    return pending.message


def with_files(fields, attachment_ids):
    """A message's fields with the files it names (attachments.for_message checks them): listed in
    its extras, claimed by the store in its transaction, and named in its chat's preview when it
    has no words."""
    listed = attachments.for_message(fields["session_id"], list(attachment_ids), fields["sender_type"],
                                     fields["sender_id"])
    extras = json.loads(fields["extras"]) if fields["extras"] else {}
    extras["attachments"] = listed
    fields.update(extras=json.dumps(extras, separators=(",", ":"), ensure_ascii=False),
                  attachment_ids=list(attachment_ids))
    if not fields["text"]:
        fields["preview_text"] = files_preview(listed)
    return fields


def _by_client_id(session_id, client_id):
    return db.session.execute(
        select(Message).where(Message.session_id == session_id, Message.client_id == client_id)
    ).scalar_one_or_none()


# Reading a chat's messages. The visitor's reads leave out private notes: their seqs are
# gaps the visitor's client must not wait for, so a visitor's page says how far it covers.

def after(session_id, after_seq=0, limit=None, for_visitor=False):
    """The messages after `after_seq`, oldest first (without private notes for a visitor)."""
    query = (select(Message).where(Message.session_id == session_id, Message.seq > after_seq)
             .order_by(Message.seq))
    if for_visitor:
        query = query.where(Message.private.is_(False))
    if limit:
        query = query.limit(limit)
    return db.session.execute(query).scalars().all()


def page_after(session_id, after_seq=0, for_visitor=False):
    """One answer's worth of messages after `after_seq`, oldest first: at most
    MESSAGE_PAGE_SIZE messages and MESSAGE_PAGE_BYTES of text (always at least one).
    Returns (messages, has_more, through_seq): the page holds every message the reader may
    see with a seq up to `through_seq` (the seqs between are private notes)."""
    size, budget = current_app.config["MESSAGE_PAGE_SIZE"], current_app.config["MESSAGE_PAGE_BYTES"]
    # Read first: every seq up to the committed last_seq is stored, so none can be skipped.
    committed = (db.session.execute(select(ChatSession.last_seq).where(ChatSession.id == session_id)).scalar() or 0
                 if for_visitor else 0)
    found = after(session_id, after_seq, limit=size + 1, for_visitor=for_visitor)
    page, used = [], 0
    for message in found[:size]:
        used += len(message.text.encode("utf-8"))
        if page and used > budget:
            break
        page.append(message)
    has_more = len(page) < len(found)
    through_seq = page[-1].seq if has_more else max([committed, after_seq] + [m.seq for m in page[-1:]])
    return page, has_more, through_seq


def latest(session_id, before_seq=None, limit=100):
    """One page of history: the `limit` messages just before `before_seq`, oldest first."""
    query = select(Message).where(Message.session_id == session_id)
    if before_seq is not None:
        query = query.where(Message.seq < before_seq)
    page = db.session.execute(query.order_by(Message.seq.desc()).limit(limit)).scalars().all()
    return page[::-1]
