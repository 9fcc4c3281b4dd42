"""The session list shows each chat's latest message as it arrives, waiting or held."""
from playwright.sync_api import expect

from tests.browser.pages import accept_chat, open_session, unique_name, waiting_item, mine_item
from tests.support import connect_visitor, start_chat


def test_the_waiting_list_and_my_chats_show_the_latest_message_live(server, agent_page, clients):
    name = unique_name("Preview")
    chat = start_chat(server, name=name)
    visitor = connect_visitor(server, chat)
    clients.append(visitor)
    expect(waiting_item(agent_page, name).locator(".session-last")).to_have_text("No messages yet")

    visitor.call("send_message", {"text": "Do you ship to Austria?", "client_id": "q1"})
    expect(waiting_item(agent_page, name).locator(".session-last")).to_have_text("Do you ship to Austria?")
    visitor.call("send_message", {"text": "<b>And to Italy?</b>", "client_id": "q2"})
    expect(waiting_item(agent_page, name).locator(".session-last")).to_have_text("<b>And to Italy?</b>")

    open_session(agent_page, waiting_item(agent_page, name))
    accept_chat(agent_page)
    visitor.call("send_message", {"text": "Thanks!", "client_id": "q3"})
    expect(mine_item(agent_page, name).locator(".session-last")).to_have_text("Thanks!")
    expect(mine_item(agent_page, name).locator(".unread")).to_be_hidden()      # it is open on screen


def test_my_chats_count_from_the_latest_message_and_waiting_from_the_start(server, agent_page, clients):
    name = unique_name("Clock")
    chat = start_chat(server, name=name)
    visitor = connect_visitor(server, chat)
    clients.append(visitor)
    waiting_since = waiting_item(agent_page, name).locator("time").get_attribute("data-since")
    open_session(agent_page, waiting_item(agent_page, name))
    accept_chat(agent_page)
    reply = visitor.call("send_message", {"text": "Still there?", "client_id": "t1"})
    held = mine_item(agent_page, name).locator("time")
    expect(held).to_have_attribute("data-since", reply["message"]["created_at"])
    assert reply["message"]["created_at"] > waiting_since
