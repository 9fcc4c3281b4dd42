"""What the clients do for the server's limits: with more messages missed than one answer
holds (replays and `sync` are paged), the widget and the dashboard keep asking while the
server says there is more; the widget's heartbeat never runs faster than the server allows."""
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
        missed, sides = [], (("visitor", other_tab, {}), ("agent", agent, {"session_id": chat["session_id"]}))
        for n in range(MISSED // 2):
            for side, client, payload in sides:
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


# Counts the widget's `heartbeat` emits: wraps Socket.IO's `io` as the vendor script defines it.
COUNT_HEARTBEATS = """
window.heartbeats = 0;
Object.defineProperty(window, "io", {configurable: true, set: function (real) {
  Object.defineProperty(window, "io", {configurable: true, writable: true, value: function () {
    var socket = real.apply(this, arguments), emit = socket.emit;
    socket.emit = function (name) {
      if (name === "heartbeat") window.heartbeats += 1;
      return emit.apply(this, arguments);
    };
    return socket;
  }});
}});
"""


def test_the_frame_holds_the_heartbeat_to_a_sane_minimum(server, new_page):
    """An embedder's `heartbeatInterval: 1` would send a heartbeat every millisecond."""
    frame = new_page()
    frame.add_init_script(COUNT_HEARTBEATS)
    frame.clock.install()
    frame.goto(server.url + "/widget/frame?site=demo&heartbeat=1")
    frame.locator("#visitorName").fill(unique_name("Hugo"))
    frame.locator("#startButton").click()
    expect_live(frame)
    frame.clock.run_for(10_500)
    assert 1 <= frame.evaluate("window.heartbeats") <= 2     # one every 10 s at most
