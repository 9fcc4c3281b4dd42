"""A visitor on the demo page and an agent on the dashboard talk in real time."""
import uuid
from datetime import datetime, timedelta, timezone

from playwright.sync_api import expect

from tests.browser.pages import (
    UTC_OFFSET, accept_chat, expect_messages, mine_item, open_session, open_widget, send_message,
    start_widget_chat, unique_name, waiting_item,
)
from tests.support import connect_visitor, start_chat


def test_the_widget_loads_from_its_one_script_tag(server, visitor_page):
    """The demo page gets a launcher and a hidden frame; the launcher opens the start form."""
    visitor_page.goto(server.url + "/demo")
    expect(visitor_page.locator('script[src$="/widget.js"]')).to_have_count(1)
    launcher = visitor_page.locator("#cc-chat-launcher")
    expect(launcher).to_have_text("Chat")
    expect(visitor_page.locator("#cc-chat-frame")).to_be_hidden()
    launcher.click()
    widget = visitor_page.frame_locator("#cc-chat-frame")
    expect(widget.locator("#startButton")).to_be_visible()
    expect(widget.locator("#messageInput")).to_be_hidden()
    launcher.click()
    expect(visitor_page.locator("#cc-chat-frame")).to_be_hidden()


def test_a_new_chat_reaches_the_agent_live_and_messages_flow_both_ways(server, visitor_page, agent_page):
    """Start, see it in Waiting without a reload, accept, and talk both ways."""
    name = unique_name("Ann")
    agent_page.evaluate("window.notReloaded = true")
    widget = open_widget(visitor_page, server)
    start_widget_chat(widget, name, "ann@example.com")

    item = waiting_item(agent_page, name)
    expect(item).to_be_visible()
    expect(item.locator(".session-last")).to_have_text("No messages yet")
    assert agent_page.evaluate("window.notReloaded") is True

    open_session(agent_page, item)
    expect(agent_page.locator(".chat-title")).to_have_text(name)
    accept_chat(agent_page)
    expect(mine_item(agent_page, name)).to_be_visible()
    joined = widget.locator("#messages .message-system .message-text")
    expect(joined).to_have_text(["Demo Agent has joined the chat"])

    send_message(widget, "Hello, is the blue kettle in stock?")
    expect_messages(agent_page, ["Hello, is the blue kettle in stock?"])
    send_message(agent_page, "Yes, we have three left.")
    conversation = ["Hello, is the blue kettle in stock?", "Yes, we have three left.", "Great, thanks!"]
    expect_messages(widget, conversation[:2])       # read before answered (else either may be stored first)
    send_message(widget, "Great, thanks!")
    expect_messages(widget, conversation)
    expect_messages(agent_page, conversation)
    expect(widget.locator("#messages .message.mine .message-text")).to_have_text(conversation[0::2])
    expect(agent_page.locator("#messages .message.mine .message-text")).to_have_text(conversation[1:2])
    expect(mine_item(agent_page, name).locator(".session-last")).to_have_text("Great, thanks!")


def test_typing_indicators_show_and_clear_on_both_sides(server, visitor_page, agent_page):
    """Typing shows "<name> is typing…" to the other side; it clears after 2 s idle or on send."""
    name = unique_name("Tess")
    widget = open_widget(visitor_page, server)
    start_widget_chat(widget, name)
    open_session(agent_page, waiting_item(agent_page, name))
    accept_chat(agent_page)
    agent_typing = agent_page.locator("#typingIndicator")
    visitor_typing = widget.locator("#typingIndicator")
    expect(agent_typing).to_be_hidden()
    expect(visitor_typing).to_be_hidden()

    widget.locator("#messageInput").press_sequentially("Is anyone")
    expect(agent_typing).to_have_text(f"{name} is typing…")
    agent_page.locator("#messageInput").press_sequentially("Let me check")
    expect(visitor_typing).to_have_text("Demo Agent is typing…")
    expect(agent_typing).to_be_hidden()
    expect(visitor_typing).to_be_hidden()

    widget.locator("#messageInput").press_sequentially(" there?")
    expect(agent_typing).to_be_visible()
    widget.locator("#messageInput").press("Enter")
    expect_messages(agent_page, ["Is anyone there?"])
    expect(agent_typing).to_be_hidden()


def browser_clock(iso_time):
    """A message's time as the browser's time zone shows it, e.g. "08:05 AM"."""
    browser_zone = timezone(timedelta(hours=UTC_OFFSET[0], minutes=UTC_OFFSET[1]))
    moment = datetime.fromisoformat(iso_time.replace("Z", "+00:00"))
    return moment.astimezone(browser_zone).strftime("%I:%M %p")


def post_as_visitor(visitor, text):
    """Send a message from a socket visitor; returns the stored message."""
    reply = visitor.call("send_message", {"text": text, "client_id": uuid.uuid4().hex})
    assert reply["ok"], reply
    return reply["message"]


def test_message_times_show_in_the_agents_time_zone(server, agent_page, clients):
    """Messages drawn by the server and messages arriving live both show the agent's local time."""
    name = unique_name("Tim")
    visitor = connect_visitor(server, start_chat(server, name=name))
    clients.append(visitor)
    before = post_as_visitor(visitor, "Sent before the agent looked")
    open_session(agent_page, waiting_item(agent_page, name))
    live = post_as_visitor(visitor, "Sent while the agent watches")
    expect_messages(agent_page, ["Sent before the agent looked", "Sent while the agent watches"])
    expect(agent_page.locator("#messages .message-time")).to_have_text(
        [browser_clock(before["created_at"]), browser_clock(live["created_at"])])
