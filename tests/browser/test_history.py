"""The history a chat window opens with is drawn by the same code as live messages: a message
looks the same either way, and a long history comes in pages, the latest first."""
import uuid

from playwright.sync_api import expect

from tests.browser.pages import (
    CHAT_MESSAGES, accept_chat, expect_messages, log_in, mine_item, open_session, send_message,
    unique_name, wait_until_dashboard_loaded, waiting_item,
)
from tests.support import connect_visitor, start_chat

MARKUP = "<b>bold?</b> & 'single' \"double\" </div><script>alert(1)</script>"


def drawn_messages(page):
    """Every message as drawn: its classes, seq, client_id, and each part's class and text."""
    return page.locator("#messages .message").evaluate_all("""items => items.map(item => ({
        classes: item.className, seq: item.dataset.seq, clientId: item.dataset.clientId || null,
        parts: Array.from(item.children, part => [part.className, part.textContent])}))""")


def test_a_message_looks_the_same_from_the_history_page_as_live(server, new_page, agent_page, clients):
    """One dashboard watches the chat live; a second, whose socket cannot connect, can only show
    the history page the server sent with the chat window: both draw the same messages."""
    name = unique_name("<i>Vera</i>")
    visitor = connect_visitor(server, start_chat(server, name=name))
    clients.append(visitor)
    open_session(agent_page, waiting_item(agent_page, name))
    accept_chat(agent_page)
    reply = visitor.call("send_message", {"text": MARKUP, "client_id": uuid.uuid4().hex})
    assert reply["ok"], reply
    send_message(agent_page, "Plain text it is.")
    expect_messages(agent_page, [MARKUP, "Plain text it is."])
    live = drawn_messages(agent_page)
    assert [message["classes"] for message in live] == [
        "message message-system", "message message-visitor", "message message-agent mine"]

    history = new_page()
    log_in(history, server)
    history.context.route("**/socket.io/**", lambda route: route.abort())
    history.reload()
    wait_until_dashboard_loaded(history)
    open_session(history, mine_item(history, name))
    expect(history.locator("#connectionStatus")).not_to_have_text("Live")
    expect_messages(history, [MARKUP, "Plain text it is."])
    assert drawn_messages(history) == live
    expect(history.locator("#messages b, #messages i, #messages script")).to_have_count(0)
    assert history.dialogs == []


def test_a_long_history_opens_at_its_latest_page_and_loads_earlier_ones_above(server, agent_page, clients):
    name = unique_name("Long")
    visitor = connect_visitor(server, start_chat(server, name=name))
    clients.append(visitor)
    lines = [f"line {n}" for n in range(1, 106)]
    for text in lines:
        assert visitor.call("send_message", {"text": text, "client_id": uuid.uuid4().hex})["ok"]

    open_session(agent_page, waiting_item(agent_page, name))
    expect_messages(agent_page, lines[5:])                  # a page is 100 messages
    earlier = agent_page.locator("#messages .load-earlier")
    expect(earlier).to_have_text("Load earlier messages")
    earlier.click()
    expect_messages(agent_page, lines)
    expect(earlier).to_have_count(0)
    expect(agent_page.locator(CHAT_MESSAGES).first).to_have_attribute("data-seq", "1")
