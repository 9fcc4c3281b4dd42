"""The bot in a chat: it greets with the site's menu, answers each visitor message while the
chat is `bot` (rules.py decides how), streams its answers to the widget as drafts, and hands
the chat to a person, or offers the offline form when nobody can answer.

It runs after the visitor's message is committed, in a background task (never inside the
ack), one message of a chat at a time, and checks the chat is still `bot` before each thing
it says: once an agent holds the chat, the bot says nothing more.
"""
import json
import logging
import threading
import time
import uuid

from flask import current_app

from .. import knowledge, messages, publish, sessions
from ..extensions import db, socketio
from ..knowledge_search import best_passage, search_off_loop
from ..models import Article, ChatSession, UnansweredQuestion
from ..realtime import presence
from . import hours as business_hours
from . import llm, rules
from .menu import greeting, menu_of

log = logging.getLogger(__name__)

MAX_LINKS = 3
DRAFT_SECONDS = 0.05            # drafts go out at most this often
PASSAGE_CHUNKS = 8              # an answer without a model streams in about this many pieces
HELPED_TEXT = "Glad I could help! Ask me anything else, or end the chat when you're done."
WEAK_PREFIX = "I'm not sure this answers your question, but it may help:\n\n"
MODEL_NO_ANSWER = "I couldn't find the answer to that in our help articles. Would you like to talk to an expert?"
AWAY_TEXT = ("Nobody from the team is online right now. Leave your email and a message, and we will "
             "answer as soon as we are back.")
CLOSED_TEXT = "We're closed right now; our hours are {hours}. Leave your email and a message, and we will answer when we open."
PHONE_AWAY_TEXT = "Nobody from the team is online right now. Write your message here, and we will answer as soon as we are back."
PHONE_CLOSED_TEXT = "We're closed right now; our hours are {hours}. Write your message here, and we will answer when we open."

_locks = {}
_locks_guard = threading.Lock()


def greet(chat_session):
    """The first message of a chat with the bot: the site's menu."""
    text, buttons = greeting(menu_of(chat_session.site))
    messages.post_bot(chat_session.id, text, extras={"buttons": buttons})


def on_visitor_message(message):
    """After a visitor's message is stored in a chat that is `bot`: answer it in the background."""
    extras = json.loads(message.extras) if message.extras else {}
    app = current_app._get_current_object()
    socketio.start_background_task(_reply_in_app, app, message.session_id, message.text, extras.get("button"))


def _reply_in_app(app, session_id, text, button_id):
    with app.app_context():
        try:
            from ..channels import inbound      # the channels' inbound path posts through the bot's modules
            inbound.show_writing_soon(session_id)   # a phone shows "writing..." (no drafts there)
            with _lock_of(session_id):
                reply_to(session_id, text, button_id)
        except Exception:
            log.exception("the bot failed to answer session=%s", session_id)
        finally:
            db.session.remove()


def _lock_of(session_id):
    """One answer at a time per chat, in this process (a chat's visitor is on one process)."""
    with _locks_guard:
        if len(_locks) > 10000:
            for key in [key for key, lock in _locks.items() if not lock.locked()]:
                del _locks[key]
        return _locks.setdefault(session_id, threading.Lock())


def still_with_bot(session_id):
    """The chat, read afresh (one query), while it is the bot's; else None."""
    chat = db.session.get(ChatSession, session_id, populate_existing=True)
    return chat if chat is not None and chat.status == "bot" else None


def bot_still_answers(session_id):
    """Whether the chat is still the bot's: its status alone, checked before each thing it says."""
    return db.session.scalar(db.select(ChatSession.status).where(ChatSession.id == session_id)) == "bot"


def reply_to(session_id, text, button_id=None):
    """The bot's answer to a visitor's message in a chat that is (still) `bot`."""
    chat = still_with_bot(session_id)
    if chat is None:
        return
    site_id, site_key = chat.site_id, chat.site.key       # read now: the commit below expires them
    menu = menu_of(chat.site)
    decision = rules.decide(text, button_id, menu, chat.bot_misses, lambda question: search_off_loop(site_id, question))
    if decision.unanswered:
        db.session.add(UnansweredQuestion(site_id=site_id, session_id=session_id, text=text[:1000]))
    chat.bot_misses = chat.bot_misses + 1 if decision.weak else 0
    if decision.action == "helped":
        chat.bot_helped = True
    db.session.commit()
    if decision.action == "hand_off":
        hand_off_or_offer_form(chat, decision.reason)
    elif decision.action == "helped":
        say(session_id, HELPED_TEXT)
    elif decision.action == "menu":
        greet(chat)
    elif decision.action == "reply":
        say(session_id, decision.text, buttons=rules.ANSWER_BUTTONS)
    elif decision.action == "article":
        article = db.session.scalar(db.select(Article).where(Article.site_id == site_id,
                                                             Article.title == decision.text))
        if article is None:              # deleted since the menu was written
            hand_off_or_offer_form(chat, "no_match")
        else:
            stream_answer(session_id, site_key, text, [article], terms=[])      # its first paragraph
    else:
        stream_answer(session_id, site_key, text, [hit.article for hit in decision.hits], weak=decision.weak,
                      terms=decision.hits[0].terms, first_passage=decision.hits[0].passage)


def say(session_id, text, buttons=None, links=None, form=None, client_id=None):
    """Post the bot's message if the chat is still the bot's; returns it, or None."""
    if not bot_still_answers(session_id):
        return None
    extras = {key: value for key, value in (("buttons", buttons), ("links", links), ("form", form)) if value}
    return messages.post_bot(session_id, text, client_id=client_id, extras=extras or None)


def hand_off_or_offer_form(chat, reason):
    """To a person when someone can answer now; otherwise the bot says why not and offers the
    offline form (the chat stays the bot's until the visitor sends it). A phone has no form:
    its chat goes to the team as an offline one at once, and what the customer writes next is
    the message they leave."""
    hours = business_hours.hours_of(chat.site)
    if business_hours.is_open(hours) and presence.agents_online(chat.site_id):
        sessions.hand_off(chat, reason)
    elif chat.channel != "web":
        text = (PHONE_AWAY_TEXT if business_hours.is_open(hours)
                else PHONE_CLOSED_TEXT.format(hours=business_hours.describe(hours)))
        say(chat.id, text)
        sessions.hand_off(chat, reason, offline=True)
    elif not business_hours.is_open(hours):
        say(chat.id, CLOSED_TEXT.format(hours=business_hours.describe(hours)), form="offline")
    else:
        say(chat.id, AWAY_TEXT, form="offline")


def leave_offline_message(chat, inbound, email):
    """The offline form: the visitor's email and message reach the team as an offline chat,
    in the line and in history."""
    chat.visitor.email = email
    db.session.commit()
    message = messages.receive(inbound)
    sessions.hand_off(chat, "offline", offline=True)
    return message


# ---- answers, streamed as drafts

def stream_answer(session_id, site_key, question, articles, terms, weak=False, first_passage=None):
    """Answer from `articles` (best first) and the paragraphs holding most of the question's
    `terms` (the first article's given as `first_passage` when the search made it): written by
    the model when one is configured, else the best article's paragraph;
    streamed to the chat as drafts (`bot_draft`, the text so far) and then stored with the
    drafts' client_id, which replaces them."""
    client_id = f"bot-{uuid.uuid4().hex[:24]}"
    links = [{"title": article.title, "url": knowledge.public_url(article, site_key)}
             for article in articles[:MAX_LINKS]]
    found = [(article.title, article.body) for article in articles]
    # What the answer needs is read: the connection goes back to the pool while the answer
    # streams (a model can take seconds; answers at once held every pooled connection).
    db.session.rollback()
    draft = Drafts(session_id, client_id)
    text = None
    config = current_app.config
    if llm.configured(config):
        sources = [(title, best_passage(title, body, terms)) for title, body in found]
        text = model_answer(config, question, sources, draft)
        if text == llm.NO_ANSWER:
            say(session_id, MODEL_NO_ANSWER, buttons=[rules.ANSWER_BUTTONS[1]], links=links, client_id=client_id)
            return
    if text is None:
        if first_passage is None:
            first_passage = best_passage(*found[0], terms)
        text = (WEAK_PREFIX if weak else "") + first_passage
        draft.play(text)
    say(session_id, text, buttons=rules.ANSWER_BUTTONS, links=links, client_id=client_id)


_model_slots = {}


def model_slot(config):
    """One of this process's LLM_MAX_CONCURRENT slots for a model answer, or None when all are taken."""
    limit = config["LLM_MAX_CONCURRENT"]
    with _locks_guard:
        slots = _model_slots.setdefault(limit, threading.BoundedSemaphore(limit))
    return slots if slots.acquire(blocking=False) else None


def model_answer(config, question, sources, draft):
    """The model's answer from `sources` ((title, text)), streamed to `draft`; NO_ANSWER when it
    has none; None when it failed or every model slot is taken (then the answer comes from the
    passages)."""
    slot = model_slot(config)
    if slot is None:
        log.warning("%d model answers are being written already; answering from the passages",
                    config["LLM_MAX_CONCURRENT"])
        return None
    try:
        return _stream_model_answer(config, question, sources, draft)
    finally:
        slot.release()


def _stream_model_answer(config, question, sources, draft):
    pieces = []
    try:
        for piece in llm.stream(config, question, sources):
            pieces.append(piece)
            so_far = "".join(pieces).lstrip()
            if not llm.NO_ANSWER.startswith(so_far[:len(llm.NO_ANSWER)]):   # never stream the marker
                draft.show(so_far)
    except llm.ModelError as error:
        log.warning("the model failed (%s); answering from the passages", error)
        return None
    text = "".join(pieces).strip()
    if not text:
        log.warning("the model said nothing; answering from the passages")
        return None
    return llm.NO_ANSWER if text.startswith(llm.NO_ANSWER) else text


class Drafts:
    """The text of an answer so far, sent to the chat's watchers at most every DRAFT_SECONDS
    (the stored answer, which replaces the drafts, holds all of it)."""

    def __init__(self, session_id, client_id):
        self.session_id, self.client_id = session_id, client_id
        self.sent_at = None

    def show(self, text):
        now = time.monotonic()
        if self.sent_at is None or now - self.sent_at >= DRAFT_SECONDS:
            publish.bot_draft(self.session_id, self.client_id, text)
            self.sent_at = now

    def play(self, text):
        """Stream a whole text in about PASSAGE_CHUNKS pieces, so an answer without a model looks
        alive too (the first piece at once)."""
        words = text.split(" ")
        step = max(1, -(-len(words) // PASSAGE_CHUNKS))
        for end in range(step, len(words), step):
            publish.bot_draft(self.session_id, self.client_id, " ".join(words[:end]))
            socketio.sleep(DRAFT_SECONDS)

