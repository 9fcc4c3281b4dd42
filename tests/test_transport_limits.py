"""What one client address can hold, and what a broken client costs (issue 10, items 2 and 9):
a request that never finishes its headers is closed, an Engine.IO connection that joins no
namespace is closed, one address holds at most MAX_CONNECTIONS_PER_ADDRESS connections, a
malformed packet is one log line and a few close the socket, an oversized long-polling POST
is answered. Every server here runs under eventlet (the default) and gevent."""
import json
import re
import select
import socket
import time

import pytest
import requests
import websocket

from tests.support import (
    LiveServer, RecordingClient, connect_agent, connect_visitor, login, server_environment, start_chat, wait_until,
)

pytestmark = pytest.mark.database_independent

ATTACKER = "127.0.0.2"          # loopback, like 127.0.0.1, but another client address
HALF_SENT = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-a: "
BARE_UPGRADE = (b"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")


@pytest.fixture(scope="module", params=["eventlet", "gevent"])
def async_mode(request):
    return request.param


@pytest.fixture(scope="module")
def impatient_server(tmp_path_factory, async_mode):
    """A server that waits one second for headers and for a namespace to be joined."""
    workdir = tmp_path_factory.mktemp(f"impatient-{async_mode}")
    live = LiveServer(workdir, env=server_environment(workdir, {
        "SOCKETIO_ASYNC_MODE": async_mode, "HEADER_TIMEOUT_SECONDS": "1", "NAMESPACE_JOIN_TIMEOUT_SECONDS": "1"}))
    live.prepare_database()
    live.start()
    yield live
    live.stop()


def connection_from(server, address, first_bytes):
    sock = socket.socket()
    sock.bind((address, 0))
    sock.settimeout(5)
    sock.connect(("127.0.0.1", server.port))
    sock.sendall(first_bytes)
    return sock


def bare_websocket(server, address):
    """A completed WebSocket upgrade to Engine.IO that will never join a namespace."""
    sock = connection_from(server, address, BARE_UPGRADE)
    received = b""
    while b'"sid"' not in received:       # the 101 response, then Engine.IO's open packet
        chunk = sock.recv(4096)
        assert chunk, f"upgrade refused: {received!r}"
        received += chunk
    assert received.startswith(b"HTTP/1.1 101")
    return sock


def closed_by_server(sock):
    """True once the server has closed (or refused) the connection."""
    try:
        while chunk := sock.recv(4096):
            if chunk.startswith(b"HTTP/1.1 503"):
                return True
        return True
    except ConnectionResetError:
        return True


def is_closed_now(sock):
    sock.settimeout(0.01)
    try:
        return closed_by_server(sock)
    except TimeoutError:
        return False
    finally:
        sock.settimeout(5)


def test_a_request_that_never_finishes_its_headers_is_closed_but_quiet_sockets_stay(impatient_server, clients):
    server = impatient_server
    chat = start_chat(server, name="Quiet")
    websocket_client = RecordingClient("/visitor").connect(server, transports=["websocket"], auth={
        "session_id": chat["session_id"], "session_key": chat["session_key"], "last_seq": 0})
    polling_client = RecordingClient("/visitor").connect(server, transports=["polling"], auth={
        "session_id": chat["session_id"], "session_key": chat["session_key"], "last_seq": 0})
    clients.extend([websocket_client, polling_client])

    log_size = server.log_path.stat().st_size
    started = time.monotonic()
    slow = connection_from(server, ATTACKER, HALF_SENT)
    # One more header byte every 0.2 s: a deadline, not a timeout per read, closes it.
    for _ in range(40):
        if is_closed_now(slow):
            break
        try:
            slow.sendall(b"a")
        except OSError:                   # closed between the check and the send
            break
        time.sleep(0.2)                   # the attacker's pace
    held = time.monotonic() - started
    assert is_closed_now(slow) and held < 3, f"a half-sent request was held {held:.1f} s"
    assert "Traceback" not in server.log_path.read_text()[log_size:]

    # Both clients were idle longer than the header timeout (the long-poll waiting in its GET).
    assert websocket_client.client.connected and polling_client.client.connected
    assert websocket_client.call("send_message", {"text": "still here", "client_id": "w1"})["ok"]
    assert polling_client.call("send_message", {"text": "me too", "client_id": "p1"})["ok"]


def test_an_engineio_connection_that_joins_no_namespace_is_closed(impatient_server, clients):
    server = impatient_server
    chat = start_chat(server, name="Joined")
    visitor = connect_visitor(server, chat)
    clients.append(visitor)
    started = time.monotonic()
    bare = bare_websocket(server, ATTACKER)
    bare.settimeout(4)
    assert closed_by_server(bare)         # a timeout error if it stays open
    assert time.monotonic() - started < 4
    assert visitor.client.connected
    assert visitor.call("send_message", {"text": "joined sockets stay", "client_id": "j1"})["ok"]


def test_the_default_namespace_is_refused_and_does_not_keep_a_connection_alive(impatient_server):
    """Only /visitor and /agent exist: joining "/" is refused, so it cannot stand in for a
    namespace to dodge NAMESPACE_JOIN_TIMEOUT_SECONDS."""
    ws = websocket.create_connection(f"ws://127.0.0.1:{impatient_server.port}/socket.io/?EIO=4&transport=websocket",
                                     timeout=4)
    assert ws.recv().startswith("0{")          # Engine.IO's open packet
    ws.send("40")
    assert ws.recv().startswith("44")          # Socket.IO's connect error for "/"
    started = time.monotonic()
    with pytest.raises((websocket.WebSocketConnectionClosedException, ConnectionResetError)):
        while True:                            # pings may come first; the close ends the loop
            ws.recv()
    assert time.monotonic() - started < 4
    ws.close()


def test_a_visitor_still_chats_while_one_address_holds_its_maximum(own_server, async_mode, clients):
    cap = 20
    server = own_server(SOCKETIO_ASYNC_MODE=async_mode, MAX_CONNECTIONS_PER_ADDRESS=cap,
                        HEADER_TIMEOUT_SECONDS=60, NAMESPACE_JOIN_TIMEOUT_SECONDS=60)
    held = [connection_from(server, ATTACKER, HALF_SENT) for _ in range(cap // 2)]
    held += [bare_websocket(server, ATTACKER) for _ in range(cap - len(held))]
    try:
        started = time.monotonic()
        one_more = connection_from(server, ATTACKER, HALF_SENT)
        assert closed_by_server(one_more)
        assert time.monotonic() - started < 1, "the connection over the cap was not refused at once"

        chat = start_chat(server, name="Vera")
        http = login(server)
        agent = connect_agent(server, http)
        visitor = connect_visitor(server, chat)
        clients.extend([agent, visitor])
        assert agent.call("claim_session", {"session_id": chat["session_id"]})["ok"]
        assert visitor.call("send_message", {"text": "Can you hear me?", "client_id": "v1"})["ok"]
        agent.wait_for("message", lambda m: m["text"] == "Can you hear me?")
        agent.call("send_message", {"session_id": chat["session_id"], "text": "Loud and clear", "client_id": "a1"})
        visitor.wait_for("message", lambda m: m["text"] == "Loud and clear")

        assert not any(is_closed_now(sock) for sock in held), "the attacker's connections were not held"
        assert closed_by_server(connection_from(server, ATTACKER, BARE_UPGRADE))
    finally:
        for sock in held:
            sock.close()
    wait_until(lambda: upgrades(server, ATTACKER), message="the address to connect again once it let go")


def upgrades(server, address):
    try:
        bare_websocket(server, address).close()
        return True
    except (AssertionError, OSError):
        return False


def test_behind_a_trusted_proxy_the_proxys_address_is_not_capped(own_server):
    """Every client arrives from the proxy's address there; nginx's limit_conn caps per client."""
    server = own_server(TRUSTED_PROXIES=1, MAX_CONNECTIONS_PER_ADDRESS=2)
    proxied = [connection_from(server, ATTACKER, HALF_SENT) for _ in range(3)]
    assert not any(is_closed_now(sock) for sock in proxied)
    assert upgrades(server, ATTACKER)
    for sock in proxied:
        sock.close()


def raw_socketio(server, chat):
    """A WebSocket speaking Engine.IO/Socket.IO by hand, joined to /visitor."""
    ws = websocket.create_connection(f"ws://127.0.0.1:{server.port}/socket.io/?EIO=4&transport=websocket",
                                     timeout=5)
    assert ws.recv().startswith("0{")
    auth = {"session_id": chat["session_id"], "session_key": chat["session_key"], "last_seq": 0}
    ws.send("40/visitor," + json.dumps(auth))
    wait_until(lambda: ws.recv().startswith("40/visitor,{\"sid\""), message="the namespace to be joined")
    return ws


def socket_closes(ws):
    try:
        for _ in range(100):
            opcode, _data = ws.recv_data(control_frame=True)
            if opcode == websocket.ABNF.OPCODE_CLOSE:
                return True
        return False
    except (websocket.WebSocketConnectionClosedException, ConnectionError):
        return True


@pytest.mark.parametrize("frame", [
    '42/visitor,{not json', '42/visitor,{"a":1}', '42/visitor,[]', '42/visitor,[1]',
    '49/visitor,["x"]', '44/visitor,"refused?"', '43/visitor,1{}',
    '42/visitor,' + '[' * 5000 + ']' * 5000,
    'x', '',                                # not even Engine.IO
])
def test_malformed_packets_log_one_line_each_and_close_the_socket(server, chat, visitor, frame):
    ws = raw_socketio(server, start_chat(server, name="Garbled"))
    log_lines = len(server.log_path.read_text().splitlines())
    for _ in range(20):
        try:
            ws.send(frame)
        except (websocket.WebSocketConnectionClosedException, ConnectionError):
            break
    assert socket_closes(ws)
    grown = server.log_path.read_text().splitlines()[log_lines:]
    assert not [line for line in grown if "Traceback" in line], "\n".join(grown)
    assert len([line for line in grown if "malformed" in line]) <= 3
    assert len(grown) <= 10, "\n".join(grown)
    assert visitor.call("send_message", {"text": "bystander fine", "client_id": "b1"})["ok"]


def test_a_polling_payload_of_too_many_packets_is_one_log_line(server):
    handshake = requests.get(server.url + "/socket.io/?EIO=4&transport=polling", timeout=5).text
    sid = json.loads(handshake[1:])["sid"]
    log_size = server.log_path.stat().st_size
    requests.post(f"{server.url}/socket.io/?EIO=4&transport=polling&sid={sid}", timeout=5,
                  data="\x1e".join(["3"] * 100))
    wait_until(lambda: "Too many packets" in server.log_path.read_text()[log_size:], message="the log line")
    assert "Traceback" not in server.log_path.read_text()[log_size:]


def test_an_oversized_long_polling_post_is_answered_and_closed(impatient_server):
    server = impatient_server
    handshake = requests.get(server.url + "/socket.io/?EIO=4&transport=polling", timeout=5).text
    sid = json.loads(handshake[1:])["sid"]
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    # Headers only: a client announcing 100 KB that it never sends.
    sock.sendall(f"POST /socket.io/?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                 f"Content-Type: text/plain;charset=UTF-8\r\nContent-Length: 100000\r\n\r\n".encode())
    response = b""
    while chunk := sock.recv(4096):        # fails with a timeout if the connection is held
        response += chunk
    assert response.split(b"\r\n", 1)[0] in (b"HTTP/1.1 413 Payload Too Large", b"HTTP/1.1 400 Bad Request")
    next_poll = requests.get(f"{server.url}/socket.io/?EIO=4&transport=polling&sid={sid}", timeout=5)
    assert next_poll.status_code == 400   # Engine.IO closed that session


def content_length(response):
    """The Content-Length of a raw HTTP response whose headers have arrived."""
    headers = response.split(b"\r\n\r\n", 1)[0].decode("latin-1").lower()
    return int(re.search(r"content-length: *(\d+)", headers).group(1))


def test_two_long_polls_on_one_session_get_one_refusal_and_one_answer(server, chat):
    handshake = requests.get(server.url + "/socket.io/?EIO=4&transport=polling", timeout=5).text
    sid = json.loads(handshake[1:])["sid"]
    poll = f"GET /socket.io/?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()
    polls = [socket.create_connection(("127.0.0.1", server.port), timeout=5) for _ in range(2)]
    for sock in polls:
        sock.sendall(poll)
    ready, _, _ = select.select(polls, [], [], 5)
    assert len(ready) == 1, "neither long-poll was refused"
    assert ready[0].recv(4096).startswith(b"HTTP/1.1 400")
    waiting = next(sock for sock in polls if sock is not ready[0])
    auth = {"session_id": chat["session_id"], "session_key": chat["session_key"], "last_seq": 0}
    joined = requests.post(f"{server.url}/socket.io/?EIO=4&transport=polling&sid={sid}", timeout=5,
                           data="40/visitor," + json.dumps(auth))
    assert joined.status_code == 200
    answer = b""
    while b"\r\n\r\n" not in answer or len(answer.split(b"\r\n\r\n", 1)[1]) < content_length(answer):
        answer += waiting.recv(4096)
    # The waiting poll carries the namespace's first packets (which ones depends on timing).
    assert answer.startswith(b"HTTP/1.1 200") and b"/visitor," in answer.split(b"\r\n\r\n", 1)[1]
    for sock in polls:
        sock.close()


@pytest.mark.parametrize("name, value", [("HEADER_TIMEOUT_SECONDS", "0"), ("NAMESPACE_JOIN_TIMEOUT_SECONDS", "100000"),
                                         ("MAX_CONNECTIONS_PER_ADDRESS", "-1"), ("MALFORMED_PACKET_LIMIT", "0")])
def test_transport_settings_out_of_bounds_stop_the_start(tmp_path, monkeypatch, name, value):
    from chat.config import load_settings
    monkeypatch.setenv("CHAT_ENV", "testing")
    monkeypatch.setenv(name, value)
    with pytest.raises(RuntimeError, match=name):
        load_settings(str(tmp_path))
