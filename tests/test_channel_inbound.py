"""A customer's messages from a phone, in-process with a fake channel (no HTTP): the contact
becomes one visitor, its messages go to its open chat (or a new one the bot greets), files are
fetched and kept or refused with a line for the agent, the customer waiting for an agent hears
so now and then, the phone is told what happens in seed 004's words, and the jobs leave a
phone's chat alone until it expires."""
import json
from datetime import timedelta

import pytest

from chat import jobs, knowledge, messages, sessions
from chat.channels import CHANNELS, Channel, Contact, Incoming, Media, SendError, inbound, words
from chat.extensions import db, socketio
from chat.models import ChannelAccount, ChatSession, Visitor, utcnow
from tests.support.files import image_bytes, iso_media

SHIPPING = ("How long does shipping take?", "shipping, delivery", "Orders ship within one working day.")


class FakePhoneChannel(Channel):
    """WhatsApp as the tests play it: files it holds by media id, what it was asked to show."""

    def __init__(self):
        super().__init__(name="whatsapp")
        self.files = {}              # provider id -> (bytes, content type, file name) or a SendError
        self.writing = []            # (visitor external id, last event id) per "writing..." shown

    def download(self, account, media):
        found = self.files[media.provider_id]
        if isinstance(found, Exception):
            raise found
        return found

    def show_writing(self, account, visitor, last_event_id):
        self.writing.append((visitor.external_id, last_event_id))


@pytest.fixture(autouse=True)
def tasks_at_once(monkeypatch):
    """Background tasks (the bot's answer, "writing...") run as soon as they are started."""
    monkeypatch.setattr(socketio, "start_background_task", lambda task, *args: task(*args))


@pytest.fixture
def phone(app, monkeypatch):
    fake = FakePhoneChannel()
    monkeypatch.setitem(CHANNELS, "whatsapp", fake)
    return fake


@pytest.fixture
def account(site, phone):
    account = ChannelAccount(site_id=site.id, channel="whatsapp", external_id="1555000111", display_name="+1 555 000 111",
                             access_token="token", signing_secret="secret", verify_token="verify")
    db.session.add(account)
    db.session.commit()
    return account


@pytest.fixture
def bot_site(site, agents):
    site.bot_enabled = True
    db.session.commit()
    title, tags, body = SHIPPING
    knowledge.save(site, title, body, tags, published=True)
    return site


_numbers = iter(range(1, 10_000))


def write(account, text="", contact="33612345678", name="Ann", button_id=None, media=(), event_id=None,
          sent_at=None, reply_token=None, now=None):
    """The customer's phone sends a message; returns what was stored."""
    incoming = Incoming(event_id=event_id or f"wamid.{next(_numbers)}", contact=Contact(contact, name), text=text,
                        sent_at=sent_at or utcnow(), button_id=button_id, media=tuple(media),
                        reply_token=reply_token)
    return inbound.receive(account, incoming, now=now)


def visitors_of(contact):
    return db.session.execute(db.select(Visitor).where(Visitor.external_id == contact)).scalars().all()


def chats_of(contact):
    return db.session.execute(db.select(ChatSession).join(Visitor).where(Visitor.external_id == contact)
                              .order_by(ChatSession.started_at)).scalars().all()


def said(chat):
    return [(m.sender_type, m.text) for m in messages.after(chat.id)]


def phone_words(chat):
    """What the phone is told of the chat's system lines (None: nothing)."""
    from flask import current_app
    return [words.customer_words(m.extras, current_app.config) for m in messages.after(chat.id)
            if m.sender_type == "system"]


# ---- the contact and its chat

def test_a_new_contact_becomes_a_visitor_of_the_site_with_a_chat_on_its_channel(site, account):
    sent_at = utcnow() - timedelta(seconds=5)
    message = write(account, "Do you ship to Lyon?", name="Ann Martin", sent_at=sent_at)
    [visitor] = visitors_of("33612345678")
    [chat] = chats_of("33612345678")
    assert (visitor.site_id, visitor.channel, visitor.name, visitor.last_inbound_at) == (
        site.id, "whatsapp", "Ann Martin", sent_at)
    assert (chat.channel, chat.status, chat.site_id) == ("whatsapp", "waiting", site.id)
    assert (message.session_id, message.sender_type, message.sender_name, message.text) == (
        chat.id, "visitor", "Ann Martin", "Do you ship to Lyon?")


def test_the_contacts_next_messages_go_to_its_open_chat_and_its_name_follows_its_profile(account):
    first = write(account, "Hello?")
    second = write(account, "Anyone there?", name="Ann M.")
    assert first.session_id == second.session_id
    [visitor] = visitors_of("33612345678")
    assert visitor.name == "Ann M."
    assert second.sender_name == "Ann M."


def test_another_contact_is_another_visitor_and_chat(account):
    write(account, "Hello", contact="33600000001")
    write(account, "Hello", contact="33600000002")
    assert len(visitors_of("33600000001")) == len(visitors_of("33600000002")) == 1
    assert chats_of("33600000001")[0].id != chats_of("33600000002")[0].id


def test_the_window_runs_from_the_customers_latest_message_even_when_an_older_one_comes_last(account):
    now = utcnow()
    write(account, "second", sent_at=now)
    write(account, "first, delivered late", sent_at=now - timedelta(minutes=10))
    [visitor] = visitors_of("33612345678")
    assert visitor.last_inbound_at == now


def test_a_redelivered_message_stores_nothing_new_even_after_its_chat_ended(account, agents):
    message = write(account, "Where is my parcel?", event_id="wamid.same")
    again = write(account, "Where is my parcel?", event_id="wamid.same")
    assert again.id == message.id
    [chat] = chats_of("33612345678")
    sessions.end_session(chat, "agent", ended_by="Alice")
    assert write(account, "Where is my parcel?", event_id="wamid.same").id == message.id
    assert len(chats_of("33612345678")) == 1
    assert [text for kind, text in said(chat) if kind == "visitor"] == ["Where is my parcel?"]


def test_a_provider_id_longer_than_a_client_id_is_kept_as_its_digest_and_still_stored_once(account):
    long_id = "wamid." + "HBgLMzM2MTIzNDU2NzgVAgASGCA" * 4
    message = write(account, "Hi there, a question", event_id=long_id)
    assert len(message.client_id) <= 64 and message.client_id != long_id
    assert write(account, "Hi there, a question", event_id=long_id).id == message.id


def test_a_contact_whose_chat_ended_starts_a_new_chat(account, agents):
    write(account, "First question")
    [first] = chats_of("33612345678")
    sessions.end_session(first, "agent", ended_by="Alice")
    message = write(account, "Another question")
    first_chat, second_chat = chats_of("33612345678")
    assert first_chat.id == first.id and second_chat.id == message.session_id
    assert second_chat.status == "waiting"
    assert len(visitors_of("33612345678")) == 1


def test_an_end_word_ends_the_chat_and_the_phone_gets_the_ended_words(account):
    write(account, "Hello")
    [chat] = chats_of("33612345678")
    write(account, "End chat")
    db.session.refresh(chat)
    assert (chat.status, chat.end_reason) == ("ended", "visitor")
    assert phone_words(chat)[-1] == "Chat ended. Type 'menu' to return to the main menu."


def test_an_end_word_with_no_chat_open_starts_nothing(account):
    assert write(account, "exit") is None
    assert chats_of("33612345678") == []


def test_a_line_reply_token_is_kept_with_its_time_and_an_older_one_never_replaces_it(account):
    now = utcnow()
    write(account, "hello", reply_token="token-new", sent_at=now)
    write(account, "late", reply_token="token-old", sent_at=now - timedelta(seconds=30))
    [visitor] = visitors_of("33612345678")
    assert (visitor.reply_token, visitor.reply_token_at) == ("token-new", now)


# ---- the bot and its menu

def test_a_greeting_that_opens_a_chat_gets_the_menu_once(bot_site, account):
    write(account, "Hi!")
    [chat] = chats_of("33612345678")
    assert chat.status == "bot"
    assert [kind for kind, _ in said(chat)] == ["bot", "visitor"]
    menu = messages.after(chat.id)[0]
    assert json.loads(menu.extras)["buttons"]


def test_menu_that_opens_a_chat_gets_the_menu_once_and_later_menu_shows_it_again(bot_site, account):
    write(account, "menu")
    [chat] = chats_of("33612345678")
    assert [kind for kind, _ in said(chat)] == ["bot", "visitor"]
    write(account, "menu")
    assert [kind for kind, _ in said(chat)] == ["bot", "visitor", "visitor", "bot"]
    assert said(chat)[3] == said(chat)[0]


def test_a_question_that_opens_a_chat_gets_the_menu_and_the_bots_answer(bot_site, account):
    write(account, "How long does shipping take?")
    [chat] = chats_of("33612345678")
    kinds_and_texts = said(chat)
    assert [kind for kind, _ in kinds_and_texts] == ["bot", "visitor", "bot"]
    assert "Orders ship within one working day." in kinds_and_texts[2][1]


def test_talk_to_expert_hands_off_and_the_phone_is_told_in_the_seeds_words(bot_site, account, someone_online):
    write(account, "Hi")
    [chat] = chats_of("33612345678")
    write(account, "Talk to an expert", button_id="btn_agent")
    db.session.refresh(chat)
    assert chat.status == "waiting"
    assert phone_words(chat) == ["Connecting you to an agent… Type 'end chat' to return to the menu."]
    sessions.claim_session(chat, someone_online)
    assert phone_words(chat)[-1] == "Alice is now chatting with you."


def test_the_bot_shows_writing_on_the_phone_before_it_answers_at_most_every_20_seconds(bot_site, account, phone):
    write(account, "Hi", event_id="wamid.greeting")
    assert phone.writing == []                      # the greeting's menu answers it: no answer written
    write(account, "How long does shipping take?", event_id="wamid.question")
    assert phone.writing == [("33612345678", "wamid.question")]
    write(account, "And to Belgium?", event_id="wamid.again")
    assert len(phone.writing) == 1                  # within 20 seconds


def test_writing_is_shown_for_the_provider_id_even_when_the_message_keeps_its_digest(account, phone):
    long_id = "wamid." + "A" * 90
    message = write(account, "hello", event_id=long_id)
    assert inbound.show_writing_soon(message.session_id)
    assert phone.writing == [("33612345678", long_id)]


def test_an_agents_typing_shows_writing_on_a_phone_but_a_widget_chat_has_no_phone(site, account, phone):
    message = write(account, "hello", event_id="wamid.one")
    assert inbound.show_writing_soon(message.session_id, now=1000.0)
    assert not inbound.show_writing_soon(message.session_id, now=1010.0)
    assert inbound.show_writing_soon(message.session_id, now=1021.0)
    assert phone.writing == [("33612345678", "wamid.one")] * 2
    widget_chat, _ = sessions.start_session(site)
    assert not inbound.show_writing_soon(widget_chat.id)
    assert len(phone.writing) == 2


# ---- while waiting for an agent

def test_a_customer_writing_while_waiting_hears_so_at_most_every_few_minutes(site, account):
    start = utcnow()
    write(account, "Hello, I need help", now=start)
    [chat] = chats_of("33612345678")
    assert phone_words(chat) == ["Please wait, an agent will be with you shortly..."]
    write(account, "Hello?", now=start + timedelta(minutes=2))
    assert len(phone_words(chat)) == 1
    write(account, "Still there?", now=start + timedelta(minutes=4))
    assert phone_words(chat) == ["Please wait, an agent will be with you shortly..."] * 2
    assert said(chat)[-1] == ("system", "Please wait, an agent will be with you shortly...")


def test_the_message_that_hands_off_gets_the_handoff_words_not_also_the_wait_notice(bot_site, account, someone_online):
    write(account, "Talk to an expert", button_id="btn_agent")
    [chat] = chats_of("33612345678")
    assert phone_words(chat) == ["Connecting you to an agent… Type 'end chat' to return to the menu."]
    write(account, "Are you there?")
    assert phone_words(chat)[-1] == "Please wait, an agent will be with you shortly..."


def test_no_wait_notice_once_an_agent_has_the_chat(site, account, agents):
    write(account, "Hello")
    [chat] = chats_of("33612345678")
    sessions.claim_session(chat, agents[0])
    write(account, "Thanks for answering", now=utcnow() + timedelta(hours=1))
    assert phone_words(chat) == ["Please wait, an agent will be with you shortly...", "Alice is now chatting with you."]


# ---- files

def photo(provider_id="media-1", caption=""):
    return Media(kind="image", provider_id=provider_id, content_type="image/jpeg", sha256="x")


def test_a_photo_is_fetched_and_kept_as_the_visitors_attachment(account, phone):
    phone.files["media-1"] = (image_bytes("JPEG"), "image/jpeg", None)
    message = write(account, "My broken parcel", media=[photo()])
    [attachment] = json.loads(message.extras)["attachments"]
    assert attachment["kind"] == "image" and attachment["name"].endswith(".jpg")
    assert message.text == "My broken parcel"


def test_a_file_the_site_does_not_accept_leaves_the_words_and_a_line_for_the_agent(site, account, phone):
    site.attachment_types = "images"
    db.session.commit()
    phone.files["video-1"] = (iso_media(b"mp42"), "video/mp4", "clip.mp4")
    message = write(account, "Look at this", media=[Media(kind="video", provider_id="video-1")])
    chat = db.session.get(ChatSession, message.session_id)
    assert message.text == "Look at this" and "attachments" not in json.loads(message.extras or "{}")
    assert ("system", "The customer sent a video this site does not accept.") in said(chat)
    assert [w for w in phone_words(chat) if w != words.WAIT] == [None]       # the phone is not told


def test_a_file_alone_that_cannot_be_fetched_leaves_only_a_line_for_the_agent(account, phone):
    phone.files["doc-1"] = SendError("131052", "The media could not be downloaded.")
    assert write(account, media=[Media(kind="document", provider_id="doc-1")]) is None
    [chat] = chats_of("33612345678")
    assert ("system", "The customer sent a document that could not be fetched from WhatsApp "
                      "(The media could not be downloaded.).") in said(chat)
    assert not [kind for kind, _ in said(chat) if kind == "visitor"]


# ---- the jobs

def test_the_jobs_leave_a_phones_chat_alone_until_it_expires_and_the_phone_is_told(site, account, agents):
    write(account, "Hello", contact="33600000001")
    write(account, "Hello", contact="33600000002")
    [waiting] = chats_of("33600000001")
    [active] = chats_of("33600000002")
    sessions.claim_session(active, agents[0])
    later = waiting.started_at + timedelta(hours=21)
    assert jobs.abandon_inactive_sessions(later) == []
    assert jobs.abandon_silent_visitors(later) == []
    assert jobs.abandonment_deadlines(waiting) == (None, None)
    # 22 hours after the later start: on a loaded machine the second chat may start seconds after the first.
    ended = jobs.expire_overdue_sessions(max(waiting.started_at, active.started_at) + timedelta(hours=22, seconds=1))
    assert sorted(ended) == sorted([waiting.id, active.id])
    for chat in (waiting, active):
        db.session.refresh(chat)
        assert (chat.status, chat.end_reason, chat.visitor_away) == ("ended", "expired", False)
        assert phone_words(chat)[-1] == ("Your chat session has automatically ended after 22 hours. "
                                         "Type 'menu' to return to the main menu.")


def test_a_widget_chat_is_still_abandoned_by_the_jobs(site, account):
    widget_chat, _ = sessions.start_session(site)
    assert jobs.abandon_inactive_sessions(widget_chat.started_at + timedelta(minutes=31)) == [widget_chat.id]


def test_system_lines_without_words_for_a_phone_are_not_sent(site, account, agents):
    write(account, "Hello")
    [chat] = chats_of("33612345678")
    sessions.claim_session(chat, agents[0])
    sessions.transfer_session(chat, agents[0], agents[1], note="VIP")
    assert phone_words(chat)[-1] is None


def test_with_nobody_online_a_phones_chat_goes_to_the_team_and_its_next_words_are_the_message(bot_site, account):
    write(account, "Talk to an expert", button_id="btn_agent")
    [chat] = chats_of("33612345678")
    db.session.refresh(chat)
    assert (chat.status, chat.offline) == ("waiting", True)
    assert said(chat)[2] == ("bot", "Nobody from the team is online right now. Write your message here, "
                                    "and we will answer as soon as we are back.")
    assert "form" not in json.loads(messages.after(chat.id)[2].extras or "{}")
    write(account, "My order 1234 never arrived", now=utcnow() + timedelta(hours=1))
    assert said(chat)[-1] == ("visitor", "My order 1234 never arrived")      # no wait notice, no bot


def test_a_message_for_a_chat_that_ended_meanwhile_goes_to_a_new_chat(account, monkeypatch):
    write(account, "Hello")
    [chat] = chats_of("33612345678")
    fetch_files = inbound.fetch_files

    def ended_meanwhile(account_, chat_, visitor_id, media):
        if chat_.id == chat.id:           # an agent ends it while the message is on its way
            sessions.end_session(db.session.get(ChatSession, chat.id), "agent", ended_by="Alice")
        return fetch_files(account_, chat_, visitor_id, media)

    monkeypatch.setattr(inbound, "fetch_files", ended_meanwhile)
    message = write(account, "Are you there?")
    first, second = chats_of("33612345678")
    assert first.id == chat.id and message.session_id == second.id
    assert [text for kind, text in said(second) if kind == "visitor"] == ["Are you there?"]


def test_an_end_word_with_a_refused_file_ends_the_chat_and_starts_no_other(site, account, phone):
    site.attachment_types = "images"
    db.session.commit()
    write(account, "Hello")
    phone.files["video-1"] = (iso_media(b"mp42"), "video/mp4", "clip.mp4")
    write(account, "end", media=[Media(kind="video", provider_id="video-1")])
    [chat] = chats_of("33612345678")
    assert chat.status == "ended"


def test_the_lists_show_an_abandonment_countdown_for_a_widget_chat_only(site, account, published):
    """Only the widget's unassigned chats are abandoned for inactivity (jobs.abandonment_deadlines):
    a phone's chat in the Waiting list gets no countdown as its messages arrive."""
    write(account, "Hello, I need help")
    [phone_chat] = chats_of("33612345678")
    widget_chat, _ = sessions.start_session(site)
    messages.receive(messages.Inbound(widget_chat.id, "Hello from the page", "w1"))
    countdowns = {data["session_id"]: "abandon_inactive_at" in data for _, event, data, _, _ in
                  [item for item in published if item[0] == "emit"] if event == "queue_update" and "last_seq" in data}
    assert countdowns == {phone_chat.id: False, widget_chat.id: True}
