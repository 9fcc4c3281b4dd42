"""A business puts the widget on its own website: it adds the site in /admin, pastes the tag
into a page served from another origin, and a visitor there chats with an agent."""
import functools
import http.server
import threading

import pytest
from playwright.sync_api import expect

from tests.browser.pages import (
    accept_chat, expect_messages, log_in, open_session, send_message, start_widget_chat, unique_name,
    waiting_item,
)
from tests.support import free_port


@pytest.fixture
def shop(tmp_path):
    """The business's own website: a plain static server on another local port."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    handler.log_message = lambda *args: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield tmp_path, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_a_site_added_in_admin_shows_the_widget_on_its_own_origin(server, new_page, agent_page, shop):
    folder, shop_origin = shop
    admin = new_page()
    log_in(admin, server, "admin@example.com", "demo-password")
    admin.goto(server.url + "/admin/sites")
    admin.get_by_label("Name").fill("Walnut & Oak")
    admin.get_by_label("Allowed origins, one per line").fill("not a url")
    admin.get_by_role("button", name="Add site").click()
    expect(admin.locator("[role=alert].field-error")).to_contain_text("not a url is not an origin")
    admin.get_by_label("Allowed origins, one per line").fill(shop_origin + "/")
    admin.get_by_role("button", name="Add site").click()
    expect(admin.locator(".flash")).to_have_text("Walnut & Oak is ready: paste its snippet into your pages.")
    embed = admin.locator("section.card").filter(has=admin.get_by_role("heading", name="Embed"))
    snippet = embed.locator(".snippet-code").inner_text()

    (folder / "index.html").write_text(f"<!doctype html><title>Walnut & Oak</title><h1>Shop</h1>{snippet}")
    visitor = new_page()
    visitor.goto(shop_origin + "/index.html")
    visitor.locator("#cc-chat-launcher").click()
    widget = visitor.frame_locator("#cc-chat-frame")
    name = unique_name("Shopper")
    start_widget_chat(widget, name)
    open_session(agent_page, waiting_item(agent_page, name))
    accept_chat(agent_page)
    send_message(widget, "Hello from the shop's own page")
    expect_messages(agent_page, ["Hello from the shop's own page"])     # stored before the reply: its order is fixed
    send_message(agent_page, "Welcome!")
    expect_messages(agent_page, ["Hello from the shop's own page", "Welcome!"])
    expect_messages(widget, ["Hello from the shop's own page", "Welcome!"])
