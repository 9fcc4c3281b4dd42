"""No chat missed: unread badges that survive a reload and clear in every tab, the count in the
tab title, and desktop notifications once the agent turns alerts on."""
import re

from playwright.sync_api import expect

from tests.browser.pages import (
    accept_chat, expect_live, log_in, mine_item, open_session, unique_name, waiting_item,
)
from tests.support import connect_visitor, start_chat

# Records the notifications the page shows (the browser's own would need a desktop).
RECORD_NOTIFICATIONS = """
window.shownNotifications = [];
window.Notification = class {
  static permission = "default";
  static requestPermission() { window.Notification.permission = "granted"; return Promise.resolve("granted"); }
  constructor(title, options) { window.shownNotifications.push([title, options.body]); }
  close() {}
};
"""


def test_unread_badges_title_and_notifications(server, new_page, clients):
    dashboard = new_page()
    dashboard.add_init_script(RECORD_NOTIFICATIONS)
    log_in(dashboard, server, "second@example.com", "second-password")
    dashboard.locator("#alertsButton").click()
    expect(dashboard.locator("#alertsButton")).to_be_hidden()

    quiet, chatty = unique_name("Quiet"), unique_name("Chatty")
    chats = {}
    for name in (quiet, chatty):
        chats[name] = start_chat(server, name=name)
        expect(waiting_item(dashboard, name)).to_be_visible()
    shown = dashboard.evaluate("() => window.shownNotifications")
    assert ["New chat waiting", quiet] in shown and ["New chat waiting", chatty] in shown
    expect(dashboard).to_have_title(re.compile(r"^\(\d+\) Dashboard"))

    for name in (chatty, quiet):
        open_session(dashboard, waiting_item(dashboard, name))
        accept_chat(dashboard)
    visitor = connect_visitor(server, chats[chatty])
    clients.append(visitor)
    visitor.call("send_message", {"text": "Is it in stock?", "client_id": "s1"})
    visitor.call("send_message", {"text": "The blue one", "client_id": "s2"})
    badge = mine_item(dashboard, chatty).locator(".unread")
    expect(badge).to_have_text("2")
    assert ["New message from " + chatty, "The blue one"] in dashboard.evaluate("() => window.shownNotifications")

    # Quiet's chat is on screen: its message is read as it arrives, and it is now the latest,
    # so a reloaded dashboard opens it first, not Chatty's.
    quiet_visitor = connect_visitor(server, chats[quiet])
    clients.append(quiet_visitor)
    quiet_visitor.call("send_message", {"text": "Thanks, no rush", "client_id": "q1"})
    expect(dashboard.locator("#messages .message-visitor .message-text")).to_have_text(["Thanks, no rush"])
    expect(mine_item(dashboard, quiet).locator(".unread")).to_be_hidden()

    dashboard.reload()                                              # read state is kept on the server
    expect_live(dashboard)
    expect(mine_item(dashboard, chatty).locator(".unread")).to_have_text("2")
    second_tab = new_page(dashboard.context)
    second_tab.goto(server.url + "/dashboard")
    expect(mine_item(second_tab, chatty).locator(".unread")).to_have_text("2")

    open_session(dashboard, mine_item(dashboard, chatty))
    expect(mine_item(dashboard, chatty).locator(".unread")).to_be_hidden()
    expect(mine_item(second_tab, chatty).locator(".unread")).to_be_hidden()     # cleared in every tab
    expect(mine_item(dashboard, quiet).locator(".unread")).to_be_hidden()
