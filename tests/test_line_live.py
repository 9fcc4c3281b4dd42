"""LINE end to end: a live server (wsgi.py, the demo site as seeded, its bot on) connected by
`flask chat connect-line` to the fake LINE API (tests/support/fake_line.py), whose phone plays
the customer. The customer greets, taps "Talk to Expert", an agent accepts on a real dashboard
socket; text and a photo go both ways; the first answers use the (free) reply token while it is
fresh, a late agent reply is pushed with its retry key; `end chat` ends it with the menu's words."""
import base64
import subprocess
import sys

import pytest
import requests

from tests.support import (
    ROOT, LiveServer, connect_agent, flask_cli, free_port, login, server_environment, wait_until,
)
from tests.support.fake_line import FakeLine, user_id_of
from tests.support.files import image_bytes
from tests.test_attachments_live import agent_upload, uploaded

SECRET = "live-line-channel-secret"
TOKEN = "live-line-channel-access-token"
PHONE = "ken"


@pytest.fixture(scope="module")
def line_server(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("line")
    fake = FakeLine(channel_secret=SECRET, access_token=TOKEN)
    port = free_port()
    # LINE fetches the images we send from our public address.
    live = LiveServer(workdir, env=server_environment(workdir, {"APP_ORIGIN": f"http://127.0.0.1:{port}"}), port=port)
    live.prepare_database(as_seeded=True)
    connected = flask_cli(live.env, "chat", "connect-line", "--site", "demo", "--channel-secret", SECRET,
                          "--access-token", TOKEN, "--api-base", fake.base_url)
    assert connected.returncode == 0, connected.stderr + connected.stdout
    assert SECRET not in connected.stdout + connected.stderr and TOKEN not in connected.stdout + connected.stderr
    fake.state.webhook_url = live.url + "/channels/line/webhook"
    live.start()
    yield live, fake
    live.stop()
    fake.close()


def on_phone(fake, predicate, what, timeout=20):
    """The first message the business sent the phone that matches, waiting for it."""
    return wait_until(lambda: next((m for m in fake.phone_messages(PHONE) if predicate(m)), None),
                      timeout=timeout, message=f"the phone to show {what}")


def phone_text(fake, text):
    return on_phone(fake, lambda m: m["text"] == text, repr(text))


def age_reply_token(server, user_id, seconds):
    """Make the contact's kept reply token `seconds` old, as if the agent answered late."""
    code = ("import sys\nfrom datetime import timedelta\nfrom chat import create_app\nfrom chat.extensions import db\n"
            "from chat.models import Visitor, utcnow\n"
            "with create_app().app_context():\n"
            "    db.session.execute(db.update(Visitor).where(Visitor.external_id == sys.argv[1])\n"
            "                       .values(reply_token_at=utcnow() - timedelta(seconds=int(sys.argv[2]))))\n"
            "    db.session.commit()\n")
    subprocess.run([sys.executable, "-c", code, user_id, str(seconds)], cwd=ROOT, env=server.env, check=True,
                   timeout=60)


def test_a_line_customer_reaches_an_agent_and_they_exchange_text_and_photos(line_server, clients):
    server, fake = line_server
    agent_http = login(server)
    agent = connect_agent(server, agent_http)
    clients.append(agent)
    user_id = user_id_of(PHONE)

    # The customer greets: the bot answers with the menu, once, as a reply (free).
    assert fake.phone(PHONE, text="hi", name="Ken Sato")["webhook_status"] == 200
    menu = on_phone(fake, lambda m: m["buttons"], "the menu")
    assert [button["title"] for button in menu["buttons"]] == ["Shipping times", "Returns", "Talk to Expert"]
    assert (menu["via"], menu["sender"]) == ("reply", "Assistant")

    # "Talk to Expert": the phone shows that it is being answered, then hears of the handoff.
    assert fake.phone(PHONE, postback="btn_agent")["webhook_status"] == 200
    handoff = phone_text(fake, "Connecting you to an agent… Type 'end chat' to return to the menu.")
    assert handoff["via"] == "reply"
    wait_until(lambda: any(item["chatId"] == user_id for item in fake.state.loading), message="the loading animation")
    assert len([m for m in fake.phone_messages(PHONE) if m["buttons"]]) == 1       # one menu, not two

    waiting = agent.wait_for("queue_update", lambda u: u.get("visitor_name") == "Ken Sato" and u.get("in_line"))
    session_id = waiting["session_id"]
    assert agent.call("claim_session", {"session_id": session_id})["ok"]
    assert agent.call("join_session", {"session_id": session_id, "last_seq": 0})["ok"]
    assert phone_text(fake, "Demo Agent is now chatting with you.")["via"] == "push"

    # Text and a photo from the phone reach the agent; a redelivery stores nothing new.
    fake.phone(PHONE, text="Where is my order #1234?")
    agent.wait_for("message", lambda m: m["session_id"] == session_id and m["text"] == "Where is my order #1234?")
    assert fake.redeliver_last()["webhook_status"] == 200
    photo = image_bytes("PNG", size=(320, 240), color="blue")
    fake.phone(PHONE, image=base64.b64encode(photo).decode(), mime_type="image/png", caption="The box was open")
    with_photo = agent.wait_for("message", lambda m: m["session_id"] == session_id and m.get("attachments"))
    agent.wait_for("message", lambda m: m["session_id"] == session_id and m["text"] == "The box was open")
    (attachment,) = with_photo["attachments"]
    assert (attachment["kind"], attachment["content_type"], attachment["width"]) == ("image", "image/png", 320)
    fetched = agent_http.get(f"{server.url}/attachments/{attachment['id']}", timeout=5)
    assert fetched.status_code == 200 and fetched.headers["Content-Type"] == "image/png"
    history = agent.call("sync", {"session_id": session_id, "after_seq": 0})["messages"]
    assert [m["text"] for m in history].count("Where is my order #1234?") == 1

    # The agent answers at once: the photo's reply token is fresh, so it goes as a reply.
    answer = agent.call("send_message", {"session_id": session_id, "text": "Let me check that for you.",
                                         "client_id": "line-a-1"})
    assert answer["ok"], answer
    shown = phone_text(fake, "Let me check that for you.")
    assert (shown["via"], shown["sender"]) == ("reply", "Demo Agent")
    agent.wait_for("message_delivery", lambda d: d["message_id"] == answer["message"]["id"] and d["state"] == "sent")

    # A late answer with a photo: the token is stale, so it is pushed with the outbox row's retry key.
    age_reply_token(server, user_id, 120)
    parcel = uploaded(agent_upload(server, agent_http, session_id, image_bytes("PNG", size=(200, 150)), "parcel.png"))
    late = agent.call("send_message", {"session_id": session_id, "text": "Here is your parcel, leaving today.",
                                       "client_id": "line-a-2", "attachments": [parcel["attachment_id"]]})
    assert late["ok"], late
    text = phone_text(fake, "Here is your parcel, leaving today.")
    image = on_phone(fake, lambda m: m["type"] == "image", "the parcel photo")
    assert text["via"] == image["via"] == "push"
    push = fake.state.sends(via="push", to=user_id)[-1]
    assert push["retry_key"] and [item["type"] for item in push["messages"]] == ["image", "text"]
    picture = requests.get(image["media_url"], timeout=5)
    assert picture.status_code == 200 and picture.headers["Content-Type"] == "image/png"
    assert requests.get(image["preview_url"], timeout=5).status_code == 200
    agent.wait_for("message_delivery", lambda d: d["message_id"] == late["message"]["id"] and d["state"] == "sent")

    # `end chat` ends it, with the menu's words on the phone.
    fake.phone(PHONE, text="end chat")
    phone_text(fake, "Chat ended. Type 'menu' to return to the main menu.")
    agent.wait_for("session_status", lambda s: s.get("session_id") == session_id and s.get("status") == "ended")


def test_a_webhook_with_a_bad_signature_is_refused(line_server):
    server, fake = line_server
    body = b'{"destination": "%s", "events": []}' % fake.state.bot_user_id.encode()
    response = requests.post(server.url + "/channels/line/webhook", data=body, timeout=5,
                             headers={"X-Line-Signature": "bm90IHRoZSBzaWduYXR1cmU=",
                                      "Content-Type": "application/json"})
    assert response.status_code == 403


def test_pushes_survive_a_failing_line_and_a_lost_answer_each_landing_once_in_order(line_server, clients):
    """30% of sends answered 500 or 429, and two pushes LINE took whose answers were lost: the
    outbox retries with the same X-Line-Retry-Key, so the phone shows every message once."""
    server, fake = line_server
    agent_http = login(server)
    agent = connect_agent(server, agent_http)
    clients.append(agent)
    phone = "mia"
    fake.phone(phone, text="hello", name="Mia Chen")
    fake.phone(phone, postback="btn_agent")
    waiting = agent.wait_for("queue_update", lambda u: u.get("visitor_name") == "Mia Chen" and u.get("in_line"))
    session_id = waiting["session_id"]
    assert agent.call("claim_session", {"session_id": session_id})["ok"]
    wait_until(lambda: any(m["text"] == "Demo Agent is now chatting with you." for m in fake.phone_messages(phone)),
               message="the claim notice")
    texts = [f"Update {n} on your order" for n in range(1, 9)]
    with fake.state.lock:
        fake.state.fail_rate, fake.state.accept_then_fail = 0.3, 2
    try:
        for n, text in enumerate(texts):
            assert agent.call("send_message", {"session_id": session_id, "text": text, "client_id": f"mia-{n}"})["ok"]
        wait_until(lambda: all(any(m["text"] == text for m in fake.phone_messages(phone)) for text in texts),
                   timeout=120, message="every update on the phone")
    finally:
        with fake.state.lock:
            fake.state.fail_rate, fake.state.accept_then_fail = 0.0, 0
    shown = [m["text"] for m in fake.phone_messages(phone) if m["text"] in texts]
    assert shown == texts                                   # each once, in the order written
    keys = [call["retry_key"] for call in fake.state.calls
            if call["path"] == "/v2/bot/message/push" and call["body"]["to"] == user_id_of(phone)]
    assert len(keys) > len(set(keys))                       # some pushes were retried with their key
