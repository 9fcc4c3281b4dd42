"""WhatsApp and LINE chats in the dashboard (issue 16): the channel's badge, each message's ticks on
its way to the phone, a failed message's reason and Retry, WhatsApp's 24-hour window (the countdown,
then only approved templates); and the development phone page, a customer's phone against the
built-in fake providers.

The dashboard tests write their chats straight into the live server's database (`channel_chat`),
with messages in the delivery states under test; the account they name sends to a port where
nothing listens, so whatever the outbox sends again stays queued while the test looks. The phone
page's test runs a development server of its own, as `bin/run` does."""
import json
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import requests
from playwright.sync_api import expect

from tests.browser.pages import (
    CONTEXT_OPTIONS, PHONE_OPTIONS, log_in, mine_item, open_session, unique_name, waiting_item,
)
from tests.support import ROOT, LiveServer, free_port, server_environment
from tests.support.files import image_bytes

TEMPLATES = [
    {"name": "order_update", "language": "en_US", "category": "UTILITY",
     "body": "Hello {{1}}, your order {{2}} has shipped and arrives {{3}}.", "params": 3},
    {"name": "chat_follow_up", "language": "en_US", "category": "UTILITY",
     "body": "Hi {{1}}, we have an answer to your question. Reply to this message to continue the chat.",
     "params": 1},
]
CHANNEL_CHAT = """
import json, secrets, sys, uuid
from datetime import timedelta
from chat import create_app
from chat.extensions import db
from chat.models import (Agent, ChannelAccount, ChannelOutbox, ChatSession, Message, Site, Visitor,
                         hash_session_key, utcnow)
spec = json.loads(sys.argv[1])
channel = spec["channel"]
with create_app().app_context():
    site = db.session.execute(db.select(Site).filter_by(key="demo")).scalar_one()
    agent = db.session.execute(db.select(Agent).filter_by(email="demo@example.com")).scalar_one()
    account = db.session.execute(db.select(ChannelAccount).filter_by(site_id=site.id, channel=channel)).scalar_one_or_none()
    if account is None:
        account = ChannelAccount(site_id=site.id, channel=channel, external_id=uuid.uuid4().hex[:15],
                                 display_name="Test shop", business_account_id="200000000000009",
                                 access_token="test-token", signing_secret="test-secret", verify_token="test-verify")
        db.session.add(account)
    account.api_base = spec["api_base"]
    account.templates, account.templates_synced_at = json.dumps(spec["templates"]), utcnow()
    now = utcnow()
    visitor = Visitor(site_id=site.id, channel=channel, external_id=str(uuid.uuid4().int)[:12], name=spec["name"],
                      last_inbound_at=now - timedelta(seconds=spec["wrote_seconds_ago"]))
    start = now - timedelta(hours=2)
    chat = ChatSession(site=site, visitor=visitor, channel=channel, status="active", agent_id=agent.id,
                       key_hash=hash_session_key(secrets.token_urlsafe(32)), started_at=start, queued_at=start,
                       claimed_at=start, expires_at=now + timedelta(hours=20), last_activity_at=now,
                       visitor_last_seen_at=now)
    db.session.add(chat)
    db.session.flush()
    for seq, (sender, text, state, error) in enumerate(spec["lines"], 1):
        moment = start + timedelta(minutes=seq)
        message = Message(session_id=chat.id, seq=seq, client_id=uuid.uuid4().hex, sender_type=sender,
                          sender_id=agent.id if sender == "agent" else None,
                          sender_name=agent.display_name if sender == "agent" else spec["name"], text=text,
                          created_at=moment, delivery_state=state, delivery_error=error)
        db.session.add(message)
        db.session.flush()
        if state:
            # An outbox row as the sender left it: a queued one not due before tomorrow.
            db.session.add(ChannelOutbox(
                message_id=message.id, session_id=chat.id, account_id=account.id, channel=channel,
                recipient=visitor.external_id, state={"queued": "queued", "failed": "failed"}.get(state, "sent"),
                attempts=1, next_attempt_at=now + timedelta(days=1), retry_key=str(uuid.uuid4()),
                provider_message_id=None if state == "queued" else "wamid." + uuid.uuid4().hex,
                error_code="131026" if state == "failed" else None, error_text=error, created_at=moment,
                sent_at=None if state in ("queued", "failed") else moment))
    chat.last_seq, chat.last_message_at = len(spec["lines"]), start + timedelta(minutes=len(spec["lines"]))
    chat.last_message_preview = spec["lines"][-1][1][:200]
    db.session.commit()
    print(chat.id)
"""
UNDELIVERABLE = "WhatsApp could not deliver this message to the customer's phone (not on WhatsApp, or an old app)."


def channel_chat(server, name, lines, channel="whatsapp", wrote_seconds_ago=60):
    """An active chat of the demo agent on `channel`, whose customer last wrote `wrote_seconds_ago`;
    `lines` are (sender, text, delivery state, error). Returns the chat's id."""
    spec = {"channel": channel, "name": name, "lines": lines, "wrote_seconds_ago": wrote_seconds_ago,
            "templates": TEMPLATES, "api_base": f"http://127.0.0.1:{free_port()}"}    # nothing listens there
    result = subprocess.run([sys.executable, "-c", CHANNEL_CHAT, json.dumps(spec)], cwd=ROOT, env=server.env,
                            check=True, timeout=60, capture_output=True, text=True)
    return result.stdout.strip().splitlines()[-1]


def screenshot(page, name):
    """Kept in CHANNEL_SCREENSHOTS when set (to look at them), else nowhere."""
    folder = os.environ.get("CHANNEL_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"))


def dashboard(new_page, server):
    """The demo agent's dashboard, opened after the test wrote its chat (nothing announced it)."""
    page = new_page()
    log_in(page, server)
    return page


def message(page, text):
    return page.locator("#messages .message").filter(has_text=text)


def test_ticks_show_how_far_each_message_got_and_a_failure_says_why(server, new_page):
    name = unique_name("Ana")
    channel_chat(server, name, [
        ("visitor", "Hi, is my parcel on its way?", None, None),
        ("agent", "Let me look.", "read", None),
        ("agent", "It left the depot this morning.", "delivered", None),
        ("agent", "Tracking: PX-1041", "sent", None),
        ("agent", "Anything else?", "queued", None),
        ("agent", "Here is the invoice.", "failed", UNDELIVERABLE),
    ])
    agent_page = dashboard(new_page, server)
    item = mine_item(agent_page, name)
    expect(item.locator(".channel-badge")).to_have_text("WhatsApp")
    open_session(agent_page, item)
    expect(agent_page.locator("#chat .chat-title .channel-badge")).to_have_text("WhatsApp")
    for text, label in (("Let me look.", "Read"), ("It left the depot", "Delivered"), ("Tracking", "Sent"),
                        ("Anything else?", "Waiting to be sent")):
        expect(message(agent_page, text).locator(".message-time .delivery")).to_have_attribute("aria-label", label)
    expect(message(agent_page, "Hi, is my parcel").locator(".delivery")).to_have_count(0)   # the customer's own
    failed = message(agent_page, "Here is the invoice.")
    expect(failed.locator(".delivery-failed")).to_contain_text("Not delivered: " + UNDELIVERABLE)
    expect(failed.get_by_role("button", name="Retry")).to_be_visible()
    expect(failed.locator(".delivery")).to_have_count(0)
    screenshot(agent_page, "dashboard-whatsapp-ticks")


def test_retry_sends_a_failed_message_again(server, new_page):
    name = unique_name("Ben")
    channel_chat(server, name, [
        ("visitor", "Can you send me the invoice?", None, None),
        ("agent", "Here is the invoice.", "failed", UNDELIVERABLE),
    ])
    agent_page = dashboard(new_page, server)
    open_session(agent_page, mine_item(agent_page, name))
    failed = message(agent_page, "Here is the invoice.")
    failed.get_by_role("button", name="Retry").click()
    # Queued again: the clock, no failure line (the provider is unreachable, so it stays queued).
    expect(failed.locator(".delivery-failed")).to_have_count(0)
    expect(failed.locator(".delivery")).to_have_attribute("aria-label", "Waiting to be sent")
    agent_page.reload()                                # the server kept it: queued, not failed
    open_session(agent_page, mine_item(agent_page, name))
    expect(message(agent_page, "Here is the invoice.").locator(".delivery")).to_have_attribute(
        "aria-label", "Waiting to be sent")


def test_line_chats_have_no_reply_window(server, new_page):
    name = unique_name("Chie")
    channel_chat(server, name, [("visitor", "Konnichiwa", None, None), ("agent", "Hello!", "sent", None)],
                 channel="line", wrote_seconds_ago=3 * 24 * 3600)
    agent_page = dashboard(new_page, server)
    item = mine_item(agent_page, name)
    expect(item.locator(".channel-badge")).to_have_text("LINE")
    open_session(agent_page, item)
    expect(agent_page.locator("#replyWindow")).to_have_count(0)
    expect(agent_page.locator("#templatePicker")).to_have_count(0)
    expect(agent_page.locator("#messageInput")).to_be_enabled()


def test_the_header_counts_down_the_reply_window(server, new_page):
    name = unique_name("Dara")
    channel_chat(server, name, [("visitor", "Hello?", None, None)], wrote_seconds_ago=42 * 60 + 30)
    agent_page = dashboard(new_page, server)
    open_session(agent_page, mine_item(agent_page, name))
    expect(agent_page.locator("#replyWindow")).to_have_text("Reply window: 23 h 12 min left")
    expect(agent_page.locator("#messageInput")).to_be_visible()
    expect(agent_page.locator("#templatePicker")).to_be_hidden()


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_a_closed_window_offers_only_approved_templates(server, browser, new_page, viewport):
    name = unique_name("Eli")
    channel_chat(server, name, [("visitor", "Is the blue jacket back?", None, None),
                                ("agent", "Not yet, I will tell you.", "read", None)],
                 wrote_seconds_ago=25 * 3600)
    page = new_page(browser.new_context(**(CONTEXT_OPTIONS if viewport == "desktop" else PHONE_OPTIONS)))
    log_in(page, server)
    open_session(page, mine_item(page, name))
    expect(page.locator("#replyWindow")).to_have_text("Reply window closed")
    expect(page.locator("#messageInput")).to_be_hidden()
    picker = page.locator("#templatePicker")
    expect(picker).to_be_visible()
    choice = picker.get_by_label("Template")
    expect(choice.locator("option")).to_have_text(["order_update (en_US)", "chat_follow_up (en_US)"])
    choice.select_option(label="order_update (en_US)")
    send = picker.get_by_role("button", name="Send template")
    expect(send).to_be_disabled()                     # every parameter first
    for number, value in ((1, name.split()[0]), (2, "#1041"), (3, "on Friday")):
        picker.get_by_label(f"Parameter {number}").fill(value)
    expected = f"Hello {name.split()[0]}, your order #1041 has shipped and arrives on Friday."
    expect(picker.locator("#templatePreview")).to_have_text(expected)
    screenshot(page, f"dashboard-template-picker-{viewport}")
    send.click()
    sent = message(page, expected)
    expect(sent).to_have_count(1)
    expect(sent.locator(".delivery")).to_have_attribute("aria-label", "Waiting to be sent")
    expect(picker).to_be_visible()                     # the window is still closed

    # A note is still the team's: Note mode brings the box back, Reply the templates.
    page.locator("#composer").get_by_role("button", name="Note").click()
    expect(picker).to_be_hidden()
    page.locator("#messageInput").fill("Customer prefers email.")
    page.locator("#messageInput").press("Enter")
    expect(page.locator("#messages .message.note").filter(has_text="Customer prefers email.")).to_have_count(1)
    page.locator("#composer").get_by_role("button", name="Reply").click()
    expect(picker).to_be_visible()
    expect(page.locator("#messageInput")).to_be_hidden()


# The customer's last message moved back a day on the server only, as if the page's clock and the
# server's disagreed (the window is decided on the server: jobs, another process, a late 131047).
WINDOW_CLOSED_ON_THE_SERVER = """
import sys
from datetime import timedelta
from chat import create_app
from chat.extensions import db
from chat.models import ChatSession
with create_app().app_context():
    chat = db.session.get(ChatSession, sys.argv[1])
    chat.visitor.last_inbound_at -= timedelta(days=1)
    db.session.commit()
"""


def test_a_reply_refused_for_the_closed_window_opens_the_picker(server, new_page):
    name = unique_name("Fay")
    chat_id = channel_chat(server, name, [("visitor", "Still there?", None, None)], wrote_seconds_ago=3600)
    agent_page = dashboard(new_page, server)
    open_session(agent_page, mine_item(agent_page, name))
    expect(agent_page.locator("#replyWindow")).to_have_text(re.compile(r"Reply window: 22 h 5\d min left"))
    subprocess.run([sys.executable, "-c", WINDOW_CLOSED_ON_THE_SERVER, chat_id], cwd=ROOT, env=server.env,
                   check=True, timeout=60)
    box = agent_page.locator("#messageInput")
    box.fill("Yes, here!")
    box.press("Enter")
    expect(agent_page.locator("#templatePicker")).to_be_visible()
    expect(agent_page.locator("#templatePicker .template-reason")).to_contain_text("24 hours")
    expect(agent_page.locator("#messageInput")).to_be_hidden()


def test_there_is_no_development_phone_outside_development(server):
    assert requests.get(server.url + "/dev/phone", timeout=5).status_code == 404
    assert requests.get(server.url + "/dev/fake/whatsapp/_phone/15550001111/messages", timeout=5).status_code == 404


# ---- the development phone page, against the built-in fakes ----

@pytest.fixture
def development_server(tmp_path):
    """A server as `bin/run` starts it: CHAT_ENV=development (the fakes mounted, the demo site's
    accounts pointed at them by seed-demo), the bot answering the demo site."""
    env = server_environment(tmp_path, {"CHAT_ENV": "development"})
    live = LiveServer(tmp_path, env=env)
    live.env["PORT"] = str(live.port)         # seed-demo points the demo accounts at this server
    live.prepare_database(as_seeded=True)
    live.start()
    yield live
    live.stop()


def expect_image(image):
    """A picture shown and loaded (not a broken image)."""
    expect(image).to_be_visible()
    expect(image).not_to_have_js_property("naturalWidth", 0)       # decoded: a broken image has none


def phone_bubble(page, text):
    return page.locator("#phoneThread .bubble.theirs").filter(has_text=text)


@pytest.mark.parametrize("channel", ["whatsapp", "line"])
def test_a_customer_on_the_development_phone_talks_to_an_agent(development_server, new_page, browser, channel):
    server = development_server
    name = unique_name("Phone")
    phone_id = "1555" + str(uuid.uuid4().int)[:7] if channel == "whatsapp" else "U" + uuid.uuid4().hex
    agent = new_page()
    log_in(agent, server)                     # an agent online: the bot hands the chat over to the queue
    phone = new_page(browser.new_context(**PHONE_OPTIONS))
    phone.goto(f"{server.url}/dev/phone?channel={channel}&phone={phone_id}&name={name}")
    expect(phone.locator("#phoneState")).to_have_text("Online")
    composer = phone.locator("#phoneText")
    composer.fill("hi")
    composer.press("Enter")
    menu = phone_bubble(phone, "Welcome to the Demo Shop")
    expect(menu.get_by_role("button", name="Talk to Expert")).to_be_visible()
    screenshot(phone, f"dev-phone-{channel}-menu-phone")
    menu.get_by_role("button", name="Talk to Expert").click()
    expect(phone_bubble(phone, "Connecting you to an agent… Type 'end chat' to return to the menu.")).to_be_visible()

    open_session(agent, waiting_item(agent, name))
    expect(agent.locator("#chat .chat-title .channel-badge")).to_have_text("WhatsApp" if channel == "whatsapp" else "LINE")
    agent.locator("#acceptButton").click()
    expect(agent.locator("#chatStatus")).to_have_text("active")
    expect(phone_bubble(phone, "Demo Agent is now chatting with you.")).to_be_visible()

    composer.fill("My order has not arrived")
    composer.press("Enter")
    expect(message(agent, "My order has not arrived")).to_have_count(1)
    box = agent.locator("#messageInput")
    box.fill("Sorry about that! Let me check.")
    box.press("Enter")
    expect(phone_bubble(phone, "Sorry about that! Let me check.")).to_be_visible()
    reply = message(agent, "Sorry about that! Let me check.")
    # WhatsApp: the phone page, in front, reads it (blue ticks); LINE tells nothing after "sent".
    expect(reply.locator(".delivery")).to_have_attribute("aria-label", "Read" if channel == "whatsapp" else "Sent")
    screenshot(agent, f"dev-phone-{channel}-dashboard")

    # A photo each way: the customer's with a caption; the agent's through the paperclip, with no text.
    composer.fill("This is the box")
    phone.locator("#phoneFile").set_input_files(
        files=[{"name": "box.png", "mimeType": "image/png", "buffer": image_bytes("PNG", (320, 240), "orange")}])
    expect(message(agent, "This is the box")).to_have_count(1)      # LINE: a message of its own after the photo
    expect_image(agent.locator("#messages .message-visitor .attachment-image img"))
    agent.locator("#composer .attach-input").set_input_files(
        files=[{"name": "label.png", "mimeType": "image/png", "buffer": image_bytes("PNG", (200, 120), "teal")}])
    expect(agent.locator("#uploadTray .upload-chip .upload-state")).to_have_text(["Ready"])
    agent.locator("#sendButton").click()
    expect_image(phone.locator("#phoneThread .bubble.theirs img"))
    photo = agent.locator("#messages .message.message-agent:not(.pending):not(:has(.message-text))")
    expect(photo.locator(".delivery")).to_have_attribute("aria-label", "Read" if channel == "whatsapp" else "Sent")

    desktop_phone = new_page()
    desktop_phone.goto(f"{server.url}/dev/phone?channel={channel}&phone={phone_id}&name={name}")
    expect(phone_bubble(desktop_phone, "Sorry about that! Let me check.")).to_be_visible()
    screenshot(desktop_phone, f"dev-phone-{channel}-desktop")
    composer.fill("end chat")
    composer.press("Enter")
    expect(phone_bubble(phone, "Chat ended. Type 'menu' to return to the main menu.")).to_be_visible()
    screenshot(phone, f"dev-phone-{channel}-ended-phone")
