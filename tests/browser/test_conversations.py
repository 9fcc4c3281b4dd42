"""Several conversations per visitor in the widget (issue 17, seed 003): tabs, "+", titles from
the first message, rename, unread badges, close, a reload; a verified user on a second browser,
a forged hash; the page's ChatWidget API and its events."""
import uuid

from playwright.sync_api import expect

from tests.browser.pages import (
    accept_chat, expect_live, expect_messages, open_chat, open_widget, send_message, start_widget_chat, unique_name,
)
from tests.support import LiveServer, identity_secret, server_environment, user_hash

PARCEL = "Where is my parcel? It left the warehouse on Monday"
PARCEL_TITLE = "Where is my parcel? It left the…"


def tabs_of(widget):
    return widget.locator("#conversationTabs .conversation-tab")


def tab(widget, session_id):
    return widget.locator(f'#conversationTabs .conversation-tab[data-conversation="{session_id}"]')


def answer(dashboard, session_id, question, reply):
    """The agent accepts the conversation from the waiting list and replies once it has read it."""
    item = dashboard.locator(f'#waitingSessions .session-item[data-session-id="{session_id}"]')
    item.click()
    expect(open_chat(dashboard, session_id)).to_be_visible()
    accept_chat(dashboard)
    expect_messages(dashboard, [question])
    send_message(dashboard, reply)
    expect_messages(dashboard, [question, reply])


def test_a_visitor_keeps_two_conversations_apart_through_a_reload(server, visitor_page, agent_page):
    widget = open_widget(visitor_page, server)
    start_widget_chat(widget, unique_name("Tara"))
    send_message(widget, PARCEL)
    expect_messages(widget, [PARCEL])
    expect(tabs_of(widget).locator(".tab-text")).to_have_text([PARCEL_TITLE])

    widget.get_by_role("button", name="New conversation", exact=True).click()      # no form: the visitor is known
    expect(tabs_of(widget)).to_have_count(2)
    expect_live(widget)
    expect(widget.locator("#messages .message")).to_have_count(0)
    send_message(widget, "Can I pay by invoice?")
    expect_messages(widget, ["Can I pay by invoice?"])
    second, first = tabs_of(widget).evaluate_all("tabs => tabs.map(tab => tab.dataset.conversation)")
    expect(tab(widget, second)).to_have_class("conversation-tab active")

    answer(agent_page, first, PARCEL, "It arrives tomorrow.")
    answer(agent_page, second, "Can I pay by invoice?", "Yes, invoices are fine.")
    expect_messages(widget, ["Can I pay by invoice?", "Yes, invoices are fine."])
    expect(tab(widget, first).locator(".tab-unread")).to_have_text("1")         # heard on the other tab's socket
    expect(tab(widget, second).locator(".tab-unread")).to_have_count(0)
    panel = agent_page.locator("#earlierConversations")
    expect(panel.locator(f'a[href="/history/{first}"]')).to_have_count(1)      # the agent sees the other one
    expect(agent_page.locator("#visitorPanel .signed-in")).to_have_count(0)      # not signed in on the site

    widget.get_by_role("button", name="Rename conversation").click()
    widget.locator(".tab-rename-field").fill("Invoice question")
    widget.locator(".tab-rename-field").press("Enter")
    expect(tab(widget, second).locator(".tab-text")).to_have_text("Invoice question")

    tab(widget, first).locator(".tab-title").click()
    expect_messages(widget, [PARCEL, "It arrives tomorrow."])
    expect(tab(widget, first).locator(".tab-unread")).to_have_count(0)
    expect_live(widget)

    visitor_page.reload()
    visitor_page.locator("#cc-chat-launcher").click()
    widget = visitor_page.frame_locator("#cc-chat-frame")
    expect(tabs_of(widget).locator(".tab-text")).to_have_text(["Invoice question", PARCEL_TITLE])
    expect_messages(widget, [PARCEL, "It arrives tomorrow."])                   # where the visitor was
    expect(tab(widget, first)).to_have_class("conversation-tab active")

    agent_page.locator(f'#mySessions .session-item[data-session-id="{first}"]').click()   # open while it lasts
    expect(open_chat(agent_page, first).locator("#chatStatus")).to_have_text("active")
    tab(widget, first).get_by_role("button", name=f"Close conversation {PARCEL_TITLE}").click()
    assert ("confirm", "Close this conversation? It ends the chat.") in visitor_page.dialogs
    expect(tabs_of(widget).locator(".tab-text")).to_have_text(["Invoice question"])
    expect_messages(widget, ["Can I pay by invoice?", "Yes, invoices are fine."])
    expect(agent_page.locator("#chatStatus")).to_have_text("ended (visitor)")
    expect(agent_page.locator(f'#mySessions .session-item[data-session-id="{first}"]')).to_have_count(0)


def test_a_message_sent_as_the_visitor_opens_another_conversation_goes_at_once(server, visitor_page):
    """Not held back in the conversation left until the visitor comes back to it: its tab takes
    its title from it, and the conversation shows it stored when the visitor returns."""
    widget = open_widget(visitor_page, server)
    start_widget_chat(widget, unique_name("Quick"))
    send_message(widget, "Sent as I open another")
    widget.get_by_role("button", name="New conversation", exact=True).click()
    expect(tabs_of(widget).locator(".tab-text")).to_have_text(["New conversation", "Sent as I open another"])
    tabs_of(widget).nth(1).locator(".tab-title").click()
    expect_messages(widget, ["Sent as I open another"])


def set_user(page, user_id, hash_):
    page.evaluate("([id, hash]) => ChatWidget.setUser({id: id, hash: hash, name: 'Kim Park'})", [user_id, hash_])


def signed_in_widget(new_page, server, user_id, secret):
    """Another browser, where the site's page signs the user in; its widget open."""
    page = new_page()
    page.goto(server.url + "/demo")
    set_user(page, user_id, user_hash(secret, user_id))
    page.locator("#cc-chat-launcher").click()
    return page.frame_locator("#cc-chat-frame")


def test_a_verified_user_finds_the_conversation_on_a_second_browser_and_a_forged_hash_finds_nothing(
        server, new_page, agent_page):
    secret = identity_secret(server)
    user_id = f"customer-{uuid.uuid4().hex[:8]}"
    laptop = new_page()
    widget = open_widget(laptop, server)
    start_widget_chat(widget, "Kim")
    send_message(widget, "Hello from my laptop")
    expect_messages(widget, ["Hello from my laptop"])
    set_user(laptop, user_id, user_hash(secret, user_id))

    on_phone = signed_in_widget(new_page, server, user_id, secret)
    expect(tabs_of(on_phone).locator(".tab-text")).to_have_text(["Hello from my laptop"])
    expect_messages(on_phone, ["Hello from my laptop"])
    expect_live(on_phone)
    send_message(on_phone, "And from my phone")
    expect_messages(widget, ["Hello from my laptop", "And from my phone"])      # the same conversation
    on_phone.get_by_role("button", name="New conversation", exact=True).click()
    expect(tabs_of(on_phone)).to_have_count(2)
    send_message(on_phone, "A second question")
    expect(tabs_of(widget).locator(".tab-text")).to_have_text(                  # the laptop, without a reload
        ["A second question", "Hello from my laptop"])
    _, first = tabs_of(widget).evaluate_all("tabs => tabs.map(tab => tab.dataset.conversation)")
    agent_page.locator(f'#waitingSessions .session-item[data-session-id="{first}"]').click()
    expect(open_chat(agent_page, first).locator(".signed-in")).to_have_text(
        f"✓ as user {user_id} (verified by the website)")

    forger = new_page()
    forger.goto(server.url + "/demo")
    with forger.expect_console_message(lambda message: "ChatWidget.setUser" in message.text) as warning:
        set_user(forger, user_id, "0" * 64)
    assert warning.value.type == "warning" and "HMAC-SHA256" in warning.value.text
    forger.locator("#cc-chat-launcher").click()
    on_forger = forger.frame_locator("#cc-chat-frame")
    expect(on_forger.locator("#startButton")).to_be_visible()
    expect(on_forger.locator("#conversationTabs")).to_be_hidden()
    expect(on_forger.locator("#messages .message")).to_have_count(0)


def test_a_chat_started_while_set_user_is_on_its_way_belongs_to_the_signed_in_customer(server, new_page):
    """A quick visitor clicks Start chat before the widget has heard back from setUser."""
    secret = identity_secret(server)
    user_id = f"customer-{uuid.uuid4().hex[:8]}"
    laptop = new_page()
    held = []
    laptop.route("**/api/v1/chat/public/identify", lambda route: held.append(route))
    widget = open_widget(laptop, server)
    with laptop.expect_request("**/api/v1/chat/public/identify"):
        set_user(laptop, user_id, user_hash(secret, user_id))
    widget.locator("#visitorName").fill("Kim")
    widget.locator("#startButton").click()
    expect(widget.locator("#startButton")).to_be_disabled()          # waiting for the customer's identity
    assert len(held) == 1
    held[0].continue_()
    expect(widget.locator("#messageInput")).to_be_visible()
    expect_live(widget)
    send_message(widget, "Signed in, then quick")
    expect_messages(widget, ["Signed in, then quick"])

    on_phone = signed_in_widget(new_page, server, user_id, secret)
    expect(tabs_of(on_phone).locator(".tab-text")).to_have_text(["Signed in, then quick"])
    expect_messages(on_phone, ["Signed in, then quick"])


def test_a_sign_out_while_set_user_is_on_its_way_leaves_the_browser_signed_out(server, new_page):
    """The site's logout (ChatWidget.reset) comes before the widget heard back from setUser."""
    secret = identity_secret(server)
    user_id = f"customer-{uuid.uuid4().hex[:8]}"
    elsewhere = signed_in_widget(new_page, server, user_id, secret)
    start_widget_chat(elsewhere, "Kim")
    send_message(elsewhere, "My earlier question")
    expect_messages(elsewhere, ["My earlier question"])

    shared = new_page()                                     # a shared computer
    held = []
    shared.route("**/api/v1/chat/public/identify", lambda route: held.append(route))
    widget = open_widget(shared, server)
    with shared.expect_request("**/api/v1/chat/public/identify"):
        set_user(shared, user_id, user_hash(secret, user_id))
    shared.evaluate("ChatWidget.reset()")
    assert len(held) == 1
    with shared.expect_request("**/api/v1/chat/public/forget"):
        held[0].continue_()
    expect(widget.locator("#startButton")).to_be_visible()
    expect(widget.locator("#conversationTabs")).to_be_hidden()
    shared.reload()
    shared.locator("#cc-chat-launcher").click()
    widget = shared.frame_locator("#cc-chat-frame")
    expect(widget.locator("#startButton")).to_be_visible()
    expect(widget.locator("#conversationTabs")).to_be_hidden()
    expect(widget.locator("#messages .message")).to_have_count(0)


RECORD_EVENTS = """() => {
  window.widgetEvents = [];
  for (const name of ["open", "close", "message"]) {
    ChatWidget.on(name, detail => window.widgetEvents.push(detail ? name + ":" + detail.senderType : name));
  }
}"""


def test_the_page_drives_the_widget_and_hears_its_events_then_forgets_the_visitor(server, new_page, agent_page):
    page = new_page()
    page.add_init_script("window.ChatWidget = {queue: [['on', 'ready', () => { window.widgetReady = true; }]]};")
    page.goto(server.url + "/demo")
    page.wait_for_function("() => window.widgetReady === true")          # a call queued before the script loaded
    page.evaluate(RECORD_EVENTS)
    frame = page.locator("#cc-chat-frame")
    page.evaluate("ChatWidget.open()")
    expect(frame).to_be_visible()
    page.evaluate("ChatWidget.toggle()")
    expect(frame).to_be_hidden()
    page.evaluate("ChatWidget.toggle()")
    expect(frame).to_be_visible()

    widget = page.frame_locator("#cc-chat-frame")
    name = unique_name("Evan")
    start_widget_chat(widget, name)
    send_message(widget, "Is anyone there?")
    session_id = tabs_of(widget).first.get_attribute("data-conversation")
    answer(agent_page, session_id, "Is anyone there?", "Yes, Demo Agent here.")
    expect_messages(widget, ["Is anyone there?", "Yes, Demo Agent here."])
    page.evaluate("ChatWidget.close()")
    expect(frame).to_be_hidden()
    page.wait_for_function("() => window.widgetEvents.includes('message:agent')")
    assert page.evaluate("window.widgetEvents") == ["open", "close", "open", "message:agent", "close"]

    page.evaluate("ChatWidget.reset()")                                   # the site's logout
    page.evaluate("ChatWidget.open()")
    expect(widget.locator("#startButton")).to_be_visible()
    expect(widget.locator("#conversationTabs")).to_be_hidden()
    page.reload()
    page.locator("#cc-chat-launcher").click()
    expect(page.frame_locator("#cc-chat-frame").locator("#startButton")).to_be_visible()


def test_the_demo_shop_signs_a_customer_in_and_out_in_development(tmp_path, new_page):
    """bin/run's demo page offers a customer who logs in: signed in on two browsers, one conversation."""
    env = server_environment(tmp_path, {"CHAT_ENV": "development"})
    server = LiveServer(tmp_path, env=env)
    server.prepare_database(as_seeded=True)
    server.start()
    try:
        first = new_page()
        first.goto(server.url + "/demo")
        first.get_by_role("button", name="Sign in as Kim Park").click()
        expect(first.locator("#demoSignedIn")).to_have_text("Signed in as Kim Park.")
        first.locator("#cc-chat-launcher").click()
        widget = first.frame_locator("#cc-chat-frame")
        start_widget_chat(widget, "Kim")
        send_message(widget, "Do you have this in blue?")
        expect(tabs_of(widget).locator(".tab-text")).to_have_text(["Do you have this in blue?"])

        second = new_page()
        second.goto(server.url + "/demo")
        second.get_by_role("button", name="Sign in as Kim Park").click()
        second.locator("#cc-chat-launcher").click()
        on_second = second.frame_locator("#cc-chat-frame")
        expect(tabs_of(on_second).locator(".tab-text")).to_have_text(["Do you have this in blue?"])
        second.reload()                                          # still signed in: setUser at every load
        second.locator("#cc-chat-launcher").click()
        expect(tabs_of(second.frame_locator("#cc-chat-frame")).locator(".tab-text")).to_have_text(
            ["Do you have this in blue?"])
        second.get_by_role("button", name="Sign out").click()
        expect(second.frame_locator("#cc-chat-frame").locator("#startButton")).to_be_visible()
    finally:
        server.stop()
