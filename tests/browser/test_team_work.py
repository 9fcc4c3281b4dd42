"""Agents working together in the dashboard: private notes, a transfer with a note, who else
is viewing a chat, and the visitor's details."""
from playwright.sync_api import expect

from tests.browser.pages import (
    accept_chat, expect_messages, log_in, open_session, open_widget, send_message, start_accepted_chat,
    start_widget_chat, unique_name, waiting_item,
)


def test_a_note_stays_with_the_team_and_a_transfer_hands_the_chat_over_with_one(server, new_page):
    agent, visitor, supervisor = new_page(), new_page(), new_page()
    log_in(agent, server)
    log_in(supervisor, server, "supervisor@example.com", "demo-password")
    name = unique_name("Nora")
    widget = open_widget(visitor, server)
    start_widget_chat(widget, name)
    open_session(supervisor, waiting_item(supervisor, name))
    open_session(agent, waiting_item(agent, name))
    expect(agent.locator("#viewers")).to_have_text("Also viewing: Demo Supervisor (supervisor)")
    expect(supervisor.locator("#viewers")).to_have_text("Also viewing: Demo Agent (agent)")
    accept_chat(agent)
    expect(agent.locator("#visitorPanel")).to_contain_text(name)
    expect(agent.locator("#visitorLocalTime")).to_contain_text("(Asia/")         # the widget said its zone (pages.TIME_ZONE)

    agent.get_by_role("button", name="Note", exact=True).click()
    expect(agent.locator("#messageInput")).to_have_attribute("placeholder", "Private note: only the team sees it")
    send_message(agent, "She ordered twice by mistake")
    note = agent.locator("#messages .message.note")
    expect(note).to_contain_text("Note · only the team sees this")
    expect(note.locator(".message-text")).to_have_text("She ordered twice by mistake")
    agent.get_by_role("button", name="Reply", exact=True).click()
    send_message(agent, "Hello, I can help with that")
    expect_messages(widget, ["Hello, I can help with that"])            # the note never reached the widget
    expect(supervisor.locator("#messages .message.note .message-text")).to_have_text(["She ordered twice by mistake"])

    agent.get_by_role("button", name="Transfer").click()
    agent.get_by_label("To", exact=True).select_option(label="Demo Supervisor (supervisor, online)")
    agent.get_by_label("Note for the next person").fill("Refund the second order")
    agent.get_by_role("button", name="Transfer", exact=True).last.click()
    expect(widget.locator("#messages .message-system .message-text").last).to_have_text(
        "Demo Agent transferred the chat to Demo Supervisor.")
    expect(supervisor.locator("#messages .message.note .message-text")).to_have_text(
        ["She ordered twice by mistake", "Refund the second order"])
    expect(supervisor.locator("#messageInput")).to_be_enabled()
    expect(agent.locator("#chatWindow")).to_contain_text("no longer available to you")


def test_a_transfer_to_nobody_who_can_take_it_explains_and_keeps_the_note(server, new_page):
    agent, visitor = new_page(), new_page()
    log_in(agent, server)
    start_accepted_chat(server, visitor, agent, unique_name("Omar"))
    agent.get_by_role("button", name="Transfer").click()
    expect(agent.get_by_label("To", exact=True)).to_contain_text("Back to the queue")
    agent.get_by_label("Note for the next person").fill("Asked for a callback")
    agent.get_by_role("button", name="Transfer", exact=True).last.click()
    expect(agent.locator("#chatStatus")).to_have_text("waiting")
    expect(agent.locator("#messages .message-system .message-text").last).to_contain_text("Demo Agent returned the chat to the queue")
    expect(agent.locator("#messages .message.note .message-text")).to_have_text(["Asked for a callback"])


def test_the_visitor_sees_no_typing_while_the_agent_writes_a_note(server, new_page):
    agent, visitor = new_page(), new_page()
    log_in(agent, server)
    widget = start_accepted_chat(server, visitor, agent, unique_name("Tia"))
    indicator = widget.locator("#typingIndicator")
    indicator.evaluate("""indicator => {       // every time the widget shows the indicator, what it said
        window.typingShown = [];
        new MutationObserver(() => { if (!indicator.hidden) window.typingShown.push(indicator.textContent); })
            .observe(indicator, {attributes: true, childList: true, characterData: true, subtree: true});
    }""")
    box = agent.locator("#messageInput")
    box.press_sequentially("Let me see")
    expect(indicator).to_have_text("Demo Agent is typing…")          # a reply is announced
    agent.get_by_role("button", name="Note", exact=True).click()
    expect(indicator).to_be_hidden()
    indicator.evaluate("() => { window.typingShown = []; }")

    box.fill("")
    box.press_sequentially("Card ending 4242 was declined")
    box.press("Enter")
    expect(agent.locator("#messages .message.note .message-text")).to_have_text(["Card ending 4242 was declined"])
    agent.get_by_role("button", name="End chat").click()              # its confirm is accepted (watch_dialogs)
    expect(widget.locator("#messages .message-system .message-text").last).to_have_text("Demo Agent ended the chat.")
    assert indicator.evaluate("() => window.typingShown") == []      # the note never was
