"""On a phone the dashboard is two screens (the list, then the chat, with a back button), the
open widget covers the screen, and no field is small enough for the phone to zoom into it.
On a desktop both look as they always did."""
import uuid

import pytest
from playwright.sync_api import expect

from tests.browser.pages import (
    PHONE_OPTIONS, VIEWPORT, accept_chat, expect_messages, log_in, open_widget, send_message,
    start_widget_chat, unique_name, waiting_item,
)
from tests.support import connect_visitor, start_chat

PHONE = PHONE_OPTIONS["viewport"]


@pytest.fixture
def phone_page(browser, new_page):
    """Open a page on a phone (each its own cookies)."""
    contexts = []

    def open_page():
        contexts.append(browser.new_context(**PHONE_OPTIONS))
        return new_page(contexts[-1])

    yield open_page
    for context in contexts:
        context.close()


def a_waiting_visitor(server, clients, text):
    """A visitor who has written `text` and waits; returns their name and their socket."""
    name = unique_name("Noor")
    visitor = connect_visitor(server, start_chat(server, name=name))
    clients.append(visitor)
    say(visitor, text)
    return name, visitor


def say(visitor, text):
    assert visitor.call("send_message", {"text": text, "client_id": uuid.uuid4().hex})["ok"]


def box(locator):
    return locator.bounding_box()


def expect_no_sideways_scroll(page):
    assert page.evaluate("() => document.scrollingElement.scrollWidth <= document.scrollingElement.clientWidth")


def expect_16px_text(scope, *fields):
    """A phone zooms into a field whose text is smaller than 16px."""
    for field in fields:
        expect(scope.locator(field)).to_have_css("font-size", "16px")


def test_a_phone_dashboard_shows_the_list_then_the_chat_and_back(server, phone_page, clients):
    name, visitor = a_waiting_visitor(server, clients, "Is the oak shelf back in stock?")
    dashboard = phone_page()
    log_in(dashboard, server)
    sidebar, chat_window = dashboard.locator(".sidebar"), dashboard.locator("#chatWindow")

    expect(sidebar).to_be_visible()
    expect(chat_window).to_be_hidden()
    assert box(sidebar)["width"] == PHONE["width"]
    assert abs(box(sidebar)["y"] + box(sidebar)["height"] - PHONE["height"]) < 1
    expect_no_sideways_scroll(dashboard)

    item = waiting_item(dashboard, name)
    item.tap()
    expect(dashboard.locator(".chat-title")).to_have_text(name)
    expect(sidebar).to_be_hidden()
    assert box(chat_window)["width"] == PHONE["width"]
    expect_no_sideways_scroll(dashboard)

    accept_chat(dashboard)
    expect_16px_text(dashboard, "#messageInput")
    send_message(dashboard, "Yes, it came in this morning.")
    expect_messages(dashboard, ["Is the oak shelf back in stock?", "Yes, it came in this morning."])

    back = dashboard.get_by_role("button", name="Back to chats")
    back.tap()
    expect(sidebar).to_be_visible()
    expect(chat_window).to_be_hidden()

    # The chat is still open behind the list, but not on screen: a new message is unread.
    mine = dashboard.locator("#mySessions .session-item.session-selected")
    say(visitor, "Great, I'll order it.")
    expect(mine.locator(".unread")).to_have_text("1")

    mine.press("Enter")     # and by keyboard: into the chat again (read now), and back with the button
    expect(dashboard.locator(".chat-title")).to_have_text(name)
    expect_messages(dashboard, ["Is the oak shelf back in stock?", "Yes, it came in this morning.",
                                "Great, I'll order it."])
    expect(mine.locator(".unread")).to_be_hidden()
    back.focus()
    back.press("Enter")
    expect(sidebar).to_be_visible()


def test_the_open_widget_covers_a_phone_screen_and_its_fields_do_not_zoom(server, phone_page):
    page = phone_page()
    widget = open_widget(page, server)
    assert box(page.locator("#cc-chat-frame")) == {"x": 0, "y": 0, **PHONE}
    expect(page.locator("#cc-chat-launcher")).to_be_hidden()     # it would cover the Send button
    expect_16px_text(widget, "#visitorName", "#visitorEmail")

    start_widget_chat(widget, unique_name("Ana"))
    expect_16px_text(widget, "#messageInput")
    send_message(widget, "Hello from my phone")
    expect_messages(widget, ["Hello from my phone"])

    widget.get_by_role("button", name="Close chat").tap()
    expect(page.locator("#cc-chat-frame")).to_be_hidden()
    expect(page.locator("#cc-chat-launcher")).to_be_visible()


def test_a_desktop_keeps_the_list_beside_the_chat_and_the_widget_in_its_corner(server, new_page, clients):
    name, _ = a_waiting_visitor(server, clients, "Do you ship to Austria?")
    dashboard = new_page()
    log_in(dashboard, server)
    waiting_item(dashboard, name).click()
    expect(dashboard.locator(".chat-title")).to_have_text(name)
    sidebar, chat_window = box(dashboard.locator(".sidebar")), box(dashboard.locator("#chatWindow"))
    assert (sidebar["x"], sidebar["width"]) == (0, 320)
    assert (chat_window["x"], chat_window["width"]) == (320, VIEWPORT["width"] - 320)
    expect(dashboard.get_by_role("button", name="Back to chats")).to_be_hidden()
    expect_no_sideways_scroll(dashboard)

    page = new_page()
    open_widget(page, server)
    assert box(page.locator("#cc-chat-frame")) == {
        "x": VIEWPORT["width"] - 20 - 370, "y": VIEWPORT["height"] - 90 - 560, "width": 370, "height": 560}
    expect(page.locator("#cc-chat-launcher")).to_be_visible()
