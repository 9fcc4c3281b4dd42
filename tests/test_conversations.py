"""Unit tests of chat/conversations.py: a visitor's list, titles, unread counts, rename, close."""
import pytest

from chat import conversations, messages, sessions
from chat.errors import ChatError
from chat.extensions import db
from chat.models import Visitor


@pytest.fixture
def visitor(site):
    person = Visitor(site_id=site.id, name="Ann")
    db.session.add(person)
    db.session.commit()
    return person


def say(chat, text, sender="visitor"):
    if sender == "visitor":
        return messages.receive(messages.Inbound(chat.id, text, f"c-{chat.last_seq}-{len(text)}", sender_name="Ann"))
    message = messages.add_system(chat.id, text) if sender == "system" else messages.post_bot(chat.id, text)
    db.session.commit()
    return message


def test_the_title_is_the_start_of_the_first_message_until_the_visitor_names_it(site, visitor):
    chat, _ = conversations.start(site, visitor)
    assert conversations.one_payload(chat)["title"] == "New conversation"
    say(chat, "Where is my parcel? It left the warehouse on Monday and has not arrived")
    say(chat, "Hello?")
    listed = conversations.one_payload(chat)
    assert listed["title"] == "Where is my parcel? It left the…" and not listed["titled"]
    conversations.rename(chat, "  Parcel   1041 ")
    assert conversations.one_payload(chat)["title"] == "Parcel 1041"


@pytest.mark.parametrize("text, title", [
    ("Hi", "Hi"),
    ("x" * 40, "x" * 40),
    ("y" * 60, "y" * 40 + "…"),
    ("Refunds: how long do they take, and do I pay shipping back?", "Refunds: how long do they take, and do I…"),
    ("  spaced\n\nout  ", "spaced out"),
])
def test_an_automatic_title_is_cut_at_a_word_near_40_characters(text, title):
    assert conversations.auto_title(text) == title


@pytest.mark.parametrize("title", ["", "   ", None, 5, "t" * 81])
def test_a_bad_title_is_refused_with_a_sentence(site, visitor, title):
    chat, _ = conversations.start(site, visitor)
    with pytest.raises(ChatError) as refused:
        conversations.rename(chat, title)
    assert refused.value.code == "invalid_payload" and "title" in refused.value.message


def test_the_list_is_the_visitors_open_tabs_newest_first(site, visitor):
    first, _ = conversations.start(site, visitor, title="First")
    second, _ = conversations.start(site, visitor, title="Second")
    stranger = Visitor(site_id=site.id, name="Eve")
    conversations.start(site, stranger, title="Not yours")
    assert [chat.title for chat in conversations.listed(visitor)] == ["Second", "First"]
    conversations.close(first)
    assert [chat.title for chat in conversations.listed(visitor)] == ["Second"]


def test_closing_an_open_conversation_ends_it_as_the_visitor_did(site, visitor):
    chat, _ = conversations.start(site, visitor)
    conversations.close(chat)
    assert chat.status == "ended" and chat.end_reason == "visitor" and chat.visitor_closed_at is not None
    conversations.close(chat)                          # twice: nothing more
    assert chat.status == "ended"


def test_a_visitor_has_at_most_the_configured_open_conversations(app, site, visitor):
    most = app.config["VISITOR_OPEN_CONVERSATIONS"]
    chats = [conversations.start(site, visitor)[0] for _ in range(most)]
    with pytest.raises(ChatError) as refused:
        conversations.start(site, visitor)
    assert refused.value.code == "too_many_conversations" and f"{most} conversations open" in refused.value.message
    sessions.end_session(chats[0], "agent")
    conversations.start(site, visitor)                 # an ended one leaves room


def test_unread_counts_the_replies_after_what_the_visitor_read(site, visitor):
    site.bot_enabled = False
    chat, _ = conversations.start(site, visitor)
    say(chat, "Hello")
    say(chat, "We are here", sender="bot")
    say(chat, "Someone joined", sender="system")       # not a reply
    say(chat, "Anything else?", sender="bot")
    assert conversations.one_payload(chat)["unread"] == 2
    conversations.mark_read(chat, 3)
    assert conversations.one_payload(chat)["unread"] == 1
    conversations.mark_read(chat, 1)                   # never backwards
    assert conversations.one_payload(chat)["unread"] == 1
    conversations.mark_read(chat, 10 ** 6)             # never past the end
    db.session.refresh(chat)
    assert chat.visitor_read_seq == chat.last_seq and conversations.one_payload(chat)["unread"] == 0
