"""A dashboard that was looking at a waiting chat when another agent claimed it stops following
it, and keeps it on screen, read-only, saying who accepted it."""
from playwright.sync_api import expect

from tests.browser.pages import log_in, open_chat, open_session, unique_name, waiting_item
from tests.support import connect_agent, connect_visitor, login, start_chat

# Records what the dashboard's socket sends and receives (the page's own code is unchanged).
RECORD_SOCKET = """
(() => {
  window.sentEvents = [];
  window.receivedEvents = [];
  Object.defineProperty(window, "io", {configurable: true, set(realIo) {
    Object.defineProperty(window, "io", {configurable: true, writable: true, value: function () {
      const socket = realIo.apply(this, arguments);
      const emit = socket.emit.bind(socket);
      socket.emit = function (name, data) { window.sentEvents.push([name, data]); return emit.apply(null, arguments); };
      socket.onAny((name, data) => window.receivedEvents.push([name, data]));
      window.recordedSocket = socket;
      return socket;
    }});
  }});
})();
"""


def test_a_chat_claimed_by_another_agent_is_left_and_shown_read_only_with_who_took_it(server, new_page, clients):
    name = unique_name("Claimed")
    chat = start_chat(server, name=name)
    dashboard = new_page()
    dashboard.add_init_script(RECORD_SOCKET)
    log_in(dashboard, server, "second@example.com", "second-password")
    open_session(dashboard, waiting_item(dashboard, name))
    dashboard.wait_for_function("id => window.sentEvents.some(e => e[0] === 'join_session' && "
                                "e[1].session_id === id)", arg=chat["session_id"])

    claimer = connect_agent(server, login(server))
    visitor = connect_visitor(server, chat)
    clients.extend([claimer, visitor])
    assert claimer.call("claim_session", {"session_id": chat["session_id"]})["ok"]

    dashboard.wait_for_function("id => window.sentEvents.some(e => e[0] === 'leave_session' && "
                                "e[1].session_id === id)", arg=chat["session_id"])
    # The chat stays on screen, read-only, saying who took it: nobody is switched elsewhere.
    expect(open_chat(dashboard, chat["session_id"])).to_have_count(1)
    expect(dashboard.locator("#acceptedBy")).to_have_text("Accepted by Demo Agent")
    expect(dashboard.locator(".chat-title")).to_have_text(name)
    expect(dashboard.locator("#messageInput")).to_be_disabled()
    expect(dashboard.locator("#acceptButton")).to_be_hidden()
    expect(dashboard.locator("#chatStatus")).to_have_text("active")
    expect(waiting_item(dashboard, name)).to_have_count(0)
    visitor.call("send_message", {"text": "my card number is 4111", "client_id": "card"})
    claimer.wait_for("message", lambda m: m["text"] == "my card number is 4111")
    # A round trip on the page's socket: whatever the server sent it before has arrived by the ack.
    dashboard.evaluate("() => new Promise(done => window.recordedSocket.emit('heartbeat', {}, done))")
    received = dashboard.evaluate("id => window.receivedEvents.filter(e => e[0] === 'message' && "
                                  "e[1].session_id === id).map(e => e[1].text)", chat["session_id"])
    assert "my card number is 4111" not in received
    expect(dashboard.get_by_text("my card number is 4111")).to_have_count(0)
