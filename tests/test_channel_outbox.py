"""The outbox that takes what we say in a WhatsApp or LINE chat to the phone (chat/channels/outbox.py,
sender.py) and the delivery states the agent sees (chat/channels/delivery.py), with a fake channel in the
test process (no HTTP): order per chat, leases, backoff, permanent failures, the agent's retry,
the jobs' sweep."""
import importlib
import json
import sys
import types
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
import requests

from chat import messages, publish
from chat.channels import CHANNELS, Channel, SendError, Sent, delivery, outbox, sender
from chat.extensions import db
from chat.models import (
    ChannelAccount,
    ChannelOutbox,
    ChatSession,
    Message,
    Visitor,
    hash_session_key,
    utcnow,
)
from tests.support import fresh, logged_in_client, wait_until


@dataclass
class FakePhone(Channel):
    """A channel that records what it was asked to send; `answers` scripts the next sends
    (an exception to raise, or None: accepted)."""
    sent: list = field(default_factory=list)
    answers: list = field(default_factory=list)

    def send(self, account, row, message):
        answer = self.answers.pop(0) if self.answers else None
        if isinstance(answer, Exception):
            raise answer
        self.sent.append({"to": row.recipient, "text": message.text, "retry_key": row.retry_key,
                          "account": account.external_id})
        return Sent(f"wamid.{message.id}.{len(self.sent)}")


@pytest.fixture
def phone(monkeypatch):
    fake = FakePhone(name="whatsapp", sends_per_second=1000)
    monkeypatch.setitem(CHANNELS, "whatsapp", fake)
    return fake


@pytest.fixture
def words(monkeypatch):
    """A1's channels/words.py when it is there; until then a stand-in with the same signature."""
    try:
        return importlib.import_module("chat.channels.words")
    except ImportError:
        stand_in = types.ModuleType("chat.channels.words")
        stand_in.customer_words = lambda extras, config: (
            "Chat ended. Type 'menu' to return to the main menu."
            if json.loads(extras or "{}").get("event") == "ended" else None)
        monkeypatch.setitem(sys.modules, "chat.channels.words", stand_in)
        return stand_in


@pytest.fixture
def account(site):
    account = ChannelAccount(site_id=site.id, channel="whatsapp", external_id="106540352242922",
                             display_name="+1 555 0100", access_token="EAAG-token-0123456789",
                             signing_secret="app-secret-0123456789", verify_token="verify-me")
    db.session.add(account)
    db.session.commit()
    return account


@pytest.fixture
def deliveries(monkeypatch):
    """Every message_delivery event, as the chat's room would hear it."""
    heard = []

    def message_delivery(session_id, message_id, seq, state, error=None, needs_template=False):
        heard.append({"session_id": session_id, "message_id": message_id, "seq": seq, "state": state,
                      "error": error, "needs_template": needs_template})
    monkeypatch.setattr(publish, "message_delivery", message_delivery)
    return heard


def channel_chat(site, agent, wa_id="15550001111", channel="whatsapp"):
    """An active chat with a customer on a phone, held by `agent`."""
    now = utcnow()
    chat = ChatSession(site_id=site.id, visitor=Visitor(site_id=site.id, channel=channel, external_id=wa_id, name="Ann"),
                       channel=channel, status="active", agent_id=agent.id, key_hash=hash_session_key(wa_id),
                       started_at=now, claimed_at=now, expires_at=now + timedelta(hours=22))
    db.session.add(chat)
    db.session.commit()
    return chat


def state_of(message):
    db.session.rollback()           # a fresh read: the sender task writes from its own connection
    return db.session.execute(db.select(Message.delivery_state, Message.delivery_error)
                              .where(Message.id == message.id)).one()


def row_of(message):
    db.session.expire_all()
    return db.session.execute(db.select(ChannelOutbox).where(ChannelOutbox.message_id == message.id)).scalar_one()


def later(seconds):
    return utcnow() + timedelta(seconds=seconds)


def test_an_agents_reply_on_whatsapp_is_queued_for_the_customers_phone_and_says_so(
        site, agents, account, phone, deliveries):
    chat = channel_chat(site, agents[0])
    reply = messages.post_agent(chat, agents[0], "Your parcel left today.", "c1")
    assert reply.to_dict()["delivery"] == {"state": "queued", "error": None}
    assert state_of(reply) == ("queued", None)
    row = row_of(reply)
    assert (row.state, row.recipient, row.account_id, row.attempts) == ("queued", "15550001111", account.id, 0)
    assert deliveries == [{"session_id": chat.id, "message_id": reply.id, "seq": reply.seq, "state": "queued",
                           "error": None, "needs_template": False}]
    assert phone.sent == []          # nothing is sent on the way of the message's ack

    assert sender.send_due() == ["sent"]
    assert phone.sent == [{"to": "15550001111", "text": "Your parcel left today.", "retry_key": row.retry_key,
                           "account": "106540352242922"}]
    assert state_of(reply) == ("sent", None)
    row = row_of(reply)
    assert (row.state, row.provider_message_id, row.lease_until) == ("sent", f"wamid.{reply.id}.1", None)
    assert deliveries[-1]["state"] == "sent"


def test_the_widgets_chats_visitor_messages_and_notes_never_reach_the_outbox(site, agents, account, phone):
    from chat import sessions
    web_chat, _ = sessions.start_session(site)
    messages.receive(messages.Inbound(web_chat.id, "hello", "w1"))
    chat = channel_chat(site, agents[0])
    customer = messages.receive(messages.Inbound(chat.id, "where is my parcel?", "wamid.in1", channel="whatsapp"))
    note = messages.post_note(chat, agents[0], "Check the warehouse", "n1")
    assert db.session.query(ChannelOutbox).count() == 0
    assert [state_of(m) for m in (customer, note)] == [(None, None), (None, None)]
    assert "delivery" not in note.to_dict()


def test_a_system_line_reaches_the_phone_in_the_channels_words_and_other_lines_stay_in_the_dashboard(
        app, site, agents, account, phone, words):
    chat = channel_chat(site, agents[0])
    extras = json.dumps({"event": "ended", "reason": "agent"})
    ended = messages._store(chat.id, "system", "Alice ended the chat.", None, extras=extras)
    joined = messages.post_system(chat.id, "Sue has joined the chat")
    assert state_of(joined) == (None, None)
    sender.send_due()
    assert [each["text"] for each in phone.sent] == [words.customer_words(extras, app.config)]
    assert state_of(ended) == ("sent", None)
    assert db.session.get(Message, ended.id).text == "Alice ended the chat."     # the agents' words are kept


def test_a_chats_messages_go_in_order_and_a_retried_one_holds_back_the_next(site, agents, account, phone):
    chat = channel_chat(site, agents[0])
    other = channel_chat(site, agents[0], wa_id="15550002222")
    first = messages.post_agent(chat, agents[0], "one", "c1")
    second = messages.post_agent(chat, agents[0], "two", "c2")
    elsewhere = messages.post_agent(other, agents[0], "hello there", "c3")
    phone.answers = [SendError("130429", "WhatsApp asked us to slow down.", retry=True)]

    assert sender.send_due() == ["retry", "sent"]          # "two" waits behind "one"; the other chat goes
    assert [each["text"] for each in phone.sent] == ["hello there"]
    row = row_of(first)
    assert (row.state, row.attempts, row.error_code) == ("queued", 1, "130429")
    assert row.next_attempt_at > utcnow()
    assert state_of(first) == ("queued", None) and state_of(second) == ("queued", None)
    assert state_of(elsewhere) == ("sent", None)

    assert sender.send_due() == []                          # not due yet, and "two" still waits
    assert sender.send_due(later(10)) == ["sent"]
    assert sender.send_due(later(10)) == ["sent"]
    assert [each["text"] for each in phone.sent] == ["hello there", "one", "two"]


def test_a_row_taken_by_a_server_that_died_mid_send_is_sent_again_once_its_lease_runs_out(
        app, site, agents, account, phone):
    chat = channel_chat(site, agents[0])
    reply = messages.post_agent(chat, agents[0], "still there?", "c1")
    [(row_id, dead_lease)] = sender.take_due(utcnow(), 10)      # taken, then the process died
    assert row_of(reply).state == "sending"
    assert sender.take_due(utcnow(), 10) == []                  # nobody else takes a held row
    assert sender.send_due() == []
    assert sender.send_due(later(app.config["CHANNEL_SEND_LEASE_SECONDS"] + 1)) == ["sent"]
    assert [each["text"] for each in phone.sent] == ["still there?"]
    # The dead sender's outcome, had it come back, is not written over the new one.
    row = row_of(reply)
    db.session.expunge(row)
    assert row.id == row_id
    assert sender.record_failure(row, dead_lease, SendError("500", "late", retry=True)) == "retry"
    assert row_of(reply).state == "sent"


def test_two_senders_never_take_the_same_row(site, agents, account, phone):
    chat = channel_chat(site, agents[0])
    messages.post_agent(chat, agents[0], "hi", "c1")
    now = utcnow()
    assert len(sender.take_due(now, 10)) == 1
    assert sender.take_due(now, 10) == []


@pytest.mark.parametrize("attempts, rand, seconds", [
    (1, 0.5, 2), (2, 0.5, 4), (3, 0.5, 8), (1, 0.0, 1.6), (1, 1.0, 2.4), (8, 0.5, 256), (9, 0.5, 300), (9, 1.0, 300),
    (20, 0.0, 240),
])
def test_backoff_doubles_from_two_seconds_give_or_take_a_fifth_up_to_five_minutes(attempts, rand, seconds):
    assert sender.backoff(attempts, rand=lambda: rand) == pytest.approx(seconds)


def test_backoff_waits_no_longer_than_the_setting():
    assert sender.backoff(9, rand=lambda: 1.0, longest=4) == 4


def test_backoff_waits_what_the_provider_asked_for():
    assert sender.backoff(1, retry_after=30) == 30
    assert sender.backoff(1, retry_after=10 ** 9) == sender.MAX_RETRY_AFTER_SECONDS


def test_a_permanent_refusal_fails_the_message_with_the_providers_reason_for_the_agent(
        site, agents, account, phone, deliveries):
    chat = channel_chat(site, agents[0])
    reply = messages.post_agent(chat, agents[0], "hello", "c1")
    phone.answers = [SendError("131026", "The customer's phone cannot receive this message.")]
    assert sender.send_due() == ["failed"]
    assert state_of(reply) == ("failed", "The customer's phone cannot receive this message.")
    assert db.session.get(Message, reply.id).to_dict()["delivery"] == {
        "state": "failed", "error": "The customer's phone cannot receive this message."}
    assert deliveries[-1]["state"] == "failed" and deliveries[-1]["error"].startswith("The customer's phone")
    assert sender.send_due(later(3600)) == []


def test_a_send_the_provider_keeps_refusing_for_now_fails_after_the_attempts_allowed(
        app, site, agents, account, phone):
    app.config["CHANNEL_SEND_ATTEMPTS"] = 3
    chat = channel_chat(site, agents[0])
    reply = messages.post_agent(chat, agents[0], "hello", "c1")
    phone.answers = [requests.ConnectionError("refused"), requests.Timeout("slow"),
                     SendError("131016", "WhatsApp is unavailable for now.", retry=True)]
    assert [sender.send_due(later(600 * n)) for n in range(4)] == [["retry"], ["retry"], ["failed"], []]
    assert state_of(reply) == ("failed", "WhatsApp is unavailable for now. (gave up after 3 attempts)")
    assert phone.sent == []


def test_a_fault_in_a_channels_send_is_retried_like_a_network_error(site, agents, account, phone):
    chat = channel_chat(site, agents[0])
    reply = messages.post_agent(chat, agents[0], "hello", "c1")
    phone.answers = [KeyError("a bug")]
    assert sender.send_due() == ["retry"]
    assert (row_of(reply).error_code, row_of(reply).error_text) == ("error", "The message could not be sent.")
    assert sender.send_due(later(10)) == ["sent"]


def test_a_site_without_a_connected_account_marks_the_message_failed_with_a_reason(site, agents, phone):
    chat = channel_chat(site, agents[0])
    reply = messages.post_agent(chat, agents[0], "hello", "c1")
    assert state_of(reply) == ("failed", "This site has no connected WhatsApp account, so the message was not sent.")
    assert db.session.query(ChannelOutbox).count() == 0


def test_a_token_bucket_lets_a_burst_through_then_spaces_the_sends():
    bucket = sender.Bucket(2, now=0.0)
    assert [bucket.reserve(2, 0.0) for _ in range(4)] == [0.0, 0.0, 0.5, 1.0]
    assert bucket.reserve(2, 10.0) == 0.0


@pytest.fixture
def running_sender(app):
    """The sender task a serving process runs (here on threads), stopped after the test."""
    yield sender.start_sender(app)
    sender.stop_sender()


def test_the_sender_task_sends_what_is_queued_in_order(site, agents, account, phone, running_sender):
    chat = channel_chat(site, agents[0])
    replies = [messages.post_agent(chat, agents[0], f"part {n}", f"c{n}") for n in range(1, 6)]
    wait_until(lambda: len(phone.sent) == 5, message="five sends")
    assert [each["text"] for each in phone.sent] == ["part 1", "part 2", "part 3", "part 4", "part 5"]
    db.session.expire_all()
    wait_until(lambda: all(state_of(reply)[0] == "sent" for reply in replies), message="all sent")


def test_sends_of_one_account_are_throttled_to_its_rate(site, agents, account, phone, monkeypatch):
    phone.sends_per_second = 2
    waits = []
    monkeypatch.setattr(sender, "monotonic", lambda: 1000.0)      # all at the same instant
    monkeypatch.setattr(sender, "sleep", waits.append)
    monkeypatch.setattr(sender, "_buckets", {})
    for n in range(4):
        chat = channel_chat(site, agents[0], wa_id=f"1555000{n}")
        messages.post_agent(chat, agents[0], f"hello {n}", f"c{n}")
    assert sender.send_due() == ["sent"] * 4
    assert waits == [0.5, 1.0]                  # a burst of two, then one every half second


# ---- delivery states ----

@pytest.mark.parametrize("current, new, moves", [
    (None, "queued", True), ("queued", "sent", True), ("sent", "delivered", True), ("delivered", "read", True),
    ("queued", "read", True), ("sent", "read", True),
    ("read", "delivered", False), ("delivered", "sent", False), ("sent", "queued", False), ("read", "read", False),
    ("queued", "failed", True), ("sent", "failed", True), ("delivered", "failed", False), ("read", "failed", False),
    ("failed", "delivered", True), ("failed", "read", True), ("failed", "sent", False), ("failed", "queued", False),
    ("sent", "played", False),
])
def test_a_delivery_state_only_moves_forward(current, new, moves):
    assert delivery.advance(current, new) is moves


def test_statuses_out_of_order_leave_the_furthest_state(site, agents, account, phone, deliveries):
    chat = channel_chat(site, agents[0])
    reply = messages.post_agent(chat, agents[0], "hello", "c1")
    sender.send_due()
    wamid = row_of(reply).provider_message_id
    assert delivery.record_status("whatsapp", wamid, "read") is True
    assert delivery.record_status("whatsapp", wamid, "delivered") is False
    assert delivery.record_status("whatsapp", wamid, "sent") is False
    assert delivery.record_status("whatsapp", wamid, "failed", "131026", "Undeliverable") is False
    assert state_of(reply) == ("read", None)
    assert [each["state"] for each in deliveries] == ["queued", "sent", "read"]
    assert delivery.record_status("line", wamid, "read") is False          # another channel's id
    assert delivery.record_status("whatsapp", "wamid.unknown", "read") is False


def test_a_failed_status_after_sending_marks_the_message_and_can_ask_for_a_template(
        site, agents, account, phone, deliveries):
    chat = channel_chat(site, agents[0])
    reply = messages.post_agent(chat, agents[0], "hello", "c1")
    sender.send_due()
    text = "The customer last wrote more than 24 hours ago; send a template."
    assert delivery.record_status("whatsapp", row_of(reply).provider_message_id, "failed", "131047", text,
                                  needs_template=True)
    assert state_of(reply) == ("failed", text)
    assert deliveries[-1] == {"session_id": chat.id, "message_id": reply.id, "seq": reply.seq, "state": "failed",
                              "error": text, "needs_template": True}
    # The same message reached another of the customer's devices after all.
    assert delivery.record_status("whatsapp", row_of(reply).provider_message_id, "delivered")
    assert state_of(reply) == ("delivered", None)


def test_a_status_that_overtakes_its_send_is_left_for_the_events_retry(site, agents, account, phone, monkeypatch):
    monkeypatch.setattr(delivery, "STATUS_WAIT_SECONDS", 0.2)
    chat = channel_chat(site, agents[0])
    messages.post_agent(chat, agents[0], "hello", "c1")
    sender.take_due(utcnow(), 10)          # being sent: the provider's id is not known yet
    with pytest.raises(delivery.StatusNotYetKnown):
        delivery.record_status("whatsapp", "wamid.not-yet", "delivered")


# ---- the jobs' sweep ----

def test_the_sweep_queues_a_message_a_crash_left_without_its_row(site, agents, account, phone):
    chat = channel_chat(site, agents[0])
    reply = messages.post_agent(chat, agents[0], "hello", "c1")
    db.session.execute(db.delete(ChannelOutbox))
    db.session.execute(db.update(Message).values(delivery_state=None))
    db.session.commit()
    assert outbox.sweep(utcnow()) == []                                 # the live path's own, for now
    assert outbox.sweep(later(outbox.SWEEP_GRACE_SECONDS + 1)) == [reply.id]
    assert outbox.sweep(later(outbox.SWEEP_GRACE_SECONDS + 1)) == []
    assert state_of(reply) == ("queued", None)
    assert sender.send_due() == ["sent"]
    assert outbox.sweep(later(2 * 3600)) == []


def test_the_jobs_run_the_sweep(site, agents, account, phone, words):
    from chat import jobs
    chat = channel_chat(site, agents[0])
    messages.post_agent(chat, agents[0], "hello", "c1")
    db.session.execute(db.delete(ChannelOutbox))
    db.session.execute(db.update(Message).values(delivery_state=None))
    db.session.commit()
    counts = jobs.run_jobs(now=later(60), use_lease=False)
    assert counts["queue_unsent_channel_messages"] == 1


# ---- the agent's retry ----





def retry(client, message_id, token=None):
    return fresh(client).post(f"/api/v1/agent/messages/{message_id}/retry",
                              headers={"X-CSRFToken": token} if token else {})


def test_an_agent_sends_a_failed_message_again_with_the_same_retry_key(app, site, agents, account, phone):
    chat = channel_chat(site, agents[0])
    reply = messages.post_agent(chat, agents[0], "hello", "c1")
    phone.answers = [SendError("131026", "Undeliverable.")]
    sender.send_due()
    key = row_of(reply).retry_key
    client, token = logged_in_client(app, "a@example.com", "password-1")

    answer = retry(client, reply.id, token)
    assert answer.status_code == 200
    assert answer.json["message"]["id"] == reply.id
    assert answer.json["message"]["delivery"] == {"state": "queued", "error": None}
    assert sender.send_due() == ["sent"]
    assert phone.sent[-1]["retry_key"] == key and state_of(reply) == ("sent", None)

    again = retry(client, reply.id, token)
    assert again.status_code == 409 and again.json["error"]["code"] == "not_failed"


def test_only_who_may_write_in_the_chat_retries_and_the_token_is_checked(app, site, agents, account, phone):
    chat = channel_chat(site, agents[0])
    reply = messages.post_agent(chat, agents[0], "hello", "c1")
    phone.answers = [SendError("131026", "Undeliverable.")]
    sender.send_due()
    bob, token = logged_in_client(app, "b@example.com", "password-2")
    refused = retry(bob, reply.id, token)
    assert refused.status_code == 404 and refused.json["error"]["code"] == "session_not_found"
    assert retry(bob, 999999, token).status_code == 404
    alice, _ = logged_in_client(app, "a@example.com", "password-1")
    assert retry(alice, reply.id).json["error"]["code"] == "csrf_failed"
    anonymous = retry(app.test_client(), reply.id)
    assert anonymous.status_code == 401
    assert state_of(reply)[0] == "failed"


def test_a_message_that_failed_for_want_of_an_account_goes_once_one_is_connected(app, site, agents, phone):
    chat = channel_chat(site, agents[0])
    reply = messages.post_agent(chat, agents[0], "hello", "c1")
    assert state_of(reply)[0] == "failed"
    db.session.add(ChannelAccount(site_id=site.id, channel="whatsapp", external_id="1065", access_token="t" * 20,
                                  signing_secret="s" * 20))
    db.session.commit()
    assert outbox.retry(db.session.get(Message, reply.id)).delivery_state == "queued"
    assert sender.send_due() == ["sent"]
