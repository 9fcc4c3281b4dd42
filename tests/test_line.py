"""Unit tests of chat/channels/line.py against the fake LINE API (tests/support/fake_line.py):
the webhook's signature and what it keeps, how events read (tests/fixtures/line/, shaped as
LINE's documentation shows), and how messages go out: a fresh reply token once, else a push
whose retry key makes a retried push land once; the errors an agent reads."""
import base64
import hashlib
import hmac
import io
import json
import uuid
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from flask import current_app
from werkzeug.datastructures import FileStorage

from chat import attachments, messages
from chat.attachments import Uploader
from chat.channels import Media, SendError, line, line_api
from chat.extensions import db
from chat.models import ChannelAccount, ChannelEvent, ChatSession, Message, Visitor, hash_session_key, utcnow
from tests.support.fake_line import FakeLine, user_id_of
from tests.support.files import image_bytes

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "line"
SECRET = "line-channel-secret"
TOKEN = "line-access-token"
BOT_ID = "U0123456789abcdef0123456789abcdef"
USER = "U4af4980629a0b1c2d3e4f5a6b7c8d9e0"


def fixture(name):
    return json.loads((FIXTURES / f"{name}.json").read_text())


def signed(body, secret=SECRET):
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


@pytest.fixture
def fake():
    server = FakeLine(channel_secret=SECRET, access_token=TOKEN, bot_user_id=BOT_ID)
    yield server
    server.close()


@pytest.fixture
def account(app, site, fake):
    if "line_channel" not in app.blueprints:          # until channels.register_blueprints does it
        app.register_blueprint(line.bp)
    found = ChannelAccount(site_id=site.id, channel="line", external_id=BOT_ID, display_name="Demo Shop",
                           access_token=TOKEN, signing_secret=SECRET, api_base=fake.base_url)
    db.session.add(found)
    db.session.commit()
    return found


def post_webhook(body, signature=None):
    """POST to the webhook as LINE does: the raw body and its signature (False: no header)."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    if signature is not False:
        headers["X-Line-Signature"] = signature or signed(raw)
    return current_app.test_client().post("/channels/line/webhook", data=raw, headers=headers)


def kept_events():
    return db.session.execute(db.select(ChannelEvent)).scalars().all()


def line_chat(site, user_id=USER, status="active", name=None, reply_token=None, token_age=0, agent=None):
    """A LINE contact's open chat, written directly (inbound.receive makes them in the product)."""
    now = utcnow()
    visitor = Visitor(site_id=site.id, channel="line", external_id=user_id, name=name, reply_token=reply_token,
                      reply_token_at=now - timedelta(seconds=token_age) if reply_token else None)
    chat = ChatSession(site=site, visitor=visitor, channel="line", status=status, key_hash=hash_session_key("x"),
                       agent_id=agent.id if agent else None,
                       started_at=now, expires_at=now + timedelta(hours=22), last_activity_at=now,
                       visitor_last_seen_at=now)
    db.session.add(chat)
    db.session.commit()
    return chat


def outbox_row(user_id=USER):
    return SimpleNamespace(recipient=user_id, retry_key=str(uuid.uuid4()))


def agent_message(text, sender_name="Alice", extras=None):
    return SimpleNamespace(sender_type="agent", sender_name=sender_name, text=text,
                           extras=json.dumps(extras) if extras else None)


def bot_message(text, buttons=None):
    return SimpleNamespace(sender_type="bot", sender_name="Assistant", text=text,
                           extras=json.dumps({"buttons": buttons}) if buttons else None)


# ---- the webhook ----

def test_signature_is_the_base64_hmac_of_the_raw_body_with_the_channel_secret():
    body = (FIXTURES / "text.json").read_bytes()
    assert line.signature_matches(SECRET, body, signed(body))
    assert not line.signature_matches("another-secret", body, signed(body))
    assert not line.signature_matches(SECRET, body + b" ", signed(body))
    assert not line.signature_matches(SECRET, body, None)
    assert not line.signature_matches(SECRET, body, "not base64 at all")


@pytest.mark.parametrize("signature", [False, "", "c2lnbmF0dXJl", "wrong"])
def test_a_webhook_without_the_right_signature_is_refused_and_nothing_is_kept(account, signature):
    body = json.dumps(fixture("text")).encode()
    response = post_webhook(body, signature=signature or False)
    assert response.status_code == 403
    assert kept_events() == []


def test_a_webhook_signed_with_another_channels_secret_is_refused(account):
    body = json.dumps(fixture("text")).encode()
    assert post_webhook(body, signature=signed(body, "someone-else")).status_code == 403
    assert kept_events() == []


def test_a_webhook_for_an_account_we_do_not_have_is_refused(account):
    envelope = fixture("text") | {"destination": "U" + "f" * 32}
    assert post_webhook(envelope).status_code == 403
    assert kept_events() == []


def test_the_consoles_connectivity_check_with_no_events_is_answered_200(account):
    assert post_webhook(fixture("verification")).status_code == 200
    # before the account is connected too: nothing is kept either way
    unknown = fixture("verification") | {"destination": "U" + "e" * 32}
    assert post_webhook(unknown, signature="anything").status_code == 200


def test_a_webhook_larger_than_a_megabyte_is_refused(account):
    envelope = fixture("text")
    envelope["events"][0]["message"]["text"] = "x" * (1024 * 1024)
    assert post_webhook(envelope).status_code == 413


def test_a_webhook_that_is_not_json_is_refused(account):
    assert post_webhook(b"{not json").status_code == 400


def test_each_event_is_kept_once_and_handled_in_the_background(account, monkeypatch):
    from chat.channels import events
    handed = []
    monkeypatch.setattr(events, "process_soon", lambda app, rows: handed.append([row.event_id for row in rows]))
    envelope = fixture("text")
    envelope["events"].append(fixture("image")["events"][0])
    assert post_webhook(envelope).status_code == 200
    redelivered = json.loads(json.dumps(envelope))
    for event in redelivered["events"]:
        event["deliveryContext"]["isRedelivery"] = True
    assert post_webhook(redelivered).status_code == 200
    kept = kept_events()
    assert sorted((row.event_id, row.kind, row.contact) for row in kept) == [
        ("01HTJ6Z0R9T3W4X5Y6Z7A8B9C0", "message", USER), ("01HTJ6Z0R9T3W4X5Y6Z7A8B9C1", "message", USER)]
    assert handed == [["01HTJ6Z0R9T3W4X5Y6Z7A8B9C0", "01HTJ6Z0R9T3W4X5Y6Z7A8B9C1"]]


@pytest.mark.parametrize("name", ["standby", "group_text"])
def test_events_another_bot_answers_and_group_chats_are_not_ours(account, name):
    assert line.event_row(account, fixture(name)["events"][0]) is None


@pytest.mark.parametrize("name,kind", [("text", "message"), ("image", "message"), ("postback", "postback"),
                                       ("follow", "follow"), ("unfollow", "unfollow"), ("sticker", "message")])
def test_a_users_events_are_kept_by_their_webhook_event_id(account, name, kind):
    event = fixture(name)["events"][0]
    row = line.event_row(account, event)
    assert (row.channel, row.event_id, row.kind, row.contact) == ("line", event["webhookEventId"], kind, USER)
    assert json.loads(row.payload) == event


# ---- reading events ----

def test_a_text_message_reads_as_the_customers_words_with_a_fresh_reply_token():
    event = fixture("text")["events"][0]
    sent_at = line.event_time(event)
    incoming = line.incoming_of(event, name="Ann", now=sent_at + timedelta(seconds=3))
    assert incoming.text == "Hello, I have a question about my order"
    assert incoming.contact.external_id == USER and incoming.contact.name == "Ann"
    assert incoming.event_id == "01HTJ6Z0R9T3W4X5Y6Z7A8B9C0"
    assert incoming.reply_token == "b60d432864f44d079f6d8efe86cf404b"
    assert incoming.sent_at.isoformat() == "2025-11-24T16:00:00"


def test_a_reply_token_is_not_offered_from_a_redelivery_or_an_old_event():
    event = fixture("text")["events"][0]
    sent_at = line.event_time(event)
    assert line.incoming_of(event, now=sent_at + timedelta(seconds=51)).reply_token is None
    event["deliveryContext"]["isRedelivery"] = True
    assert line.incoming_of(event, now=sent_at).reply_token is None


def test_an_image_is_a_file_to_fetch_from_the_content_api():
    incoming = line.incoming_of(fixture("image")["events"][0])
    assert incoming.text == ""
    assert [(media.kind, media.provider_id) for media in incoming.media] == [("image", "354718705033693859")]


def test_a_file_keeps_its_name():
    incoming = line.incoming_of(fixture("file")["events"][0])
    assert [(media.kind, media.filename) for media in incoming.media] == [("document", "invoice.pdf")]


def test_a_tapped_quick_reply_is_the_buttons_id_with_its_title_as_the_words():
    event = fixture("postback")["events"][0]
    incoming = line.incoming_of(event, button_title={"btn_agent": "Talk to Expert"}.get)
    assert (incoming.button_id, incoming.text) == ("btn_agent", "Talk to Expert")
    unknown = line.incoming_of(event, button_title={}.get)
    assert (unknown.button_id, unknown.text) == ("btn_agent", "btn_agent")


def test_stickers_and_locations_reach_the_agent_as_words():
    assert line.incoming_of(fixture("sticker")["events"][0]).text == "(sticker)"
    location = line.incoming_of(fixture("location")["events"][0]).text
    assert location.startswith("📍 my location\n1-3 Kioicho")
    assert location.endswith("https://www.google.com/maps?q=35.67966,139.73669")


def test_button_titles_come_from_the_sites_menu_and_the_bots_answer_buttons(site):
    titles = line.button_titles(site)
    assert titles["btn_agent"] == "Talk to an expert"
    assert "That helped" in titles.values()


# ---- handling events ----

def test_a_message_event_hands_the_customers_words_and_profile_name_to_inbound(account, fake, monkeypatch):
    from chat.channels import inbound
    received = []
    monkeypatch.setattr(inbound, "receive", lambda acc, incoming: received.append((acc.id, incoming)))
    fake.state.profiles[USER] = "Kenji"
    row = line.event_row(account, fixture("postback")["events"][0])
    line.CHANNEL.handle(account, row)
    (account_id, incoming), = received
    assert account_id == account.id
    assert (incoming.contact.name, incoming.button_id, incoming.text) == ("Kenji", "btn_agent", "Talk to an expert")


def test_a_customers_photo_starts_their_chat_as_an_attachment_under_their_profile_name(account, site, fake):
    fake.state.profiles[USER] = "Kenji"
    fake.state.contents["354718705033693859"] = (image_bytes("PNG", size=(80, 60)), "image/png")
    line.CHANNEL.handle(account, line.event_row(account, fixture("image")["events"][0]))
    visitor = db.session.execute(db.select(Visitor).where(Visitor.external_id == USER)).scalar_one()
    chat = db.session.execute(db.select(ChatSession).where(ChatSession.visitor_id == visitor.id)).scalar_one()
    assert (visitor.name, visitor.channel, chat.channel) == ("Kenji", "line", "line")
    sent, = [m for m in messages.after(chat.id) if m.sender_type == "visitor"]
    assert sent.client_id == "01HTJ6Z0R9T3W4X5Y6Z7A8B9C1" and sent.sender_name == "Kenji"
    (photo,) = json.loads(sent.extras)["attachments"]
    assert (photo["kind"], photo["content_type"], photo["width"]) == ("image", "image/png", 80)


def test_the_name_we_keep_saves_a_profile_lookup(account, site, fake):
    line_chat(site, name="Ann")
    assert line.CHANNEL.name_of(account, USER) == "Ann"
    fake.state.profiles["U" + "1" * 32] = "Kenji"
    assert line.CHANNEL.name_of(account, "U" + "1" * 32) == "Kenji"
    assert [call["path"] for call in fake.state.calls] == ["/v2/bot/profile/U" + "1" * 32]


def test_a_block_tells_the_agent_of_the_open_chat_that_messages_will_not_reach_the_customer(account, site):
    chat = line_chat(site)
    row = line.event_row(account, fixture("unfollow")["events"][0])
    line.CHANNEL.handle(account, row)
    line.CHANNEL.handle(account, row)             # handled again after a crash: one line
    texts = [(m.sender_type, m.text) for m in messages.after(chat.id)]
    assert texts == [("system", "The customer blocked the account; messages will not reach them.")]


def test_a_follow_learns_the_profile_name_and_shows_nothing(account, site, fake):
    chat = line_chat(site, name=None)
    fake.state.profiles[USER] = "Kenji"
    line.CHANNEL.handle(account, line.event_row(account, fixture("follow")["events"][0]))
    assert db.session.get(Visitor, chat.visitor_id, populate_existing=True).name == "Kenji"
    assert messages.after(chat.id) == []


def test_an_unblock_during_an_open_chat_is_told_to_the_agent(account, site):
    chat = line_chat(site)
    event = fixture("follow")["events"][0]
    event["follow"]["isUnblocked"] = True
    line.CHANNEL.handle(account, line.event_row(account, event))
    assert [m.text for m in messages.after(chat.id)] == ["The customer unblocked the account; messages reach them again."]


def test_the_customers_image_is_fetched_from_the_content_api(account, fake):
    picture = image_bytes("PNG")
    fake.state.contents["354718705033693859"] = (picture, "image/png")
    media = line.incoming_of(fixture("image")["events"][0]).media[0]
    data, content_type, filename = line.CHANNEL.download(account, media)
    assert (data, content_type) == (picture, "image/png")
    assert filename.startswith("line-image-")


def test_a_video_is_fetched_once_line_has_prepared_it(account, fake):
    fake.state.contents["325709"] = (b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64, "video/mp4")
    data, content_type, _ = line.CHANNEL.download(account, Media(kind="video", provider_id="325709"))
    assert content_type == "video/mp4" and data.startswith(b"\x00\x00\x00\x18ftyp")
    assert [call["path"] for call in fake.state.calls] == ["/v2/bot/message/325709/content/transcoding",
                                                           "/v2/bot/message/325709/content"]


def test_a_file_line_no_longer_has_cannot_be_fetched(account):
    media = line.incoming_of(fixture("image")["events"][0]).media[0]
    with pytest.raises(SendError) as refused:
        line.CHANNEL.download(account, media)
    assert not refused.value.retry


# ---- sending ----

def test_a_fresh_reply_token_answers_once_and_the_next_message_is_pushed(account, site, fake):
    token = fake.state.new_reply_token(USER)
    line_chat(site, reply_token=token, token_age=5)
    first = line.CHANNEL.send(account, outbox_row(), bot_message("Welcome to Demo Shop"))
    second_row = outbox_row()
    line.CHANNEL.send(account, second_row, agent_message("Alice here, how can I help?"))
    assert [send["via"] for send in fake.state.sent] == ["reply", "push"]
    assert first.provider_message_id == fake.phone_messages(USER)[0]["id"]
    assert fake.state.sent[1]["retry_key"] == second_row.retry_key
    visitor = db.session.execute(db.select(Visitor)).scalar_one()
    assert visitor.reply_token is None


def test_a_reply_token_older_than_50_seconds_is_not_used(account, site, fake):
    line_chat(site, reply_token=fake.state.new_reply_token(USER), token_age=51)
    line.CHANNEL.send(account, outbox_row(), agent_message("Sorry for the wait"))
    assert [send["via"] for send in fake.state.sent] == ["push"]


def test_a_reply_token_line_refuses_is_followed_by_a_push_in_the_same_attempt(account, site, fake):
    token = fake.state.new_reply_token(USER)
    line_chat(site, reply_token=token, token_age=5)
    fake.state.expire_reply_tokens()
    line.CHANNEL.send(account, outbox_row(), agent_message("Still there?"))
    assert [send["via"] for send in fake.state.sent] == ["push"]
    assert [call["path"] for call in fake.state.calls] == ["/v2/bot/message/reply", "/v2/bot/message/push"]


def test_a_push_retried_after_line_took_it_is_delivered_once(account, site, fake):
    line_chat(site)
    fake.state.accept_then_fail = 1          # LINE takes it, but its answer is lost
    row = outbox_row()
    with pytest.raises(SendError) as lost:
        line.CHANNEL.send(account, row, agent_message("Your order shipped"))
    assert lost.value.retry
    sent = line.CHANNEL.send(account, row, agent_message("Your order shipped"))   # the outbox's retry
    assert sent is not None
    assert [item["text"] for item in fake.phone_messages(USER)] == ["Your order shipped"]
    assert [call["retry_key"] for call in fake.state.calls] == [row.retry_key, row.retry_key]


@pytest.mark.parametrize("status", [500, 503, 429])
def test_busy_or_failing_line_is_retried(account, site, fake, status):
    line_chat(site)
    fake.state.fail_next = [status]
    with pytest.raises(SendError) as failed:
        line.CHANNEL.send(account, outbox_row(), agent_message("Hello"))
    assert failed.value.retry
    assert fake.state.sent == []


def test_a_refused_message_fails_with_lines_reason(account, site, fake):
    line_chat(site)
    with pytest.raises(SendError) as refused:
        line.CHANNEL.send(account, outbox_row(), agent_message(""))
    assert not refused.value.retry and refused.value.text == "This message has nothing LINE can show."
    account.access_token = "revoked"
    db.session.commit()
    with pytest.raises(SendError) as unauthorised:
        line.CHANNEL.send(account, outbox_row(), agent_message("Hello"))
    assert not unauthorised.value.retry
    assert unauthorised.value.text == "LINE refused the channel access token; reconnect the LINE account with a valid one."


def test_the_monthly_quota_is_not_retried(account, site, fake, monkeypatch):
    response = SimpleNamespace(status_code=429, headers={}, text="",
                               json=lambda: {"message": "You have reached your monthly limit."})
    error = line_api.failure(response)
    assert not error.retry and "used all the messages its plan allows this month" in error.text


def test_the_bots_buttons_are_quick_replies_whose_data_is_the_button_id(account, site, fake):
    line_chat(site)
    buttons = [{"id": "btn_shipping", "title": "Shipping"}, {"id": "btn_agent", "title": "Talk to Expert"}]
    line.CHANNEL.send(account, outbox_row(), bot_message("How can we help?", buttons))
    shown, = fake.phone_messages(USER)
    assert shown["text"] == "How can we help?" and shown["sender"] == "Assistant"
    assert shown["buttons"] == [{"id": "btn_shipping", "title": "Shipping"}, {"id": "btn_agent", "title": "Talk to Expert"}]
    action = fake.state.sent[0]["messages"][0]["quickReply"]["items"][1]["action"]
    assert action == {"type": "postback", "label": "Talk to Expert", "data": "btn_agent", "displayText": "Talk to Expert"}


def test_links_are_lines_of_the_text_and_the_agent_signs_the_message(account, site, fake):
    line_chat(site)
    message = agent_message("See our guide", extras={"links": [{"title": "Returns", "url": "https://shop.example/r"}]})
    line.CHANNEL.send(account, outbox_row(), message)
    sent = fake.state.sent[0]["messages"][0]
    assert sent["text"] == "See our guide\nReturns: https://shop.example/r"
    assert sent["sender"] == {"name": "Alice"}


def test_a_sender_name_line_would_refuse_is_left_out():
    assert line_api.sender_of(agent_message("Hi", sender_name="Line Manager")) is None
    assert line_api.sender_of(agent_message("Hi", sender_name="A very long agent name indeed")) == {
        "name": "A very long agent na"}


def test_a_long_text_goes_in_pieces_line_accepts(account, site, fake):
    line_chat(site)
    line.CHANNEL.send(account, outbox_row(), agent_message("a" * 5000 + "b" * 10))
    assert [len(item["text"]) for item in fake.phone_messages(USER)] == [5000, 10]


def test_an_image_goes_as_a_link_line_fetches_from_the_public_address(app, account, site, fake, agents):
    app.config["APP_ORIGIN"] = "https://chat.example"
    chat = line_chat(site, agent=agents[0])
    photo = attachments.accept(FileStorage(stream=io.BytesIO(image_bytes("PNG", size=(400, 300))),
                                           filename="photo.png"), chat, Uploader("agent", agents[0].id))
    stored = messages.post_agent(chat, agents[0], "Here it is", "c-1", attachment_ids=[photo.id])
    line.CHANNEL.send(account, outbox_row(), db.session.get(Message, stored.id))
    image, text = fake.phone_messages(USER)
    assert image["type"] == "image" and text["text"] == "Here it is"
    assert image["media_url"].startswith(f"https://chat.example/attachments/{photo.id}?token=")
    assert image["preview_url"].startswith(f"https://chat.example/attachments/{photo.id}/thumbnail?token=")
    fetched = app.test_client().get(image["media_url"].removeprefix("https://chat.example"))
    assert fetched.status_code == 200 and fetched.mimetype == "image/png"


def test_an_image_cannot_go_without_a_public_address(app, account, site, fake, agents):
    app.config["APP_ORIGIN"] = ""
    chat = line_chat(site, agent=agents[0])
    photo = attachments.accept(FileStorage(stream=io.BytesIO(image_bytes("PNG")), filename="p.png"), chat,
                               Uploader("agent", agents[0].id))
    stored = messages.post_agent(chat, agents[0], "", "c-2", attachment_ids=[photo.id])
    with pytest.raises(SendError) as refused:
        line.CHANNEL.send(account, outbox_row(), db.session.get(Message, stored.id))
    assert not refused.value.retry and "APP_ORIGIN" in refused.value.text


def test_in_development_without_app_origin_files_link_to_where_bin_run_serves(app, monkeypatch):
    app.config.update(APP_ORIGIN="", CHAT_ENV="development")
    monkeypatch.setenv("PORT", "5123")
    assert line_api.public_url("/attachments/x") == "http://127.0.0.1:5123/attachments/x"


def test_a_system_line_goes_out_in_its_words_without_a_sender_name(account, site, fake):
    """The sender hands a system line over in the phone's words (channels/words.py, tested through
    the sender in test_channel_outbox); LINE shows it as the account's own, with no name."""
    line_chat(site)
    words = "Chat ended. Type 'menu' to return to the main menu."
    line_message = SimpleNamespace(sender_type="system", sender_name=None, text=words,
                                   extras=json.dumps({"event": "ended", "reason": "agent"}))
    line.CHANNEL.send(account, outbox_row(), line_message)
    assert [item["text"] for item in fake.phone_messages(USER)] == [words]
    assert fake.state.sent[0]["messages"][0].get("sender") is None


def test_the_loading_animation_shows_while_an_answer_is_written(account, fake):
    line.CHANNEL.show_writing(account, SimpleNamespace(external_id=USER), "01HTJ6Z0R9T3W4X5Y6Z7A8B9C0")
    assert fake.state.loading == [{"chatId": USER, "loadingSeconds": 20}]


def test_the_loading_animation_never_raises(account):
    account.api_base = "http://127.0.0.1:9"
    line.CHANNEL.show_writing(account, SimpleNamespace(external_id=USER), None)


# ---- connecting ----

def test_connecting_learns_the_bots_user_id_and_name(fake):
    described = line.CHANNEL.describe_account({"access_token": TOKEN, "api_base": fake.base_url})
    assert described == {"external_id": BOT_ID, "display_name": "Demo Shop"}


def test_connecting_with_a_wrong_token_or_address_says_why(fake):
    with pytest.raises(SendError) as wrong:
        line.CHANNEL.describe_account({"access_token": "nope", "api_base": fake.base_url})
    assert wrong.value.text == "LINE did not accept this channel access token."
    with pytest.raises(SendError) as unreachable:
        line.CHANNEL.describe_account({"access_token": TOKEN, "api_base": "http://127.0.0.1:9"})
    assert unreachable.value.text.startswith("LINE could not be reached at http://127.0.0.1:9")


# ---- the fake's phone ----

def test_the_fake_phone_signs_its_events_as_line_does(fake, app, account):
    fake.state.webhook_url = "http://127.0.0.1:9/channels/line/webhook"    # nobody there
    answered = fake.phone("alice", text="hi")
    assert answered["webhook_status"].startswith("unreachable")
    posted = fake.state.webhooks[-1]
    assert line.signature_matches(SECRET, posted["body"], posted["signature"])
    event = json.loads(posted["body"])["events"][0]
    assert event["source"]["userId"] == user_id_of("alice") and event["message"]["text"] == "hi"
    assert fake.state.use_reply_token(event["replyToken"]) == user_id_of("alice")
    assert fake.state.use_reply_token(event["replyToken"]) is None            # single use
