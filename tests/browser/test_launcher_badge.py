"""The launcher on the visitor's page counts the replies that arrive while the chat is closed."""
from playwright.sync_api import expect

from tests.browser.pages import expect_messages, send_message, start_accepted_chat, unique_name


def test_replies_to_a_closed_chat_show_on_the_launcher_until_it_opens(server, visitor_page, agent_page):
    name = unique_name("Badge")
    widget = start_accepted_chat(server, visitor_page, agent_page, name)
    launcher, badge = visitor_page.locator("#cc-chat-launcher"), visitor_page.locator("#cc-chat-unread")

    send_message(agent_page, "Hello! Let me check.")
    expect_messages(widget, ["Hello! Let me check."])
    expect(badge).to_be_hidden()                                    # seen: the chat was open

    launcher.click()
    expect(visitor_page.locator("#cc-chat-frame")).to_be_hidden()
    send_message(agent_page, "Found it.")
    send_message(agent_page, "It ships tomorrow.")
    expect(badge).to_have_text("2")
    expect(launcher).to_have_attribute("aria-label", "Open chat, 2 unread")

    launcher.click()
    expect(badge).to_be_hidden()
    expect_messages(widget, ["Hello! Let me check.", "Found it.", "It ships tomorrow."])
