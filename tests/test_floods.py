"""Floods from one client: sends and reads over REST and sockets, heartbeats, typing, many
sockets or chats, huge numbers and wrong keys. Each is limited without hurting anybody else."""
import pytest
import requests
import socketio
from sqlalchemy import event

from chat import messages, sessions
from chat.extensions import db
from chat.models import ChatSession
from tests.support import (
    LiveServer, RecordingClient, connect_agent, connect_visitor, login, message_pages, server_environment,
    start_chat, wait_until,
)

LONG = "x" * 5000


@pytest.fixture(scope="module")
def tight_server(tmp_path_factory):
    """Low per-chat and per-socket limits (the per-address ones stay high)."""
    workdir = tmp_path_factory.mktemp("tight")
    live = LiveServer(workdir, env=server_environment(workdir, {
        "MESSAGE_LIMIT_PER_SESSION": "5 per minute", "READ_LIMIT_PER_SESSION": "6 per minute",
        "HEARTBEAT_LIMIT_PER_SOCKET": "10 per minute", "TYPING_LIMIT_PER_SESSION": "30 per minute",
        "MAX_SOCKETS_PER_SESSION": "10"}))
    live.prepare_database()
    live.start()
    yield live
    live.stop()


def key_headers(chat):
    return {"X-Session-Key": chat["session_key"]}


def rest_send(server, chat, text, client_id):
    return requests.post(server.api("/messages"), timeout=5, json={
        "session_id": chat["session_id"], "session_key": chat["session_key"], "text": text, "client_id": client_id})


def refusal_of(server, auth):
    """The connect_error data a /visitor connect with `auth` is refused with."""
    client = RecordingClient("/visitor")
    refusals = []
    client.client.on("connect_error", lambda data: refusals.append(data), namespace="/visitor")
    with pytest.raises(socketio.exceptions.ConnectionError):
        client.connect(server, auth=auth)
    return refusals[0]["data"]["code"]


# ---- 6: the REST send ----

def test_rest_sends_and_socket_sends_share_the_chats_message_limit(tight_server, clients):
    chat = start_chat(tight_server)
    replies = [rest_send(tight_server, chat, f"rest {n}", f"r{n}") for n in range(6)]
    assert [reply.status_code for reply in replies] == [201] * 5 + [429]
    assert replies[5].json()["error"]["code"] == "rate_limited"
    assert 0 < int(replies[5].headers["Retry-After"]) <= 60
    visitor = connect_visitor(tight_server, chat)
    clients.append(visitor)
    refused = visitor.call("send_message", {"text": "by socket", "client_id": "s1"})
    assert refused["error"]["code"] == "rate_limited"
    other = start_chat(tight_server)                        # another chat is not affected
    assert rest_send(tight_server, other, "hello", "o1").status_code == 201


def test_the_public_api_is_limited_per_address(own_server):
    server = own_server(PUBLIC_API_LIMIT_PER_IP="10 per minute")
    chat = start_chat(server)
    codes = [requests.get(server.api(f"/status/{chat['session_id']}"), headers=key_headers(chat),
                          timeout=5).status_code for _ in range(10)]
    assert codes == [200] * 9 + [429]
    refused = requests.post(server.api("/start"), json={"site_key": "demo"}, timeout=5)
    assert refused.status_code == 429 and refused.json()["error"]["code"] == "rate_limited"
    assert "Retry-After" in refused.headers


# ---- 7: reads ----

def text_bytes(messages):
    return sum(len(m["text"].encode("utf-8")) for m in messages)


@pytest.fixture(scope="module")
def long_chat(server):
    """130 short messages, then 60 of 5,000 characters."""
    chat = start_chat(server, name="Long")
    visitor = connect_visitor(server, chat)
    for n in range(190):
        reply = visitor.call("send_message", {"text": f"short {n}" if n < 130 else LONG, "client_id": f"m{n}"})
        assert reply["ok"], reply
    visitor.disconnect()
    return chat


def test_sync_answers_a_page_at_a_time_and_following_has_more_gets_everything_once(server, long_chat, clients):
    visitor = connect_visitor(server, long_chat, last_seq=190)
    clients.append(visitor)
    after, seen, pages = 0, [], []
    while True:
        reply = visitor.call("sync", {"after_seq": after})
        assert reply["ok"] and reply["last_seq"] == 190
        page = reply["messages"]
        assert 1 <= len(page) <= 100
        assert len(page) == 1 or text_bytes(page) <= 256 * 1024
        seen += [m["seq"] for m in page]
        pages.append((len(page), reply["has_more"]))
        if not reply["has_more"]:
            break
        after = page[-1]["seq"]
    assert seen == list(range(1, 191))
    assert pages[0] == (100, True) and len(pages) >= 3       # by count, then by bytes


def test_rest_polls_are_paged_the_same_way(server, long_chat):
    seen = []
    for page in message_pages(server, long_chat):
        assert len(page) <= 100 and text_bytes(page) <= 256 * 1024
        seen += [m["seq"] for m in page]
    assert seen == list(range(1, 191))


def test_the_replay_on_connect_and_on_join_is_one_page(server, long_chat, clients):
    visitor = connect_visitor(server, long_chat)
    clients.append(visitor)
    assert visitor.wait_for("session_status")["last_seq"] == 190     # the rest comes with sync
    assert replayed_seqs(visitor) == list(range(1, 101))
    agent = connect_agent(server, login(server, "supervisor@example.com", "demo-password"))
    clients.append(agent)
    joined = agent.call("join_session", {"session_id": long_chat["session_id"], "last_seq": 0})
    assert joined["has_more"] is True and joined["session"]["last_seq"] == 190
    assert replayed_seqs(agent) == list(range(1, 101))


def replayed_seqs(client):
    """The seqs replayed to `client` (events are handled on threads: wait for the first page)."""
    wait_until(lambda: len(client.messages()) >= 100, message="the replay")
    return sorted(m["seq"] for m in client.messages())


def test_reads_are_limited_per_chat_over_sockets_and_rest_together(tight_server, clients):
    chat = start_chat(tight_server)
    assert rest_send(tight_server, chat, "hello", "h1").status_code == 201
    visitor = connect_visitor(tight_server, chat)            # its replay is the first read
    clients.append(visitor)
    assert visitor.wait_for("message")["text"] == "hello"
    assert all(visitor.call("sync", {"after_seq": 0})["ok"] for _ in range(3))
    polled = [requests.get(tight_server.api(path), headers=key_headers(chat), timeout=5).status_code
              for path in (f"/messages/{chat['session_id']}", f"/status/{chat['session_id']}")]
    assert polled == [200, 200]
    assert visitor.call("sync", {"after_seq": 0})["error"]["code"] == "rate_limited"
    refused = requests.get(tight_server.api(f"/messages/{chat['session_id']}"), headers=key_headers(chat), timeout=5)
    assert refused.status_code == 429 and refused.json()["error"]["code"] == "rate_limited"
    assert "Retry-After" in refused.headers
    again = connect_visitor(tight_server, chat)              # connects, but replays nothing more
    clients.append(again)
    assert again.wait_for("session_status")["last_seq"] == 1
    assert again.messages() == []
    other = start_chat(tight_server)
    assert requests.get(tight_server.api(f"/status/{other['session_id']}"), headers=key_headers(other),
                        timeout=5).status_code == 200


# ---- 8: heartbeats, typing, sockets ----

def test_heartbeats_are_limited_per_socket(tight_server, clients):
    chat = start_chat(tight_server)
    visitor = connect_visitor(tight_server, chat)
    clients.append(visitor)
    replies = [visitor.call("heartbeat", {}) for _ in range(20)]
    assert all(reply == {"ok": True, "last_seq": 0} for reply in replies[:10])
    assert {reply["error"]["code"] for reply in replies[10:]} == {"rate_limited"}


def test_heartbeat_writes_are_coalesced_and_still_answer_the_latest_seq(site, app):
    chat, _ = sessions.start_session(site)
    updates = []
    listener = lambda conn, cursor, statement, *args: updates.append(statement) if statement.startswith(
        "UPDATE chat_session SET visitor_last_seen_at") else None
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        assert sessions.record_visitor_seen(chat.id) == 0
        first = db.session.get(ChatSession, chat.id).visitor_last_seen_at
        messages.receive(messages.Inbound(chat.id, "hello", "c1", "Ann"))
        assert [sessions.record_visitor_seen(chat.id) for _ in range(5)] == [1] * 5
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    db.session.expire_all()
    assert db.session.get(ChatSession, chat.id).visitor_last_seen_at == first
    assert len(updates) == 1


def test_one_chat_may_open_only_so_many_sockets(tight_server, clients):
    chat = start_chat(tight_server)
    for _ in range(10):
        clients.append(connect_visitor(tight_server, chat))
    auth = {"session_id": chat["session_id"], "session_key": chat["session_key"]}
    assert refusal_of(tight_server, auth) == "too_many_sockets"
    clients.pop().disconnect()
    clients.append(wait_until(lambda: connects(tight_server, chat), message="a closed tab to free its place"))


def connects(server, chat):
    try:
        return connect_visitor(server, chat)
    except socketio.exceptions.ConnectionError:
        return None


def test_typing_is_limited_per_chat_whatever_the_number_of_sockets(tight_server, clients):
    chat = start_chat(tight_server)
    agent = connect_agent(tight_server, login(tight_server, "supervisor@example.com", "demo-password"))
    clients.append(agent)
    assert agent.call("claim_session", {"session_id": chat["session_id"]})["ok"]
    tabs = [connect_visitor(tight_server, chat) for _ in range(5)]
    clients.extend(tabs)
    replies = [tab.call("typing", {"is_typing": n % 2 == 0}) for n in range(10) for tab in tabs]
    assert sum(reply["ok"] for reply in replies) == 30
    assert {reply["error"]["code"] for reply in replies if not reply["ok"]} == {"rate_limited"}
    assert len(agent.received("typing")) <= 30


# ---- 12: huge numbers ----

HUGE = [2**31, 2**63, 10**30]


@pytest.mark.parametrize("value", HUGE)
def test_huge_numbers_are_refused_as_invalid_everywhere(server, clients, value):
    chat = start_chat(server, name="Huge")
    supervisor = login(server, "supervisor@example.com", "demo-password")
    agent = connect_agent(server, supervisor)
    visitor = connect_visitor(server, chat)
    clients.extend([agent, visitor])
    polled = requests.get(server.api(f"/messages/{chat['session_id']}?after={value}"), headers=key_headers(chat),
                          timeout=5)
    assert polled.status_code == 400 and polled.json()["error"]["code"] == "invalid_payload"
    earlier = supervisor.get(f"{server.url}/dashboard/sessions/{chat['session_id']}/earlier?before={value}",
                             timeout=5)
    assert earlier.status_code == 400
    assert visitor.call("sync", {"after_seq": value})["error"]["code"] == "invalid_payload"
    for event_name, field in (("join_session", "last_seq"), ("sync", "after_seq")):
        reply = agent.call(event_name, {"session_id": chat["session_id"], field: value})
        assert reply["error"]["code"] == "invalid_payload"
    assert visitor.call("sync", {"after_seq": 2**31 - 1}) == {
        "ok": True, "messages": [], "has_more": False, "through_seq": 2**31 - 1, "last_seq": 0}


def test_a_refused_connect_leaves_no_trace(server, clients):
    chat = start_chat(server, name="Ghost")
    auth = {"session_id": chat["session_id"], "session_key": chat["session_key"], "last_seq": 10**30}
    assert refusal_of(server, auth) == "invalid_payload"
    agent = connect_agent(server, login(server, "supervisor@example.com", "demo-password"))
    clients.append(agent)
    joined = agent.call("join_session", {"session_id": chat["session_id"], "last_seq": 0})
    assert joined["visitor_online"] is False


# ---- 14: ended chats and wrong keys ----

def test_an_ended_chat_relays_no_typing_but_can_still_be_read(server, clients):
    chat = start_chat(server, name="Ended")
    agent = connect_agent(server, login(server, "supervisor@example.com", "demo-password"))
    visitor = connect_visitor(server, chat)
    clients.extend([agent, visitor])
    assert agent.call("claim_session", {"session_id": chat["session_id"]})["ok"]
    assert requests.post(server.api("/end"), json={"session_id": chat["session_id"],
                                                   "session_key": chat["session_key"]}, timeout=5).ok
    assert visitor.call("typing", {"is_typing": True})["error"]["code"] == "session_closed"
    late = rest_send(server, chat, "late", "late-1")
    assert late.status_code == 409 and late.json()["error"]["code"] == "session_closed"
    assert [m["text"] for m in visitor.call("sync", {"after_seq": 0})["messages"]][-1] == "The visitor ended the chat."
    assert requests.get(server.api(f"/status/{chat['session_id']}"), headers=key_headers(chat),
                        timeout=5).json()["status"] == "ended"
    assert agent.received("typing") == []


def test_an_address_that_keeps_giving_wrong_keys_is_throttled(own_server):
    server = own_server(KEY_FAILURE_LIMIT_PER_IP="5 per minute")
    chat, other = start_chat(server), start_chat(server)
    wrong = {"X-Session-Key": other["session_key"]}
    attempts = [
        requests.get(server.api(f"/status/{chat['session_id']}"), headers=wrong, timeout=5),
        requests.get(server.api(f"/messages/{chat['session_id']}"), headers=wrong, timeout=5),
        requests.post(server.api("/end"), json={"session_id": chat["session_id"], "session_key": "x"}, timeout=5),
        requests.post(server.api("/messages"), timeout=5, json={
            "session_id": chat["session_id"], "session_key": "x", "text": "hi", "client_id": "k1"}),
    ]
    assert [response.status_code for response in attempts] == [404] * 4
    assert refusal_of(server, {"session_id": chat["session_id"], "session_key": "x"}) == "session_not_found"
    right = requests.get(server.api(f"/status/{chat['session_id']}"), headers=key_headers(chat), timeout=5)
    assert right.status_code == 429 and right.json()["error"]["code"] == "rate_limited"
    assert 0 < int(right.headers["Retry-After"]) <= 60
    auth = {"session_id": chat["session_id"], "session_key": chat["session_key"]}
    assert refusal_of(server, auth) == "rate_limited"


# ---- open chats per address ----

def test_one_address_may_hold_only_so_many_open_chats(own_server):
    server = own_server(MAX_OPEN_SESSIONS_PER_IP=3)
    chats = [start_chat(server) for _ in range(3)]
    refused = requests.post(server.api("/start"), json={"site_key": "demo"}, timeout=5)
    assert refused.status_code == 429 and refused.json()["error"]["code"] == "too_many_open_sessions"
    requests.post(server.api("/end"), json={"session_id": chats[0]["session_id"],
                                            "session_key": chats[0]["session_key"]}, timeout=5)
    assert start_chat(server)["status"] == "waiting"
