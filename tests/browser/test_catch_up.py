"""More messages missed than one answer holds (the server pages replays and `sync`): the
widget and the dashboard keep asking while the server says there is more, and show every
message once, in order."""
import json

from playwright.sync_api import expect

from tests.browser.pages import expect_live, expect_messages, open_widget, send_message, unique_name
from tests.browser.test_reconnect import expect_in_seq_order, start_accepted_chat
from tests.support import connect_agent, connect_visitor, login

MISSED = 150                    # more than a page (100 messages)


def test_both_sides_catch_up_on_more_than_a_page_of_missed_messages(server, new_page, agent_page):
    visitor = new_page()
    widget = start_accepted_chat(server, visitor, agent_page, unique_name("Paula"))
    send_message(widget, "Before I go.")
    expect_messages(agent_page, ["Before I go."])
    stored = json.loads(visitor.evaluate("localStorage.getItem('cc_chat_session')"))
    chat = {"session_id": stored["session_id"], "session_key": stored["session_key"]}

    visitor.goto("about:blank")                     # the visitor closes the page
    agent_page.context.set_offline(True)            # and the dashboard loses its network
    other_tab = connect_visitor(server, chat)
    agent = connect_agent(server, login(server))
    try:
        missed = []
        for n in range(MISSED // 2):
            for side, client, payload in (("visitor", other_tab, {}), ("agent", agent, {"session_id": chat["session_id"]})):
                text = f"{side} line {n}"
                reply = client.call("send_message", {**payload, "text": text, "client_id": f"{side}-{n}"})
                assert reply["ok"], reply
                missed.append(text)
    finally:
        other_tab.disconnect()
        agent.disconnect()

    agent_page.context.set_offline(False)
    widget = open_widget(visitor, server)           # restores the stored chat
    expect(widget.locator("#messages .message-note")).to_have_text(["Your chat has been restored"])
    expect_live(widget)
    conversation = ["Before I go.", *missed]
    expect_messages(widget, conversation)
    expect_messages(agent_page, conversation)
    expect_in_seq_order(widget, agent_page)
