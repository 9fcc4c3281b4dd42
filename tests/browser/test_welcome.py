"""A new chat opens on the site's greeting, and says someone will come until an agent does."""
from playwright.sync_api import expect

from tests.browser.pages import (
    accept_chat, expect_messages, open_session, open_widget, send_message, start_widget_chat, unique_name,
    waiting_item,
)


def test_a_new_chat_opens_on_the_greeting_and_a_promise_until_an_agent_comes(server, visitor_page, agent_page):
    widget = open_widget(visitor_page, server)
    name = unique_name("Wanda")
    start_widget_chat(widget, name)
    greeting = widget.locator("#messages .welcome-greeting")
    expect(greeting.locator(".message-sender")).to_have_text("Demo site")
    expect(greeting.locator(".message-text")).to_have_text("Hi! How can we help?")
    expect(widget.locator("#waitingNote")).to_have_text("Someone from the team will be with you shortly.")
    send_message(widget, "Hello?")
    expect_messages(widget, ["Hello?"])                                 # the greeting is not a stored message

    open_session(agent_page, waiting_item(agent_page, name))
    accept_chat(agent_page)
    expect(widget.locator("#waitingNote")).to_be_hidden()
    expect(greeting).to_be_visible()
    visitor_page.reload()
    visitor_page.locator("#cc-chat-launcher").click()
    expect(widget.locator("#messages .welcome-greeting .message-text")).to_have_text("Hi! How can we help?")
    expect(widget.locator("#waitingNote")).to_be_hidden()
