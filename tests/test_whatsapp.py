"""The WhatsApp channel in-process (chat/channels/whatsapp.py): the webhook's checks, what each
of Meta's payloads means, sends against the fake Graph API (tests/support/fake_whatsapp.py),
the 24-hour window and the template picker. tests/test_whatsapp_live.py plays the whole flow."""
import base64
import hashlib
import hmac
import json
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest

from chat import access, attachments, messages, payloads, sessions
from chat.channels import SendError, channel_named
from chat.channels import accounts, whatsapp, whatsapp_send
from chat.channels.whatsapp import CHANNEL, incoming_of, status_of, templates_of
from chat.errors import ChatError
from chat.extensions import db
from chat.models import ChannelAccount, ChannelEvent, utcnow

from tests.support import logged_in_client
from tests.support.fake_whatsapp import FakeWhatsApp
from tests.support.files import image_bytes

FIXTURES = Path(__file__).parent / "fixtures" / "whatsapp"
SECRET = "fake-app-secret"
NUMBER = "109876543210"
CUSTOMER = "16505551234"


def fixture(name):
    return json.loads((FIXTURES / f"{name}.json").read_text())


def first_message(name):
    value = fixture(name)["entry"][0]["changes"][0]["value"]
    return {"message": value["messages"][0], "name": value["contacts"][0]["profile"]["name"]}


def signature(body, secret=SECRET):
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@pytest.fixture
def fake():
    graph = FakeWhatsApp(auto_statuses=False, access_token="token-1")
    yield graph
    graph.close()


@pytest.fixture
def wa_app(app):
    """The app with the WhatsApp blueprint (create_app registers it once channels are wired in)."""
    if "whatsapp" not in app.blueprints:
        app.register_blueprint(CHANNEL.blueprint)
    return app


@pytest.fixture
def account(wa_app, site, fake):
    found = ChannelAccount(site_id=site.id, channel="whatsapp", external_id=NUMBER, display_name="Demo Shop",
                           access_token="token-1", signing_secret=SECRET, verify_token="verify-me",
                           api_base=fake.api_base)
    db.session.add(found)
    db.session.commit()
    return found


@pytest.fixture
def kept(monkeypatch):
    """The events the webhook handed on for handling (handled by the tests themselves)."""
    from chat.channels import events
    handed = []
    monkeypatch.setattr(events, "process_soon", lambda app, rows: handed.extend(row.event_id for row in rows))
    return handed


def whatsapp_chat(site, agent, wrote_ago=timedelta(minutes=5)):
    """An active WhatsApp chat held by `agent`, whose customer last wrote `wrote_ago`."""
    chat, _ = sessions.start_session(site, name="Kerry Fisher")
    chat.channel = "whatsapp"
    chat.visitor.channel, chat.visitor.external_id = "whatsapp", CUSTOMER
    chat.visitor.last_inbound_at = utcnow() - wrote_ago
    db.session.commit()
    sessions.claim_session(chat, agent)
    return sessions.find_session(chat.id)


def post(client, payload, secret=SECRET, header=None):
    body = json.dumps(payload).encode() if not isinstance(payload, bytes) else payload
    headers = {"Content-Type": "application/json"}
    if header is not False:
        headers["X-Hub-Signature-256"] = header or signature(body, secret)
    return client.post("/channels/whatsapp/webhook", data=body, headers=headers)


# ---- the webhook ----

def test_the_signature_is_the_hmac_of_the_raw_body_under_the_app_secret():
    body = b'{"object": "whatsapp_business_account"}'
    assert whatsapp.signature_matches(SECRET, body, signature(body))
    assert not whatsapp.signature_matches(SECRET, body + b" ", signature(body))
    assert not whatsapp.signature_matches(SECRET, body, signature(body, "another-secret"))
    assert not whatsapp.signature_matches(SECRET, body, signature(body)[len("sha256="):])
    assert not whatsapp.signature_matches(SECRET, body, None)


def test_meta_verification_gets_the_challenge_back_only_for_a_verify_token_of_ours(wa_app, account):
    client = wa_app.test_client()
    url = "/channels/whatsapp/webhook"
    good = client.get(url, query_string={"hub.mode": "subscribe", "hub.verify_token": "verify-me",
                                         "hub.challenge": "1158201444"})
    assert (good.status_code, good.text, good.mimetype) == (200, "1158201444", "text/plain")
    for mode, token in (("subscribe", "guess"), ("unsubscribe", "verify-me"), ("subscribe", "")):
        refused = client.get(url, query_string={"hub.mode": mode, "hub.verify_token": token, "hub.challenge": "1"})
        assert refused.status_code == 403


@pytest.mark.parametrize("header", [False, "sha256=" + "0" * 64, "wrong-secret", "sha1=abc"])
def test_a_post_with_a_bad_or_missing_signature_is_refused_and_nothing_is_kept(wa_app, account, kept, header):
    payload = fixture("text")
    if header == "wrong-secret":
        answer = post(wa_app.test_client(), payload, secret="wrong-secret")
    else:
        answer = post(wa_app.test_client(), payload, header=header)
    assert answer.status_code == 403
    assert db.session.query(ChannelEvent).count() == 0 and kept == []


def test_a_post_for_a_number_no_site_has_connected_is_refused(wa_app, account, kept):
    payload = fixture("text")
    payload["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"] = "999"
    assert post(wa_app.test_client(), payload).status_code == 403
    account.active = False
    db.session.commit()
    assert post(wa_app.test_client(), fixture("text")).status_code == 403
    assert db.session.query(ChannelEvent).count() == 0


def test_a_body_over_a_megabyte_is_refused_unread(wa_app, account, kept):
    body = b"{" + b" " * (1024 * 1024) + b"}"
    assert post(wa_app.test_client(), body).status_code == 413


def test_a_message_meta_delivers_twice_is_kept_and_handed_on_once(wa_app, account, kept):
    client = wa_app.test_client()
    first, again = post(client, fixture("text")), post(client, fixture("text"))
    assert (first.status_code, again.status_code) == (200, 200)
    rows = db.session.query(ChannelEvent).all()
    wamid = fixture("text")["entry"][0]["changes"][0]["value"]["messages"][0]["id"]
    assert [(row.event_id, row.kind, row.contact) for row in rows] == [(wamid, "message", CUSTOMER)]
    assert json.loads(rows[0].payload)["name"] == "Kerry Fisher"
    assert kept == [wamid]


def test_each_state_of_a_status_is_kept_once(wa_app, account, kept):
    client = wa_app.test_client()
    for name in ("status_sent", "status_delivered", "status_sent", "status_read", "status_delivered"):
        assert post(client, fixture(name)).status_code == 200
    assert kept == ["wamid.OUT.SENTBYUS0001:sent", "wamid.OUT.SENTBYUS0001:delivered", "wamid.OUT.SENTBYUS0001:read"]


def test_a_disconnected_account_is_refused_at_once_though_webhooks_keep_its_account_for_a_few_seconds(
        wa_app, account, site, kept):
    account.business_account_id = "102030405060"         # (learning it would forget the kept account)
    db.session.commit()
    client = wa_app.test_client()
    assert post(client, fixture("status_sent")).status_code == 200       # its account is now kept in memory
    assert accounts.disconnect(site, "whatsapp")
    assert post(client, fixture("status_delivered")).status_code == 403
    assert kept == ["wamid.OUT.SENTBYUS0001:sent"]


def test_the_business_account_id_is_learned_from_the_first_webhook(wa_app, account, kept):
    assert account.business_account_id is None
    post(wa_app.test_client(), fixture("status_sent"))
    db.session.refresh(account)
    assert account.business_account_id == "102030405060"


def test_a_templates_review_is_answered_and_makes_the_picker_sync_again(wa_app, account, kept):
    account.business_account_id, account.templates_synced_at = "102030405060", utcnow()
    db.session.commit()
    review = {"object": "whatsapp_business_account", "entry": [{"id": "102030405060", "time": 1749416400, "changes": [{
        "field": "message_template_status_update", "value": {
            "event": "APPROVED", "message_template_id": 594425479261596, "message_template_name": "hello_again",
            "message_template_language": "en_US", "reason": "NONE"}}]}]}
    assert post(wa_app.test_client(), review, secret="another-app").status_code == 403
    assert post(wa_app.test_client(), review).status_code == 200
    db.session.refresh(account)
    assert account.templates_synced_at is None and kept == []


def test_an_error_report_is_answered_and_keeps_nothing(wa_app, account, kept):
    assert post(wa_app.test_client(), fixture("errors")).status_code == 200
    assert kept == []


# ---- what Meta's payloads mean ----

def test_a_text_is_the_customers_words_with_their_profile_name_and_time():
    incoming, passed_on = incoming_of(first_message("text"))
    assert passed_on
    assert (incoming.text, incoming.contact.external_id, incoming.contact.name) == (
        "Does it come in another color?", CUSTOMER, "Kerry Fisher")
    assert incoming.sent_at.isoformat() == "2025-06-08T20:59:43"
    assert incoming.event_id.startswith("wamid.") and incoming.button_id is None and incoming.media == ()


@pytest.mark.parametrize("name, button_id, text", [
    ("button_reply", "btn_agent", "Talk to Expert"),
    ("list_reply", "faq_refunds", "Refunds"),
    ("template_button", "TALK_TO_AGENT", "Talk to an expert"),
])
def test_a_tapped_button_is_its_title_and_id_whichever_shape_it_came_in(name, button_id, text):
    incoming, passed_on = incoming_of(first_message(name))
    assert passed_on and (incoming.button_id, incoming.text) == (button_id, text)


@pytest.mark.parametrize("name, kind, caption, filename", [
    ("image", "image", "This one", None),
    ("document", "document", "My invoice", "invoice.pdf"),
    ("audio", "audio", "", None),
    ("video", "video", "It rattles", None),
])
def test_a_file_is_a_media_to_fetch_with_its_caption_as_the_words(name, kind, caption, filename):
    incoming, passed_on = incoming_of(first_message(name))
    media = incoming.media[0]
    assert passed_on and incoming.text == caption
    assert (media.kind, media.provider_id, media.sha256, media.filename) == (
        kind, first_message(name)["message"][name]["id"], "REPLACED_BY_TEST", filename)


def test_a_location_is_told_in_words():
    incoming, _ = incoming_of(first_message("location"))
    assert incoming.text == "📍 Philz Coffee, 101 Forest Ave, Palo Alto, CA 94301 (37.483307, 122.148981)"


def test_a_reaction_is_no_message_and_an_unsupported_type_is_not_passed_on():
    assert incoming_of(first_message("reaction")) == (None, True)
    incoming, passed_on = incoming_of(first_message("unsupported"))
    assert not passed_on and incoming.text == "" and incoming.contact.external_id == CUSTOMER


def test_statuses_mean_delivery_states_and_131047_asks_for_a_template():
    def status(name):
        return fixture(name)["entry"][0]["changes"][0]["value"]["statuses"][0]
    assert status_of(status("status_sent")) == ("sent", None, None, False)
    assert status_of(status("status_read")) == ("read", None, None, False)
    assert status_of({"id": "w", "status": "played"})[0] == "read"
    assert status_of({"id": "w", "status": "deleted"}) is None
    state, code, text, needs_template = status_of(status("status_failed_131047"))
    assert (state, code, needs_template) == ("failed", "131047", True)
    assert text == "The customer last wrote more than 24 hours ago; WhatsApp only allows an approved template now."
    assert status_of({"id": "w", "status": "failed", "errors": [{"code": 131026, "title": "Undeliverable"}]})[2] == (
        "WhatsApp could not deliver this message to the customer's phone (not on WhatsApp, or an old app).")


# ---- sending ----

def stored(sender_type="bot", text="", **extras):
    return SimpleNamespace(sender_type=sender_type, text=text, extras=json.dumps(extras) if extras else None)


def sent_to_phone(fake):
    return fake.phone_messages(CUSTOMER)


def test_text_goes_as_one_text_message_and_its_wamid_is_what_statuses_name(account, fake):
    wamid = whatsapp_send.send_message(account, CUSTOMER, stored("agent", "Your order left today."))
    [entry] = sent_to_phone(fake)
    assert (entry["id"], entry["type"], entry["text"]) == (wamid, "text", "Your order left today.")


def test_the_bots_menu_goes_as_reply_buttons_and_more_than_three_as_a_list(account, fake):
    buttons = [{"id": "btn_shipping", "title": "Shipping"}, {"id": "btn_agent", "title": "Talk to Expert"}]
    whatsapp_send.send_message(account, CUSTOMER, stored(text="Welcome to Demo Shop\nHow can we help?", buttons=buttons))
    many = [{"id": f"b{n}", "title": f"A rather long choice number {n}"} for n in range(5)]
    whatsapp_send.send_message(account, CUSTOMER, stored(text="Pick one", buttons=many))
    menu, listed = sent_to_phone(fake)
    assert (menu["type"], menu["list"], menu["buttons"]) == ("interactive", False, buttons)
    assert menu["text"] == "Welcome to Demo Shop\nHow can we help?"
    assert (listed["list"], [b["id"] for b in listed["buttons"]]) == (True, ["b0", "b1", "b2", "b3", "b4"])
    assert all(len(b["title"]) <= 24 for b in listed["buttons"])


def test_links_become_lines_under_the_text_and_our_own_pages_absolute_ones(wa_app, account, fake):
    links = [{"title": "Returns", "url": "https://shop.example/returns"}, {"title": "Shipping", "url": "/help/demo/3"}]
    whatsapp_send.send_message(account, CUSTOMER, stored(text="See our guide.", links=links))
    wa_app.config["APP_ORIGIN"] = "https://chat.shop.example"
    whatsapp_send.send_message(account, CUSTOMER, stored(text="See our guide.", links=links))
    assert [m["text"] for m in sent_to_phone(fake)] == [
        "See our guide.\nReturns: https://shop.example/returns\nShipping",
        "See our guide.\nReturns: https://shop.example/returns\nShipping: https://chat.shop.example/help/demo/3"]


def test_text_longer_than_whatsapp_takes_goes_whole_in_several_messages(account, fake):
    text = " ".join(["word"] * 1200)                   # 5,999 characters
    wamid = whatsapp_send.send_message(account, CUSTOMER, stored("agent", text))
    parts = sent_to_phone(fake)
    assert len(parts) == 2 and all(len(p["text"]) <= 4096 for p in parts)
    assert " ".join(p["text"] for p in parts) == text and parts[-1]["id"] == wamid


def test_an_agents_photo_is_uploaded_and_sent_with_the_text_as_its_caption(site, agents, account, fake):
    chat = whatsapp_chat(site, agents[0])
    upload = SimpleNamespace(stream=__import__("io").BytesIO(image_bytes("PNG")), filename="label.png")
    attachment = attachments.accept(upload, chat, attachments.Uploader("agent", agents[0].id))
    message = messages.post_agent(chat, agents[0], "Here is your label", "c1", attachment_ids=[attachment.id])
    whatsapp_send.send_message(account, CUSTOMER, message)
    [entry] = sent_to_phone(fake)
    assert (entry["type"], entry["text"]) == ("image", "Here is your label")
    data = fake.state.media[entry["media_url"].rsplit("/", 1)[1]][0]
    assert data == attachments.read(attachment)


def test_a_template_goes_with_its_parameters(account, fake):
    wamid = whatsapp_send.send_message(account, CUSTOMER, stored("agent", "...", template={
        "name": "hello_again", "language": "en_US", "params": ["Kerry", "Alice"]}))
    [entry] = sent_to_phone(fake)
    assert entry["id"] == wamid and entry["type"] == "template"
    assert entry["text"].startswith("Hello Kerry, this is Alice from our team")


@pytest.mark.parametrize("code, retry, needs_template", [
    (130429, True, False), (131056, True, False), (131000, True, False),
    (131047, False, True), (131026, False, False), (190, False, False),
])
def test_graph_errors_say_whether_to_try_again(account, fake, code, retry, needs_template):
    fake.state.fail_next = [code]
    with pytest.raises(SendError) as refused:
        CHANNEL.send(account, SimpleNamespace(recipient=CUSTOMER), stored("agent", "Hello"))
    assert (refused.value.code, refused.value.retry, refused.value.needs_template) == (str(code), retry, needs_template)
    assert refused.value.text and len(refused.value.text) <= 300
    assert sent_to_phone(fake) == []


def test_a_server_error_or_no_answer_is_tried_again(account, fake):
    fake.state.fail_rate = 1.0
    with pytest.raises(SendError) as busy:
        CHANNEL.send(account, SimpleNamespace(recipient=CUSTOMER), stored("agent", "Hello"))
    assert busy.value.retry
    fake.close()
    with pytest.raises(SendError) as gone:
        CHANNEL.send(account, SimpleNamespace(recipient=CUSTOMER), stored("agent", "Hello"))
    assert (gone.value.code, gone.value.retry) == ("unreachable", True)


# ---- the customer's files, "writing...", the account ----

def customer_file(fake, data, mime_type="image/png"):
    media_id = "1003383421387256"
    fake.state.media[media_id] = (data, mime_type, None)
    return whatsapp.Media(kind="image", provider_id=media_id, content_type=mime_type,
                          sha256=base64.b64encode(hashlib.sha256(data).digest()).decode())


def test_a_customers_file_is_fetched_with_the_token_and_checked_against_its_sha256(account, fake):
    data = image_bytes("PNG")
    media = customer_file(fake, data)
    assert CHANNEL.download(account, media) == (data, "image/png", "whatsapp-image.jpg")
    fake.state.media[media.provider_id] = (data + b"tampered", "image/png", None)
    with pytest.raises(SendError) as damaged:
        CHANNEL.download(account, media)
    assert damaged.value.code == "sha256"


def test_a_customers_file_larger_than_the_site_takes_is_not_fetched_whole(wa_app, account, fake):
    wa_app.config["MAX_UPLOAD_MB"] = 1
    media = customer_file(fake, b"\0" * (1024 * 1024 + 1))
    with pytest.raises(SendError) as refused:
        CHANNEL.download(account, media)
    assert refused.value.code == "too_large"


def test_writing_marks_the_customers_message_read_with_the_typing_indicator(account, fake):
    CHANNEL.show_writing(account, None, "wamid.IN.1")
    assert fake.state.typing == [{"message_id": "wamid.IN.1", "typing": {"type": "text"}}]
    fake.close()
    CHANNEL.show_writing(account, None, "wamid.IN.2")          # best effort: never raises


def test_connecting_learns_the_numbers_name_and_a_wrong_token_is_a_sentence(wa_app, fake):
    assert CHANNEL.describe_account({"phone_number_id": NUMBER, "access_token": "token-1", "api_base": fake.api_base}) == {
        "external_id": NUMBER, "display_name": "Demo Shop (+1 555-010-0000)"}
    with pytest.raises(SendError) as refused:
        CHANNEL.describe_account({"phone_number_id": NUMBER, "access_token": "stale", "api_base": fake.api_base})
    assert "access token" in refused.value.text


def test_connecting_with_the_business_account_syncs_its_approved_templates_at_once(wa_app, site, fake):
    account = accounts.connect(site, "whatsapp", phone_number_id=NUMBER, access_token="token-1",
                               app_secret=SECRET, verify_token="verify-me", business_account_id=fake.state.waba_id,
                               api_base=fake.api_base)
    assert [template["name"] for template in templates_of(account)] == ["hello_again", "chat_closed_notice"]
    assert account.templates_synced_at is not None


# ---- the 24-hour window ----

@pytest.mark.parametrize("wrote_ago, allowed", [
    (timedelta(hours=23), True),
    (timedelta(hours=23, minutes=56), False),          # inside WhatsApp's 24 hours, but within the margin
    (timedelta(hours=25), False),
])
def test_an_agents_free_text_needs_the_customer_to_have_written_within_24_hours(site, agents, account, wrote_ago,
                                                                              allowed):
    chat = whatsapp_chat(site, agents[0], wrote_ago)
    if allowed:
        assert messages.post_agent(chat, agents[0], "Still there?", "c1").text == "Still there?"
        return
    # The dashboard's socket passes the facts it read of the chat (access.agent_and_chat), not the row.
    _, facts = access.agent_and_chat(agents[0].id, chat.id)
    for written_to in (chat, facts):
        with pytest.raises(ChatError) as refused:
            messages.post_agent(written_to, agents[0], "Still there?", "c1")
        assert refused.value.code == "window_closed"
        assert refused.value.message == ("The customer last wrote more than 24 hours ago; WhatsApp only allows "
                                         "an approved template now.")
    assert messages.post_note(facts, agents[0], "Offer them a template", "n1").private


def test_the_dashboards_chat_payload_says_the_channel_and_when_the_window_closes(wa_app, site, agents, account):
    chat = whatsapp_chat(site, agents[0], timedelta(hours=1))
    summary = payloads.summary(chat)
    assert summary["channel"] == "whatsapp"
    closes_at = (chat.visitor.last_inbound_at + timedelta(hours=24, minutes=-5)).isoformat() + "Z"   # the margin
    assert summary["window_closes_at"] == closes_at
    web, _ = sessions.start_session(site)
    assert (payloads.summary(web)["channel"], payloads.summary(web)["window_closes_at"]) == ("web", None)
    assert channel_named("whatsapp") is CHANNEL
    client, _ = logged_in_client(wa_app, "a@example.com", "password-1")
    window = client.get(f"/dashboard/sessions/{chat.id}").text
    assert 'data-channel="whatsapp"' in window and f'data-closes-at="{closes_at}"' in window


# ---- the template picker ----



def test_the_picker_lists_the_approved_templates_synced_from_whatsapp_and_the_window(wa_app, site, agents, account):
    account.business_account_id = "102030405060"
    db.session.commit()
    chat = whatsapp_chat(site, agents[0], timedelta(hours=30))
    client, _ = logged_in_client(wa_app, "a@example.com", "password-1")
    answer = client.get(f"/api/v1/agent/sessions/{chat.id}/templates").get_json()
    assert answer["window"]["open"] is False
    assert [(t["name"], t["params"]) for t in answer["templates"]] == [("hello_again", 2), ("chat_closed_notice", 0)]
    assert answer["templates"][0]["body"].startswith("Hello {{1}}, this is {{2}}")


def test_a_template_is_stored_as_the_agents_message_with_its_details(wa_app, site, agents, account):
    account.business_account_id = "102030405060"
    db.session.commit()
    chat = whatsapp_chat(site, agents[0], timedelta(hours=30))
    client, token = logged_in_client(wa_app, "a@example.com", "password-1")
    url = f"/api/v1/agent/sessions/{chat.id}/templates"
    client.get(url)
    send = {"name": "hello_again", "language": "en_US", "params": ["Kerry", "Alice"], "client_id": "t1"}
    answer = client.post(url, json=send, headers={"X-CSRFToken": token})
    assert answer.status_code == 200, answer.get_json()
    message = answer.get_json()["message"]
    assert message["text"].startswith("Hello Kerry, this is Alice from our team")
    assert message["template"] == {"name": "hello_again", "language": "en_US", "params": ["Kerry", "Alice"]}
    wrong = client.post(url, json=dict(send, params=["Kerry"], client_id="t2"), headers={"X-CSRFToken": token})
    assert (wrong.status_code, wrong.get_json()["error"]["message"]) == (400, "This template takes 2 parameters.")
    unknown = client.post(url, json=dict(send, name="spring_sale", client_id="t3"), headers={"X-CSRFToken": token})
    assert unknown.status_code == 400
    free_text = client.post(url, json=send)                              # no CSRF token
    assert free_text.status_code == 400


def test_only_an_agent_who_may_write_sends_a_template(wa_app, site, agents, account):
    chat = whatsapp_chat(site, agents[0], timedelta(hours=30))
    url = f"/api/v1/agent/sessions/{chat.id}/templates"
    assert wa_app.test_client().get(url).status_code == 401
    client, token = logged_in_client(wa_app, "b@example.com", "password-2")
    refused = client.post(url, json={"name": "x", "language": "en_US", "params": [], "client_id": "t1"},
                          headers={"X-CSRFToken": token})
    assert refused.status_code in (403, 404)


def test_sync_templates_from_the_command_line(wa_app, site, account):
    account.business_account_id = "102030405060"
    db.session.commit()
    result = wa_app.test_cli_runner().invoke(args=["chat", "sync-templates", "--site", "demo"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "2 approved templates: hello_again (en_US), chat_closed_notice (en_US)"


# ---- handling kept events (channels/inbound.py and channels/delivery.py take them on) ----

def kept_events(account, payload):
    return [event for _, events in whatsapp.events_of(payload, {NUMBER: account}) for event in events]


def test_every_kind_of_customer_message_reaches_the_contacts_chat(account, fake):
    photo = image_bytes("PNG")
    image = fixture("image")
    item = image["entry"][0]["changes"][0]["value"]["messages"][0]["image"]
    item["sha256"] = base64.b64encode(hashlib.sha256(photo).digest()).decode()
    fake.state.media[item["id"]] = (photo, "image/png", None)
    for payload in (fixture("text"), fixture("button_reply"), image, fixture("reaction"), fixture("unsupported")):
        for event in kept_events(account, payload):
            CHANNEL.handle(account, event)
    chat_id = whatsapp.open_chat_id(account, CUSTOMER)
    said = [(m.sender_type, m.text, m.sender_name) for m in messages.after(chat_id)
            if m.sender_type == "visitor" or m.text == whatsapp.UNSUPPORTED_TEXT]
    assert said == [("visitor", "Does it come in another color?", "Kerry Fisher"),
                    ("visitor", "Talk to Expert", "Kerry Fisher"),
                    ("visitor", "This one", "Kerry Fisher"),
                    ("system", whatsapp.UNSUPPORTED_TEXT, None)]
    photo_message = [m for m in messages.after(chat_id) if m.text == "This one"][0].to_dict()
    assert photo_message["attachments"][0]["kind"] == "image"
    assert [m for m in messages.after(chat_id) if m.text == "Talk to Expert"][0].to_dict()["button"] == "btn_agent"
    for event in kept_events(account, fixture("unsupported")):        # handled again (the sweep): no second line
        CHANNEL.handle(account, event)
    assert [m.text for m in messages.after(chat_id)].count(whatsapp.UNSUPPORTED_TEXT) == 1


def status_event(account, name, wamid):
    payload = fixture(name)
    payload["entry"][0]["changes"][0]["value"]["statuses"][0]["id"] = wamid
    return kept_events(account, payload)[0]


def test_statuses_out_of_order_leave_the_message_at_the_furthest_and_131047_asks_for_a_template(
        site, agents, account, published):
    from chat.models import ChannelOutbox, Message
    chat = whatsapp_chat(site, agents[0])
    first = messages.post_agent(chat, agents[0], "Your parcel left today.", "a1")
    second = messages.post_agent(chat, agents[0], "Anything else?", "a2")
    for message, wamid in ((first, "wamid.OUT.1"), (second, "wamid.OUT.2")):
        row = db.session.execute(db.select(ChannelOutbox).where(ChannelOutbox.message_id == message.id)).scalar_one()
        row.state, row.provider_message_id = "sent", wamid
    db.session.commit()
    for name in ("status_read", "status_sent", "status_delivered"):
        CHANNEL.handle(account, status_event(account, name, "wamid.OUT.1"))
    CHANNEL.handle(account, status_event(account, "status_failed_131047", "wamid.OUT.2"))
    db.session.expire_all()
    assert db.session.get(Message, first.id).delivery_state == "read"
    failed = db.session.get(Message, second.id)
    assert (failed.delivery_state, failed.delivery_error) == (
        "failed", "The customer last wrote more than 24 hours ago; WhatsApp only allows an approved template now.")
    told = [data for kind, event, data, *_ in published if event == "message_delivery" and data["message_id"] == second.id]
    assert told[-1]["state"] == "failed" and told[-1]["needs_template"] is True
