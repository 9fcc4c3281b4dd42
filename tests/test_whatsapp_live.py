"""WhatsApp end to end: a live server (wsgi.py), the fake Graph API (tests/support/fake_whatsapp.py)
playing Meta and the customer's phone, and an agent's real dashboard socket. The customer taps
"Talk to Expert", an agent accepts, text and photos go both ways with ticks up to `read`, `end
chat` ends it in the seed's words, `menu` starts again, and the 22-hour expiry tells the phone."""
import base64
from datetime import timedelta

import pytest
import requests

from chat.models import utcnow
from tests.support import (
    LiveServer, connect_agent, contact_texts, csrf_token, flask_cli, login, redis_url, server_environment, wait_until,
)
from tests.support.fake_whatsapp import FakeWhatsApp
from tests.support.files import image_bytes

PHONE = "16505551234"
HANDOFF = "Connecting you to an agent… Type 'end chat' to return to the menu."
ENDED = "Chat ended. Type 'menu' to return to the main menu."
EXPIRED = "Your chat session has automatically ended after 22 hours. Type 'menu' to return to the main menu."


@pytest.fixture(scope="module")
def fake():
    graph = FakeWhatsApp(access_token="token-1")
    yield graph
    graph.close()


def connected_to(live, fake):
    """The live server's database: the demo site as seeded (its bot and menu on), connected to
    the fake with the CLI."""
    live.prepare_database(as_seeded=True)
    connected = flask_cli(live.env, "chat", "connect-whatsapp", "--site", "demo",
                          "--phone-number-id", fake.state.phone_number_id, "--access-token", "token-1",
                          "--app-secret", fake.state.app_secret, "--verify-token", "verify-me",
                          "--business-account-id", fake.state.waba_id, "--api-base", fake.api_base)
    assert connected.returncode == 0, connected.stderr + connected.stdout
    assert "token-1" not in connected.stdout and fake.state.app_secret not in connected.stdout


@pytest.fixture(scope="module")
def wa_server(tmp_path_factory, fake):
    workdir = tmp_path_factory.mktemp("whatsapp")
    live = LiveServer(workdir, env=server_environment(workdir))
    connected_to(live, fake)
    live.start()
    fake.state.webhook_url = live.url + "/channels/whatsapp/webhook"
    yield live
    live.stop()


def phone_gets(fake, wanted, phone=PHONE, after=0):
    """The first message the phone got (after the n-th) for which `wanted` holds, waiting for it."""
    return wait_until(lambda: next((m for m in fake.phone_messages(phone, after) if wanted(m)), None),
                      message=f"the phone to get a message ({phone})")


def phone_sends(fake, phone=PHONE, **message):
    answer = fake.send_from_phone(phone, name="Kerry Fisher", **message)
    assert answer["webhook_status"] == 200, answer
    return answer["id"]


def delivery(agent, message_id, state):
    return agent.wait_for("message_delivery", lambda d: d["message_id"] == message_id and d["state"] == state)


def test_talk_to_expert_text_and_photos_both_ways_ticks_end_chat_and_expiry(wa_server, fake, clients):
    verified = requests.get(wa_server.url + "/channels/whatsapp/webhook", timeout=5, params={
        "hub.mode": "subscribe", "hub.verify_token": "verify-me", "hub.challenge": "8842"})
    assert (verified.status_code, verified.text) == (200, "8842")
    http = login(wa_server)
    agent = connect_agent(wa_server, http)
    clients.append(agent)

    phone_sends(fake, text="hi")
    menu = phone_gets(fake, lambda m: m["buttons"])
    assert [b["title"] for b in menu["buttons"]] == ["Shipping times", "Returns", "Talk to Expert"]
    phone_sends(fake, button_id="btn_agent")
    handoff = phone_gets(fake, lambda m: m["text"] == HANDOFF)

    session_id = agent.wait_for("queue_update", lambda u: u.get("in_line") and u.get("status") == "waiting")["session_id"]
    claimed = agent.call("claim_session", {"session_id": session_id})
    assert claimed["ok"] and claimed["session"]["channel"] == "whatsapp"
    assert claimed["session"]["window_closes_at"] is not None
    assert agent.call("join_session", {"session_id": session_id, "last_seq": 0})["ok"]
    phone_gets(fake, lambda m: m["text"] == "Demo Agent is now chatting with you.", after=handoff["n"])
    texts = [(m["sender_type"], m["text"]) for m in agent.received("message") if m["session_id"] == session_id]
    assert ("visitor", "hi") in texts and ("visitor", "Talk to Expert") in texts

    # The agent types: the customer's last message is marked read with the typing indicator.
    assert agent.call("typing", {"session_id": session_id, "is_typing": True})["ok"]
    wait_until(lambda: fake.state.typing, message="the typing indicator")

    # Text from the agent, with ticks up to read.
    sent = agent.call("send_message", {"session_id": session_id, "text": "Hello Kerry, how can I help?",
                                       "client_id": "a-1"})
    assert sent["ok"]
    reply = sent["message"]
    phone_gets(fake, lambda m: m["text"] == "Hello Kerry, how can I help?")
    delivery(agent, reply["id"], "delivered")
    fake.read_on_phone(PHONE)
    read = delivery(agent, reply["id"], "read")
    assert (read["seq"], read["error"]) == (reply["seq"], None)

    # A photo from the phone, with a caption.
    phone_sends(fake, text=None, image=base64.b64encode(image_bytes("PNG")).decode(), mime_type="image/png",
                caption="The lid is cracked")
    photo = agent.wait_for("message", lambda m: m["sender_type"] == "visitor" and m.get("attachments"))
    assert photo["text"] == "The lid is cracked" and photo["attachments"][0]["kind"] == "image"
    fetched = http.get(f"{wa_server.url}/attachments/{photo['attachments'][0]['id']}", timeout=5)
    assert fetched.status_code == 200 and fetched.headers["Content-Type"] == "image/png"

    # A photo from the agent: uploaded to WhatsApp and sent with its words as the caption.
    token = csrf_token(http.get(wa_server.url + "/dashboard", timeout=5).text)
    label = image_bytes("PNG", color="blue")
    upload = http.post(wa_server.url + "/api/v1/agent/attachments", data={"session_id": session_id},
                       files={"file": ("label.png", label, "image/png")}, headers={"X-CSRFToken": token}, timeout=5)
    assert upload.status_code == 201, upload.text
    sent = agent.call("send_message", {"session_id": session_id, "text": "Here is a return label",
                                       "client_id": "a-2", "attachments": [upload.json()["attachment_id"]]})
    assert sent["ok"]
    on_phone = phone_gets(fake, lambda m: m["type"] == "image")
    assert on_phone["text"] == "Here is a return label"
    assert requests.get(fake.url + on_phone["media_url"], timeout=5).content[:8] == b"\x89PNG\r\n\x1a\n"
    delivery(agent, sent["message"]["id"], "delivered")

    # "end chat" ends it in the seed's words; "menu" starts a new chat with the bot's menu.
    before_end = fake.phone_messages(PHONE)[-1]["n"]
    phone_sends(fake, text="end chat")
    phone_gets(fake, lambda m: m["text"] == ENDED, after=before_end)
    agent.wait_for("session_status", lambda s: s["session_id"] == session_id and s["status"] == "ended")
    phone_sends(fake, text="menu")
    second_menu = phone_gets(fake, lambda m: m["buttons"], after=before_end)
    assert [b["id"] for b in second_menu["buttons"]] == ["btn_shipping", "btn_returns", "btn_agent"]

    # Left open, the new chat ends after 22 hours, and the phone is told.
    later = (utcnow() + timedelta(hours=23)).isoformat(timespec="seconds")
    ran = flask_cli(wa_server.env, "chat", "run-jobs", "--once", "--now", later)
    assert ran.returncode == 0, ran.stderr
    phone_gets(fake, lambda m: m["text"] == EXPIRED, after=second_menu["n"])
    menus = [m for m in fake.phone_messages(PHONE) if m["buttons"]]
    assert len(menus) == 2                      # "hi" and "menu" opened chats: each got one menu, not two


def test_a_send_meta_fails_later_with_131047_is_failed_and_asks_for_a_template(wa_server, fake, clients):
    phone = "447700900123"
    http = login(wa_server)
    agent = connect_agent(wa_server, http)
    clients.append(agent)
    phone_sends(fake, phone=phone, text="Talk to an expert")
    session_id = agent.wait_for("queue_update", lambda u: u.get("in_line") and u.get("status") == "waiting")["session_id"]
    assert agent.call("claim_session", {"session_id": session_id})["ok"]
    assert agent.call("join_session", {"session_id": session_id, "last_seq": 0})["ok"]
    fake.state.closed_windows.add(phone)         # WhatsApp's clock says the window has closed; ours not yet
    sent = agent.call("send_message", {"session_id": session_id, "text": "Are you still there?", "client_id": "a-1"})
    assert sent["ok"]
    failed = delivery(agent, sent["message"]["id"], "failed")
    assert failed["needs_template"] is True
    assert failed["error"] == ("The customer last wrote more than 24 hours ago; WhatsApp only allows an approved "
                               "template now.")
    # The template picker offers the synced templates; one goes out and reaches the phone.
    token = csrf_token(http.get(wa_server.url + "/dashboard", timeout=5).text)
    url = f"{wa_server.url}/api/v1/agent/sessions/{session_id}/templates"
    listed = http.get(url, timeout=5).json()
    assert [t["name"] for t in listed["templates"]] == ["hello_again", "chat_closed_notice"]
    fake.state.closed_windows.discard(phone)      # templates are what WhatsApp lets through
    answer = http.post(url, json={"name": "hello_again", "language": "en_US", "params": ["Kerry", "Demo Agent"],
                                  "client_id": "t-1"}, headers={"X-CSRFToken": token}, timeout=5)
    assert answer.status_code == 200, answer.text
    on_phone = phone_gets(fake, lambda m: m["type"] == "template", phone=phone)
    assert on_phone["text"].startswith("Hello Kerry, this is Demo Agent from our team")
    delivery(agent, answer.json()["message"]["id"], "delivered")


def test_a_customers_photo_and_text_reaching_two_processes_keep_their_order(tmp_path):
    """Two webhooks of one customer, on two processes: the text waits for the photo before it."""
    queue = redis_url()
    graph = FakeWhatsApp(access_token="token-1")
    env = server_environment(tmp_path, {"SOCKETIO_MESSAGE_QUEUE": queue, "RATELIMIT_STORAGE_URI": queue})
    first, second = LiveServer(tmp_path, env=env), LiveServer(tmp_path, env=env)
    connected_to(first, graph)
    first.start()
    second.start()
    try:
        graph.state.webhook_url = first.url + "/channels/whatsapp/webhook"
        phone_sends(graph, text="hi")
        phone_gets(graph, lambda m: m["buttons"])
        graph.state.media_delay = 1.5                    # the photo's download keeps the first busy
        phone_sends(graph, text=None, image=base64.b64encode(image_bytes("PNG")).decode(), mime_type="image/png",
                    caption="The lid is cracked")
        graph.state.webhook_url = second.url + "/channels/whatsapp/webhook"
        phone_sends(graph, text="It came like this")
        texts = wait_until(lambda: (found := contact_texts(first, "whatsapp", PHONE)) and len(found) == 3 and found,
                           message="both messages stored")
        assert texts == ["hi", "The lid is cracked", "It came like this"]
    finally:
        first.stop()
        second.stop()
        graph.close()
