"""gevent, the documented alternative to eventlet, serves the same product (every other
live-server test runs under eventlet, the default)."""
import requests

from tests.support import RecordingClient, connect_agent, login, start_chat


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
