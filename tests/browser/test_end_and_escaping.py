"""Ending a chat from the widget, and HTML typed by a visitor shown as plain text."""
from playwright.sync_api import expect

from tests.browser.pages import (
    accept_chat, expect_messages, mine_item, open_session, open_widget, send_message,
    start_accepted_chat, start_widget_chat, unique_name, wait_until_dashboard_loaded, waiting_item,
)

HTML = "<img src=x onerror=alert(1)><script>alert(1)</script>"


def test_end_chat_in_the_widget_ends_it_for_the_agent_and_closes_the_frame(server, visitor_page, agent_page):
    """The visitor confirms End Chat: the agent's window shows it ended (and stays on it once it
    leaves the session list), and the widget's frame closes about 2 s later."""
    name = unique_name("Erin")
    widget = open_widget(visitor_page, server)
    start_widget_chat(widget, name)
    open_session(agent_page, waiting_item(agent_page, name))
    accept_chat(agent_page)
    send_message(widget, "That's all, thanks.")
    expect_messages(agent_page, ["That's all, thanks."])

    widget.locator("#endChatButton").click()
    expect(widget.locator("#messages .message-system .message-text").last).to_have_text(
        "The visitor ended the chat.")
    assert visitor_page.dialogs == [("confirm", "End this chat?")]
    expect(widget.locator("#composer")).to_be_hidden()
    expect(widget.locator("#newChatButton")).to_be_visible()
    expect(agent_page.locator("#chatStatus")).to_have_text("ended (visitor)")
    expect(mine_item(agent_page, name)).to_have_count(0)
    expect(agent_page.locator("#sessionList .session-selected")).to_have_count(0)
    expect(agent_page.locator(".chat-title")).to_have_text(name)
    expect(agent_page.locator("#chatStatus")).to_have_text("ended (visitor)")
    expect(agent_page.locator("#messages .message-system .message-text").last).to_have_text(
        "The visitor ended the chat.")
    expect(agent_page.locator("#messageInput")).to_be_disabled()
    expect(agent_page.locator("#visitorPresence")).to_have_count(0)      # no "visitor online" once ended
    ended_notices = widget.locator("#messages .message").filter(has_text="ended the chat")
    expect(ended_notices).to_have_count(1)
    expect(visitor_page.locator("#cc-chat-frame")).to_be_hidden()
    expect(visitor_page.locator("#cc-chat-launcher")).to_have_text("Chat")


def test_typing_an_end_word_in_the_widget_ends_the_chat_on_the_server(server, visitor_page, agent_page):
    """The widget keeps no list of end words: "Quit" goes out as a message, the server ends the
    chat, and both sides show it ended."""
    widget = start_accepted_chat(server, visitor_page, agent_page, unique_name("Quinn"))
    send_message(widget, "Quit")
    expect_messages(agent_page, ["Quit"])
    expect(widget.locator("#messages .message-system .message-text").last).to_have_text(
        "The visitor ended the chat.")
    expect(widget.locator("#composer")).to_be_hidden()
    expect(widget.locator("#newChatButton")).to_be_visible()
    expect(agent_page.locator("#chatStatus")).to_have_text("ended (visitor)")
    expect(agent_page.locator("#messageInput")).to_be_disabled()


def test_html_from_a_visitor_shows_as_text_and_runs_nowhere(server, visitor_page, agent_page):
    """The name and a message full of markup appear verbatim; no element, no dialog."""
    name = unique_name(HTML)
    widget = open_widget(visitor_page, server)
    start_widget_chat(widget, name)
    item = waiting_item(agent_page, name)
    expect(item).to_be_visible()
    open_session(agent_page, item)
    expect(agent_page.locator(".chat-title")).to_have_text(name)
    accept_chat(agent_page)

    widget.locator("#messageInput").press_sequentially("<b>")
    expect(agent_page.locator("#typingIndicator")).to_have_text(f"{name} is typing…")
    send_message(widget, HTML)
    expect_messages(agent_page, [HTML])
    expect_messages(widget, [HTML])
    expect(agent_page.locator("#messages .message-visitor .message-sender")).to_have_text([name])
    expect(widget.locator("#messages .message-visitor .message-sender")).to_have_text([name])
    mine = agent_page.locator("#mySessions .session-item").filter(has_text=HTML)
    expect(mine.locator(".session-visitor")).to_have_text(name)
    expect(mine.locator(".session-last")).to_have_text(HTML)

    agent_page.reload()   # the list and the chat window as the server renders them
    wait_until_dashboard_loaded(agent_page)
    open_session(agent_page, mine)
    expect(agent_page.locator(".chat-title")).to_have_text(name)
    expect_messages(agent_page, [HTML])
    for scope in (agent_page, widget):
        expect(scope.locator("body img")).to_have_count(0)
        expect(scope.locator("#messages script, #sessionList script")).to_have_count(0)
    assert agent_page.dialogs == [] and visitor_page.dialogs == []
