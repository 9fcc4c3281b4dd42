"""Serving in production: gevent, the documented alternative to eventlet, serves the same
product (every other live-server test runs under eventlet, the default); SIGTERM stops a
server without losing what it holds."""
import signal

import requests

from tests.support import RecordingClient, connect_agent, login, start_chat, stored_messages, wait_until


def test_gevent_serves_the_pages_and_a_websocket_conversation(own_server, clients):
    server = own_server(SOCKETIO_ASYNC_MODE="gevent")
    assert requests.get(server.url + "/healthz", timeout=5).json()["async_mode"] == "gevent"
    chat = start_chat(server, name="Gina")
    http = login(server)
    agent = connect_agent(server, http)
    visitor = RecordingClient("/visitor").connect(server, transports=["websocket"], auth={
        "session_id": chat["session_id"], "session_key": chat["session_key"], "last_seq": 0})
    clients.extend([agent, visitor])
    assert agent.call("claim_session", {"session_id": chat["session_id"]})["ok"]
    agent.call("join_session", {"session_id": chat["session_id"], "last_seq": 0})

    assert visitor.call("send_message", {"text": "Hello from gevent", "client_id": "g1"})["ok"]
    first = agent.wait_for("message", lambda m: m["text"] == "Hello from gevent")
    agent.call("send_message", {"session_id": chat["session_id"], "text": "Hi Gina", "client_id": "g2"})
    assert visitor.wait_for("message", lambda m: m["text"] == "Hi Gina")["seq"] == first["seq"] + 1
    page = http.get(f"{server.url}/dashboard/sessions/{chat['session_id']}", timeout=5)
    assert page.status_code == 200 and "Hello from gevent" in page.text and "Hi Gina" in page.text


def test_sigterm_finishes_the_messages_in_hand_then_exits_cleanly(own_server, clients):
    server = own_server()
    chat = start_chat(server, name="Leaving")
    visitor = RecordingClient("/visitor").connect(server, transports=["websocket"], auth={
        "session_id": chat["session_id"], "session_key": chat["session_key"], "last_seq": 0})
    clients.append(visitor)
    acked = []
    for n in range(200):
        visitor.client.emit("send_message", {"text": f"m{n}", "client_id": f"c{n}"}, namespace="/visitor",
                            callback=acked.append)
    wait_until(lambda: acked, message="the first acknowledgement")
    server.process.send_signal(signal.SIGTERM)
    assert server.process.wait(timeout=15) == 0
    log = server.log_path.read_text()
    assert "shutting down" in log and "stopped" in log
    server.start()
    stored = stored_messages(server, chat)
    assert [m["seq"] for m in stored] == list(range(1, len(stored) + 1))
    assert {reply["message"]["client_id"] for reply in acked if reply["ok"]} <= {m["client_id"] for m in stored}
