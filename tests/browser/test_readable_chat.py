"""What people read in a chat: refusals in plain sentences, links they can open, one name
for a visitor who gave none, and a console without Content-Security-Policy violations."""
import re

from playwright.sync_api import expect

from tests.browser.pages import (
    accept_chat, expect_messages, log_in, mine_item, open_session, open_widget, send_message,
    start_widget_chat, unique_name, wait_until_dashboard_loaded, waiting_item,
)

LINKED = "see https://example.com/a?b=1. and javascript:alert(1) and <b>x</b>"
REPLY = "Read https://example.org/help, (or http://example.net/x)."


def test_an_invalid_email_in_the_widget_start_form_gets_a_plain_sentence(server, visitor_page):
    widget = open_widget(visitor_page, server)
    widget.locator("#visitorEmail").fill("not-an-email")
    widget.locator("#startButton").click()
    expect(widget.locator("#startError")).to_have_text("Please enter a valid email address.")
    expect(widget.locator("#startError")).to_be_visible()
    expect(widget.locator("#messageInput")).to_be_hidden()


def test_http_links_in_messages_open_in_a_new_tab_on_both_sides_and_nothing_else_is_a_link(
        server, visitor_page, agent_page):
    """Each http(s) URL is a link whose href is exactly that URL (the full stop after it stays
    text); `javascript:` and markup stay text; the same after the dashboard reloads its history."""
    name = unique_name("Lina")
    widget = open_widget(visitor_page, server)
    start_widget_chat(widget, name)
    open_session(agent_page, waiting_item(agent_page, name))
    accept_chat(agent_page)
    send_message(widget, LINKED)
    expect_messages(agent_page, [LINKED])           # read before answered (else either may be stored first)
    send_message(agent_page, REPLY)
    for scope in (widget, agent_page):
        expect_messages(scope, [LINKED, REPLY])
        expect_links(scope, ".message-visitor", ["https://example.com/a?b=1"])
        expect_links(scope, ".message-agent", ["https://example.org/help", "http://example.net/x"])
        expect(scope.locator("#messages b")).to_have_count(0)

    agent_page.reload()                             # the history as the server sends it
    wait_until_dashboard_loaded(agent_page)
    open_session(agent_page, mine_item(agent_page, name))
    expect_messages(agent_page, [LINKED, REPLY])
    expect_links(agent_page, ".message-visitor", ["https://example.com/a?b=1"])
    assert visitor_page.dialogs == [] and agent_page.dialogs == []


def expect_links(scope, sender, hrefs):
    links = scope.locator(f"#messages {sender} .message-text a")
    expect(links).to_have_text(hrefs)
    for index, href in enumerate(hrefs):
        expect(links.nth(index)).to_have_attribute("href", href)
        expect(links.nth(index)).to_have_attribute("target", "_blank")
        expect(links.nth(index)).to_have_attribute("rel", "noopener noreferrer")


def test_a_visitor_who_gives_no_name_has_one_name_in_the_widget_and_the_dashboard(
        server, visitor_page, agent_page):
    """The widget's own copy while sending, the stored message, the waiting list, the chat
    title and the dashboard's message all say the same "Visitor 1a2b3c4d"."""
    widget = open_widget(visitor_page, server)
    start_widget_chat(widget, "")
    send_message(widget, "I gave no name.")
    expect_messages(widget, ["I gave no name."])
    label = widget.locator("#messages .message-visitor .message-sender").inner_text()
    assert re.fullmatch(r"Visitor [0-9a-f]{8}", label), label

    open_session(agent_page, waiting_item(agent_page, label))
    expect(agent_page.locator(".chat-title")).to_have_text(label)
    expect(agent_page.locator("#messages .message-visitor .message-sender")).to_have_text([label])

    visitor_page.context.set_offline(True)          # the next message waits, drawn by the widget alone
    expect(widget.locator("#connectionStatus")).to_have_text("Offline")
    send_message(widget, "Still here.")
    expect(widget.locator("#messages .message.pending .message-sender")).to_have_text([label])


def test_no_content_security_policy_violation_while_a_chat_is_opened_and_answered(server, new_page):
    """The console of the dashboard and of the page with the widget (its frame included) stays
    free of CSP violations from the login to the answer."""
    console = []
    agent = new_page()
    visitor = new_page()
    for page in (agent, visitor):
        page.on("console", lambda message: console.append(message.text))
    log_in(agent, server)
    name = unique_name("Cora")
    widget = open_widget(visitor, server)
    start_widget_chat(widget, name)
    send_message(widget, "Hello, see https://example.com/")
    open_session(agent, waiting_item(agent, name))
    accept_chat(agent)
    send_message(agent, "Hello! How can I help?")
    expect_messages(widget, ["Hello, see https://example.com/", "Hello! How can I help?"])
    expect_messages(agent, ["Hello, see https://example.com/", "Hello! How can I help?"])
    assert [text for text in console if "Content Security Policy" in text] == []
