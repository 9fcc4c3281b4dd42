"""A reload brings the visitor's chat back, and the reports count that reload once."""
from playwright.sync_api import expect

from tests.browser.pages import expect_live, open_widget, start_widget_chat, unique_name
from tests.support import wait_until
from tests.support.report_fixture import restored_today


def test_a_reload_restores_the_chat_and_counts_once(server, visitor_page):
    before = restored_today(server)
    widget = open_widget(visitor_page, server)
    start_widget_chat(widget, unique_name("Reloading"))
    assert restored_today(server) == before

    visitor_page.reload()
    visitor_page.locator("#cc-chat-launcher").click()
    widget = visitor_page.frame_locator("#cc-chat-frame")
    expect(widget.locator(".message-note")).to_have_text("Your chat has been restored")
    expect_live(widget)
    wait_until(lambda: restored_today(server) == before + 1, message="the restoration counted")
    assert restored_today(server) == before + 1
