"""Unit tests of chat/messages.py: the one funnel every message goes through."""
from datetime import timedelta

import pytest

from chat import message_store, messages, sessions
from chat.errors import ChatError
from chat.extensions import db
from chat.models import Message, isoformat


def say(chat, text, client_id, name="Ann"):
    return messages.receive(messages.Inbound(chat.id, text, client_id, sender_name=name))


def test_messages_get_consecutive_seqs_and_a_repeated_client_id_is_stored_once(site):
    chat, _ = sessions.start_session(site)
    first = say(chat, "one", "c1")
    again = say(chat, "one", "c1")
    second = say(chat, "two", "c2")
    assert (first.seq, second.seq) == (1, 2)
    assert again.id == first.id
    assert db.session.query(Message).count() == 2
    db.session.refresh(chat)
    assert (chat.last_seq, chat.last_message_preview) == (2, "two")


def test_a_private_note_leaves_the_chats_preview_on_the_last_public_message(site, agents):
    """The preview is shown where notes are not (the earlier conversations of a visitor)."""
    chat, _ = sessions.start_session(site)
    say(chat, "my card was declined", "c1")
    messages.post_note(chat, agents[0], "Card ending 4242", "n1")
    db.session.refresh(chat)
    assert (chat.last_seq, chat.last_message_preview) == (2, "my card was declined")


@pytest.mark.parametrize("text", ["end", "END", "  End Chat ", "quit", "Exit"])
def test_an_end_word_ends_the_chat_whatever_the_client(site, text):
    chat, _ = sessions.start_session(site)
    say(chat, text, "c1")
    db.session.refresh(chat)
    assert (chat.status, chat.end_reason) == ("ended", "visitor")
    assert [m.text for m in messages.after(chat.id)] == [text, "The visitor ended the chat."]


@pytest.mark.parametrize("text", ["the end", "end chat please", "exit?", "quitting", "end\nchat"])
def test_a_message_that_only_contains_an_end_word_is_an_ordinary_message(site, text):
    chat, _ = sessions.start_session(site)
    say(chat, text, "c1")
    db.session.refresh(chat)
    assert chat.status == "waiting"


def test_a_retried_end_word_returns_the_stored_message_and_ends_nothing_twice(site):
    chat, _ = sessions.start_session(site)
    first = say(chat, "end", "c1")
    assert say(chat, "end", "c1").id == first.id
    assert [m.text for m in messages.after(chat.id)] == ["end", "The visitor ended the chat."]


def test_only_the_holder_or_a_supervisor_may_post_as_an_agent(site, agents):
    alice, bob, sue = agents
    chat, _ = sessions.start_session(site)
    with pytest.raises(ChatError) as refused:
        messages.post_agent(chat, alice, "too early", "a0")
    assert refused.value.code == "not_assigned"
    sessions.claim_session(chat, alice)
    assert messages.post_agent(chat, alice, "hello", "a1").sender_name == "Alice"
    with pytest.raises(ChatError):
        messages.post_agent(chat, bob, "not mine", "b1")
    assert messages.post_agent(chat, sue, "supervising", "s1").seq == 3


def test_bot_and_system_messages_take_the_next_seq(site):
    chat, _ = sessions.start_session(site)
    say(chat, "hi", "c1")
    bot = messages.post_bot(chat.id, "Hello! How can I help?")
    system = messages.post_system(chat.id, "Connecting you to an agent…")
    assert [(bot.seq, bot.sender_type), (system.seq, system.sender_type)] == [(2, "bot"), (3, "system")]


def test_a_stored_message_reaches_its_room_and_the_holders_list(site, agents, published):
    chat, _ = sessions.start_session(site)
    sessions.claim_session(chat, agents[0])
    published.clear()
    message = messages.post_agent(chat, agents[0], "hello", "a1")
    preview = {"session_id": chat.id, "status": "active", "agent_id": agents[0].id, "last_message": "hello",
               "last_seq": 2, "last_message_at": message.to_dict()["created_at"], "sender_type": "agent",
               "sender_name": "Alice"}
    assert published == [
        ("emit", "message", message.to_dict(), f"session:{chat.id}", "/visitor"),
        ("emit", "message", message.to_dict(), f"session:{chat.id}", "/agent"),
        ("emit", "queue_update", preview, f"agent:{agents[0].id}", "/agent"),
        ("emit", "chat_activity", preview, "supervisors", "/agent"),      # the supervisor view's row
    ]


def test_a_queued_chats_message_reaches_its_room_and_the_waiting_lists(site, published):
    chat, _ = sessions.start_session(site)
    published.clear()
    message = say(chat, "Do you ship to Austria?", "c1")
    assert [(entry[1], entry[3]) for entry in published] == [
        ("message", f"session:{chat.id}"), ("message", f"session:{chat.id}"),
        ("queue_update", f"site-agents:{site.id}"), ("queue_update", "supervisors")]
    assert published[2][2] == {"session_id": chat.id, "status": "waiting", "agent_id": None,
                               "last_message": "Do you ship to Austria?", "last_seq": 1,
                               "last_message_at": message.to_dict()["created_at"],
                               "sender_type": "visitor", "sender_name": "Ann",
                               # the message restarts the inactivity clock (the supervisor view's)
                               "abandon_inactive_at": isoformat(message.created_at + timedelta(minutes=30))}


def test_nothing_is_published_for_a_message_that_was_not_stored(site, published):
    chat, _ = sessions.start_session(site)
    say(chat, "one", "c1")
    published.clear()
    say(chat, "one", "c1")
    assert published == []


def test_messages_after_returns_only_later_messages_in_order(site):
    chat, _ = sessions.start_session(site)
    for n in range(5):
        say(chat, f"m{n}", f"c{n}")
    assert [m.seq for m in messages.after(chat.id, 2)] == [3, 4, 5]


def test_a_page_stops_at_its_size_or_its_bytes_and_says_more_follow(site, app):
    app.config.update(MESSAGE_PAGE_SIZE=3, MESSAGE_PAGE_BYTES=10)
    chat, _ = sessions.start_session(site)
    for n, text in enumerate(["a" * 4, "b" * 4, "c" * 4, "d"]):
        say(chat, text, f"c{n}")
    page, has_more, _ = messages.page_after(chat.id)
    assert ([m.text for m in page], has_more) == (["aaaa", "bbbb"], True)
    app.config.update(MESSAGE_PAGE_BYTES=1)
    page, has_more, _ = messages.page_after(chat.id, 3)
    assert ([m.text for m in page], has_more) == (["d"], False)


def test_history_comes_in_pages_from_the_latest_backwards(site):
    chat, _ = sessions.start_session(site)
    for n in range(1, 8):
        say(chat, f"m{n}", f"c{n}")
    assert [m.seq for m in messages.latest(chat.id, limit=3)] == [5, 6, 7]
    assert [m.seq for m in messages.latest(chat.id, before_seq=5, limit=3)] == [2, 3, 4]
    assert [m.seq for m in messages.latest(chat.id, before_seq=2, limit=3)] == [1]


def pending(session_id, text, client_id, sender_type="visitor"):
    return message_store.PendingMessage(dict(session_id=session_id, sender_type=sender_type, text=text,
                                             client_id=client_id))


def test_one_batch_stores_many_messages_and_a_bad_one_fails_alone(site):
    chat, _ = sessions.start_session(site)
    other, _ = sessions.start_session(site)
    first = pending(chat.id, "one", "c1")
    elsewhere = pending(other.id, "elsewhere", "o1")
    no_sender_type = pending(chat.id, "no sender type", "c2", sender_type=None)   # violates NOT NULL
    retry_of_first = pending(chat.id, "one", "c1")
    third = pending(chat.id, "three", "c3")
    batch = [first, elsewhere, no_sender_type, retry_of_first, third]
    reported = []

    message_store.store(batch, reported.append)

    assert (first.message.seq, elsewhere.message.seq, third.message.seq) == (1, 1, 2)
    assert isinstance(no_sender_type.outcome, Exception) and no_sender_type.message is None
    assert retry_of_first.outcome == "duplicate"
    assert reported == batch                                   # each one reported once, in order
    assert [m.text for m in messages.after(chat.id)] == ["one", "three"]
    db.session.refresh(chat)
    assert (chat.last_seq, chat.last_message_preview) == (2, "three")


def test_a_private_note_is_left_out_of_the_visitors_reads_which_say_how_far_they_cover(site, agents):
    alice = agents[0]
    chat, _ = sessions.start_session(site)
    sessions.claim_session(chat, alice)                          # seq 1
    messages.post_note(chat, alice, "VIP customer", "n1")        # seq 2
    messages.post_agent(chat, alice, "Hello!", "a1")             # seq 3
    messages.post_note(chat, alice, "Asked about refunds", "n2")  # seq 4
    page, has_more, through = messages.page_after(chat.id, 0, for_visitor=True)
    assert [m.text for m in page] == ["Alice has joined the chat", "Hello!"]
    assert (has_more, through) == (False, 4)                     # seq 2 and 4 are not for the visitor
    team_page, _, _ = messages.page_after(chat.id, 0)
    assert [m.private for m in team_page] == [False, True, False, True]
    assert messages.page_after(chat.id, 4, for_visitor=True)[1:] == (False, 4)


def test_only_an_agent_reply_counts_as_the_first_response(site, agents):
    alice = agents[0]
    chat, _ = sessions.start_session(site)
    sessions.claim_session(chat, alice)
    messages.post_note(chat, alice, "checking", "n1")
    db.session.refresh(chat)
    assert chat.first_response_at is None                       # the claim's line and a note are not replies
    reply = messages.post_agent(chat, alice, "Hi", "a1")
    messages.post_agent(chat, alice, "Still there?", "a2")
    db.session.refresh(chat)
    assert chat.first_response_at == reply.created_at


@pytest.mark.parametrize("reported, kept", [
    ("Europe/Paris", "Europe/Paris"), ("America/Argentina/Buenos_Aires", "America/Argentina/Buenos_Aires"),
    ("UTC", "UTC"), ("Mars/Olympus_Mons", None), ("../../etc/passwd", None), ("<script>", None),
    ("x" * 65, None), (42, None), (None, None),
])
def test_only_a_known_time_zone_is_kept_for_the_visitor(app, reported, kept):
    from chat import validation
    assert validation.time_zone({"time_zone": reported}) == kept
