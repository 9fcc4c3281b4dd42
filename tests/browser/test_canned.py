"""Canned replies: an agent types "/" in a chat's reply box, picks a reply, edits and sends it;
admins share replies with the team from /admin/canned, agents keep their own on /account/canned."""
import re
import uuid

from playwright.sync_api import expect

from tests.browser.pages import (
    PHONE_OPTIONS, accept_chat, expect_live, expect_messages, log_in, open_widget, start_accepted_chat,
    start_widget_chat, unique_name, wait_until_dashboard_loaded, waiting_item,
)

PICKER = "#cannedPicker"


def picker_options(dashboard):
    return dashboard.locator(PICKER).get_by_role("option")


def test_an_agent_picks_a_canned_reply_with_the_keyboard_edits_it_and_the_visitor_sees_it(
        server, visitor_page, agent_page):
    name = unique_name("Kim")
    widget = start_accepted_chat(server, visitor_page, agent_page, name)
    box = agent_page.locator("#messageInput")
    box.press_sequentially("/ship")
    picker = agent_page.get_by_role("listbox", name="Canned replies")
    expect(picker).to_be_visible()
    first = picker_options(agent_page).first
    expect(first).to_contain_text("/shipping-times")
    expect(first).to_contain_text("Shared")
    expect(first).to_have_attribute("aria-selected", "true")
    expect(box).to_have_attribute("aria-activedescendant", first.get_attribute("id"))

    box.press("Escape")                                        # closes, and the "/ship" stays typed
    expect(picker).to_be_hidden()
    expect(box).to_have_value("/ship")
    box.press("Backspace")
    box.press_sequentially("p")                                # a change of the query opens it again
    expect(picker).to_be_hidden()                              # ...not for the same "/" after Escape
    box.fill("")
    box.press_sequentially("/ship")
    expect(first).to_have_attribute("aria-selected", "true")
    box.press("ArrowUp")                                       # wraps to the last match and back
    box.press("ArrowDown")
    expect(first).to_have_attribute("aria-selected", "true")
    box.press("Enter")                                         # picks; does not send

    expect(picker).to_be_hidden()
    expected = (f"Good question, {name}: orders ship within one business day, and delivery takes 2 to 5 "
                "business days. You'll get a tracking link by email.")
    expect(box).to_have_value(expected)
    expect(agent_page.locator("#messages .message.mine")).to_have_count(0)
    box.press_sequentially(" Anything else?")                  # the agent edits before sending
    box.press("Enter")
    expect_messages(agent_page, [expected + " Anything else?"])
    expect_messages(widget, [expected + " Anything else?"])


def test_an_admin_shares_a_reply_and_an_agent_uses_it_in_a_chat(server, new_page):
    admin = new_page()
    log_in(admin, server, "admin@example.com", "demo-password")
    admin.get_by_role("link", name="Admin", exact=True).click()
    admin.get_by_role("link", name="Shared replies").click()
    expect(admin.get_by_role("heading", name="Shared replies")).to_be_visible()

    shortcut = "refund-" + uuid.uuid4().hex[:6]
    text = "Hello {{visitor.name}}, {{agent.name}} here: refunds take 5 days. <b>{{order.id}}</b>"
    admin.get_by_label("Shortcut", exact=True).fill("refund policy")
    admin.get_by_label("Text", exact=True).fill(text)
    admin.get_by_role("button", name="Add reply").click()
    expect(admin.locator(".field-error[role=alert]")).to_have_text(
        "A shortcut is 1 to 40 letters, digits, - or _ (no spaces), such as shipping-times.")
    expect(admin.get_by_label("Text", exact=True)).to_have_value(text)      # nothing typed is lost
    admin.get_by_label("Shortcut", exact=True).fill(shortcut)
    admin.get_by_role("button", name="Add reply").click()
    expect(admin.locator(".flash")).to_have_text(f"/{shortcut} is saved and shared with the team.")
    expect(admin.get_by_label(f"Text of /{shortcut}")).to_have_value(text)

    visitor, agent = new_page(), new_page()
    log_in(agent, server)
    name = unique_name("Lou")
    widget = start_accepted_chat(server, visitor, agent, name)
    box = agent.locator("#messageInput")
    box.press_sequentially("Sure. /refund-")                   # after a space, mid-sentence
    option = picker_options(agent).filter(has_text="/" + shortcut)
    expect(option).to_contain_text("Shared")
    expect(option).to_contain_text("<b>{{order.id}}</b>")       # text, never HTML
    option.click()
    filled = f"Sure. Hello {name}, Demo Agent here: refunds take 5 days. <b>{{{{order.id}}}}</b>"
    expect(box).to_have_value(filled)                          # unknown placeholders stay as typed
    expect(box).to_be_focused()
    box.press("Enter")
    expect_messages(widget, [filled])


def test_an_agent_keeps_its_own_replies_on_its_account_page(server, new_page):
    agent = new_page()
    log_in(agent, server, "supervisor@example.com", "demo-password")
    agent.locator(".who").click()
    agent.get_by_role("link", name="Your canned replies").click()
    expect(agent.get_by_role("heading", name="Your canned replies")).to_be_visible()
    expect(agent.locator(".canned-shared")).to_contain_text("/shipping-times")  # the team's, to read

    shortcut = "later-" + uuid.uuid4().hex[:6]
    agent.get_by_label("Shortcut", exact=True).fill("/" + shortcut)
    agent.get_by_label("Text", exact=True).fill("I'll look into it and write back.")
    agent.get_by_role("button", name="Add reply").click()
    expect(agent.locator(".flash")).to_have_text(f"/{shortcut} is saved.")

    agent.get_by_label(f"Text of /{shortcut}").fill("")
    agent.get_by_label(f"Text of /{shortcut}").press("Tab")
    agent.locator(f'.canned-item[data-shortcut="{shortcut}"]').get_by_role("button", name="Save").click()
    expect(agent.locator(".field-error[role=alert]")).to_have_text("Please enter the reply's text.")
    agent.get_by_label(f"Text of /{shortcut}").fill("Let me check with the warehouse.")
    agent.locator(f'.canned-item[data-shortcut="{shortcut}"]').get_by_role("button", name="Save").click()
    expect(agent.locator(".flash")).to_have_text(f"/{shortcut} is saved.")
    expect(agent.get_by_label(f"Text of /{shortcut}")).to_have_value("Let me check with the warehouse.")

    agent.get_by_role("link", name="Dashboard").click()
    expect_live(agent)
    wait_until_dashboard_loaded(agent)       # its first chat opened, before another is picked
    start_accepted_chat(server, new_page(), agent, unique_name("Max"))
    agent.locator("#messageInput").press_sequentially("/" + shortcut)
    expect(picker_options(agent)).to_have_count(1)
    expect(picker_options(agent)).to_contain_text("Yours")
    agent.goto(server.url + "/account/canned")
    agent.get_by_role("button", name=f"Delete /{shortcut}").click()
    expect(agent.locator(".flash")).to_have_text(f"/{shortcut} is deleted.")
    assert ("confirm", f"Delete /{shortcut}?") in agent.dialogs
    expect(agent.locator(f'.canned-item[data-shortcut="{shortcut}"]')).to_have_count(0)
    assert re.search(r"/account/canned$", agent.url)


def test_on_a_phone_a_tap_picks_a_reply(server, browser, new_page):
    context = browser.new_context(**PHONE_OPTIONS)
    try:
        agent = new_page(context)
        log_in(agent, server)
        name = unique_name("Ada")
        widget = open_widget(new_page(), server)
        start_widget_chat(widget, name)
        waiting_item(agent, name).tap()
        accept_chat(agent)
        box = agent.locator("#messageInput")
        box.tap()
        box.press_sequentially("/hello")
        option = picker_options(agent).filter(has_text="/hello")
        expect(option).to_be_in_viewport()
        option.tap()
        expect(box).to_have_value(f"Hi {name}, I'm Demo Agent. How can I help you today?")
        agent.get_by_role("button", name="Send").tap()
        expect_messages(widget, [f"Hi {name}, I'm Demo Agent. How can I help you today?"])
    finally:
        context.close()
