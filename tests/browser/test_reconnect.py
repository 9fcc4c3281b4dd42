"""The visitor's conversation survives a reload, a second tab and a lost network."""
from playwright.sync_api import expect

from tests.browser.pages import (
    expect_live, expect_messages, log_in, open_widget, send_message, shown_seqs, start_accepted_chat,
    unique_name,
)


def expect_in_seq_order(*scopes):
    """Each page shows its stored messages in seq order, none twice."""
    for scope in scopes:
        seqs = shown_seqs(scope)
        assert seqs == sorted(set(seqs)), f"messages out of order or repeated: {seqs}"


def type_while_offline(page, scope, texts):
    """`page` loses its network; `texts` typed in `scope` (widget or dashboard) wait in its outbox."""
    page.context.set_offline(True)
    expect(scope.locator("#connectionStatus")).to_have_text("Offline")
    for text in texts:
        send_message(scope, text)
    expect(scope.locator("#messages .message.pending")).to_have_count(len(texts))


def back_online(page, scope):
    page.context.set_offline(False)
    # The next reconnection attempt comes after Socket.IO's backoff (up to 10 s, randomised).
    expect(scope.locator("#connectionStatus")).to_have_text("Live", timeout=20_000)


def test_a_reload_restores_the_conversation_and_a_second_tab_follows_it(server, new_page, agent_page):
    """After a reload the widget shows the history again; a second tab (same localStorage) joins live."""
    visitor = new_page()
    widget = start_accepted_chat(server, visitor, agent_page, unique_name("Rita"))
    send_message(widget, "My order 1042 has not arrived.")
    expect_messages(agent_page, ["My order 1042 has not arrived."])     # read before answered: else the
    send_message(agent_page, "Let me look it up.")                     # reply may be stored first
    history = ["My order 1042 has not arrived.", "Let me look it up."]
    expect_messages(widget, history)

    visitor.reload()
    visitor.locator("#cc-chat-launcher").click()
    widget = visitor.frame_locator("#cc-chat-frame")
    expect(widget.locator("#messages .message-note")).to_have_text(["Your chat has been restored"])
    expect_messages(widget, history)
    expect(widget.locator("#startView")).to_be_hidden()
    expect_live(widget)

    second_tab = open_widget(new_page(visitor.context), server)
    expect_messages(second_tab, history)
    expect_live(second_tab)
    send_message(agent_page, "Found it: it ships today.")
    expect_messages(second_tab, history + ["Found it: it ships today."])
    send_message(second_tab, "Thank you!")
    history += ["Found it: it ships today.", "Thank you!"]
    for scope in (widget, second_tab, agent_page):
        expect_messages(scope, history)
    expect_in_seq_order(widget, second_tab, agent_page)


def test_messages_sent_offline_arrive_once_and_in_order_after_reconnecting(quick_ping_server, new_page):
    """Offline emulation stalls the open WebSocket; the widget notices the browser's `offline`
    event at once, the quick-ping server notices the silence within seconds."""
    server = quick_ping_server
    agent = new_page()
    log_in(agent, server)
    visitor = new_page()
    widget = start_accepted_chat(server, visitor, agent, unique_name("Otto"))
    send_message(widget, "Before the tunnel.")
    expect_messages(agent, ["Before the tunnel."])
    presence = agent.locator("#visitorPresence")
    expect(presence).to_have_text("visitor online")

    offline_texts = ["Sorry, my train went into a tunnel.", "I'm back.", "Can you resend the link?"]
    type_while_offline(visitor, widget, offline_texts)
    expect(presence).to_have_text("visitor offline")
    send_message(agent, "Are you still there?")
    expect_messages(agent, ["Before the tunnel.", "Are you still there?"])

    back_online(visitor, widget)
    conversation = ["Before the tunnel.", "Are you still there?", *offline_texts]
    expect_messages(widget, conversation)
    expect_messages(agent, conversation)
    expect_in_seq_order(widget, agent)
    expect(presence).to_have_text("visitor online")


def test_replies_typed_while_the_dashboard_is_offline_arrive_once_and_in_order_after_reconnecting(
        quick_ping_server, new_page):
    """The dashboard's side of the outbox the widget uses (static/js/outbox.js)."""
    server = quick_ping_server
    agent = new_page()
    log_in(agent, server)
    visitor = new_page()
    widget = start_accepted_chat(server, visitor, agent, unique_name("Olga"))
    send_message(widget, "Is my parcel insured?")
    expect_messages(agent, ["Is my parcel insured?"])

    offline_replies = ["Let me check.", "Yes, up to 500 euros.", "Anything else I can do?"]
    type_while_offline(agent, agent, offline_replies)
    send_message(widget, "Hello?")
    expect_messages(widget, ["Is my parcel insured?", "Hello?"])

    back_online(agent, agent)
    conversation = ["Is my parcel insured?", "Hello?", *offline_replies]
    expect_messages(agent, conversation)
    expect_messages(widget, conversation)
    expect_in_seq_order(widget, agent)
