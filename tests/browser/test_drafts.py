"""What an agent typed is not lost: a draft per chat, and unsent replies, across switches and reloads."""
from playwright.sync_api import expect

from tests.browser.pages import (
    accept_chat, expect_live, mine_item, open_session, send_message, unique_name, waiting_item,
)
from tests.support import connect_visitor, start_chat


def accepted_chat(server, page, clients, name):
    chat = start_chat(server, name=name)
    visitor = connect_visitor(server, chat)
    clients.append(visitor)
    open_session(page, waiting_item(page, name))
    accept_chat(page)
    return visitor


def test_a_half_typed_reply_waits_in_its_chat_across_a_switch_and_a_reload(server, agent_page, clients):
    first, second = unique_name("Draft A"), unique_name("Draft B")
    accepted_chat(server, agent_page, clients, first)
    accepted_chat(server, agent_page, clients, second)
    open_session(agent_page, mine_item(agent_page, first))
    agent_page.locator("#messageInput").press_sequentially("Your parcel left on Mon")

    open_session(agent_page, mine_item(agent_page, second))
    expect(agent_page.locator("#messageInput")).to_have_value("")
    open_session(agent_page, mine_item(agent_page, first))
    expect(agent_page.locator("#messageInput")).to_have_value("Your parcel left on Mon")

    agent_page.reload()
    expect_live(agent_page)
    open_session(agent_page, mine_item(agent_page, first))
    expect(agent_page.locator("#messageInput")).to_have_value("Your parcel left on Mon")
    send_message(agent_page, "Your parcel left on Monday.")
    agent_page.reload()
    expect_live(agent_page)
    open_session(agent_page, mine_item(agent_page, first))
    expect(agent_page.locator("#messageInput")).to_have_value("")          # sent: no draft left


def test_a_reply_sent_while_offline_survives_a_reload_and_arrives_once(server, agent_page, clients):
    name = unique_name("Offline")
    visitor = accepted_chat(server, agent_page, clients, name)
    agent_page.context.set_offline(True)
    expect(agent_page.locator("#connectionStatus")).to_have_text("Offline")
    send_message(agent_page, "I'll check with the warehouse.")
    expect(agent_page.locator("#messages .message.pending")).to_have_count(1)

    agent_page.route("**/socket.io/**", lambda route: route.abort())      # the page loads, the socket cannot
    agent_page.context.set_offline(False)
    agent_page.reload()
    open_session(agent_page, mine_item(agent_page, name))
    expect(agent_page.locator("#messages .message.pending .message-text")).to_have_text(
        ["I'll check with the warehouse."])

    agent_page.unroute("**/socket.io/**")
    expect(agent_page.locator("#connectionStatus")).to_have_text("Live", timeout=20_000)
    expect(agent_page.locator("#messages .message.pending")).to_have_count(0)
    visitor.wait_for("message", lambda m: m["text"] == "I'll check with the warehouse.")
    assert [m["text"] for m in visitor.received("message")].count("I'll check with the warehouse.") == 1
