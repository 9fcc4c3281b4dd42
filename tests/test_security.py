"""Nobody reads or breaks a conversation that is not theirs: keys, origins, input,
output, headers, rate limits and logins, against live servers."""
import pytest
import requests
import socketio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support import (
    RecordingClient, connect_agent, connect_visitor, flask_cli, login, start_chat, stored_messages, submit_login,
    submit_logout, wait_until,
)

XSS_PAYLOADS = [
    "<img src=x onerror=alert(1)>",
    "<script>alert(1)</script>",
    "\"><svg onload=alert(1)>",
    "'><iframe src=javascript:alert(1)>",
    "<a href=\"javascript:alert(1)\">click</a>",
    "{{7*7}}<b>bold</b>",
]

DEFAULT_LIMITS = {name: value for name, value in (
    ("LOGIN_LIMIT_PER_IP", "20 per minute"), ("LOGIN_LIMIT_PER_ACCOUNT", "5 per minute"),
    ("START_LIMIT_PER_IP", "10 per minute"), ("MESSAGE_LIMIT_PER_SOCKET", "20 per 10 second"),
    ("MESSAGE_LIMIT_PER_SESSION", "60 per minute"), ("TYPING_LIMIT_PER_SOCKET", "30 per 10 second"))}


# ---- keys and cross-session access ----

def test_one_visitors_key_opens_nothing_of_another_session(server, clients):
    mine, theirs = start_chat(server), start_chat(server)
    headers = {"X-Session-Key": mine["session_key"]}
    unknown = "00000000-0000-0000-0000-000000000000"
    for path in ("/status/{}", "/messages/{}"):
        foreign = requests.get(server.api(path.format(theirs["session_id"])), headers=headers, timeout=5)
        missing = requests.get(server.api(path.format(unknown)), headers=headers, timeout=5)
        assert foreign.status_code == missing.status_code == 404 and foreign.json() == missing.json()
    ended = requests.post(server.api("/end"), timeout=5,
                          json={"session_id": theirs["session_id"], "session_key": mine["session_key"]})
    assert ended.status_code == 404
    assert requests.get(server.api(f"/status/{theirs['session_id']}"), timeout=5,
                        headers={"X-Session-Key": theirs["session_key"]}).json()["status"] == "waiting"
    visitor = connect_visitor(server, mine)
    clients.append(visitor)
    for event, payload in (("send_message", {"session_id": theirs["session_id"], "text": "hi", "client_id": "x"}),
                           ("sync", {"session_id": theirs["session_id"], "after_seq": 0}),
                           ("heartbeat", {"session_id": theirs["session_id"]}),
                           ("end_session", {"session_id": theirs["session_id"]})):
        assert visitor.call(event, payload)["error"]["code"] == "session_not_found"
    assert stored_messages(server, theirs) == []


@pytest.mark.parametrize("key", [None, "", 123, ["a"], {"k": "v"}, "x" * 10000, True])
def test_forged_missing_and_wrong_typed_keys_are_refused(server, chat, key):
    response = requests.post(server.api("/end"), json={"session_id": chat["session_id"], "session_key": key},
                             timeout=5)
    assert response.status_code in (400, 404) and "error" in response.json()
    client = socketio.Client(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        client.connect(server.url, namespaces=["/visitor"], wait_timeout=5,
                       auth={"session_id": chat["session_id"], "session_key": key})


def test_the_session_key_appears_only_in_the_start_response(server, agent_http, clients):
    chat = start_chat(server, name="Keyholder")
    key = chat["session_key"]
    visitor = connect_visitor(server, chat)
    clients.append(visitor)
    visitor.call("send_message", {"text": "hello", "client_id": "k-1"})
    pages = [
        requests.get(server.api(f"/status/{chat['session_id']}"), headers={"X-Session-Key": key}, timeout=5).text,
        requests.get(server.api(f"/messages/{chat['session_id']}"), headers={"X-Session-Key": key}, timeout=5).text,
        agent_http.get(server.url + "/dashboard/sessions", timeout=5).text,
        agent_http.get(f"{server.url}/dashboard/sessions/{chat['session_id']}", timeout=5).text,
        server.log_path.read_text(),
    ]
    assert all(key not in page for page in pages)
    assert all(str(event) .find(key) == -1 for event in visitor.events)


# ---- origins ----

@pytest.mark.parametrize("origin", ["http://evil.example", "null", "http://127.0.0.1.evil.example",
                                    "https://127.0.0.1"])
def test_foreign_origins_are_refused_on_both_namespaces_and_the_api(server, chat, agent_http, origin):
    with pytest.raises(socketio.exceptions.ConnectionError):
        connect_agent(server, agent_http, origin=origin)
    with pytest.raises(socketio.exceptions.ConnectionError):
        connect_visitor(server, chat, headers={"Origin": origin})
    started = requests.post(server.api("/start"), json={"site_key": "demo"}, headers={"Origin": origin}, timeout=5)
    assert started.status_code == 403 and started.headers.get("Access-Control-Allow-Origin") is None


def test_dashboard_posts_from_another_site_are_refused(server, agent_http):
    response = submit_logout(server, agent_http, headers={"Origin": "http://evil.example"})
    assert response.status_code == 403
    assert agent_http.get(server.url + "/dashboard", allow_redirects=False, timeout=5).status_code == 200


@pytest.mark.parametrize("headers", [{"Origin": "http://evil.example"}, {"Origin": "null"}, {}],
                         ids=["foreign-origin", "null-origin", "no-origin"])
@pytest.mark.parametrize("path", ["/logout", "/login"])
def test_a_post_without_the_login_cookie_never_writes_a_new_session_cookie(server, headers, path):
    """What another site's auto-submitted form sends (no cookie: SameSite=Lax) is refused
    without a Set-Cookie, which would replace the agent's login in the browser."""
    response = requests.post(server.url + path, headers=headers, data={"email": "x@example.com"},
                             allow_redirects=False, timeout=5)
    assert response.status_code == (403 if headers else 400)
    assert "Set-Cookie" not in response.headers
    if headers:
        assert "This form was sent from another website, so it was not accepted." in response.text


@pytest.mark.parametrize("target", ["/%09/evil.example", "/%0A/evil.example", "/.//evil.example",
                                    "/%5Cevil.example", "https://evil.example"])
def test_login_redirects_only_to_paths_on_this_site(server, target):
    response = submit_login(server, requests.Session(), "demo@example.com", "demo-password", next_path=target)
    assert response.status_code == 302 and response.headers["Location"] == "/dashboard"


# ---- output ----

@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_everything_a_visitor_types_is_rendered_as_text(server, agent_http, clients, payload):
    chat = start_chat(server, name=payload[:80], email="a@example.com",
                      page_url="https://shop.example/?q=" + payload)
    visitor = connect_visitor(server, chat)
    clients.append(visitor)
    visitor.call("send_message", {"text": payload, "client_id": "xss"})
    escaped = payload.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    for path in ("/dashboard/sessions", f"/dashboard/sessions/{chat['session_id']}"):
        page = agent_http.get(server.url + path, timeout=5).text
        assert payload not in page
        assert escaped.replace('"', "&#34;").replace("'", "&#39;") in page


# ---- headers ----

def test_pages_carry_a_strict_content_security_policy(server, agent_http):
    for page in (agent_http.get(server.url + "/dashboard", timeout=5), requests.get(server.url + "/login", timeout=5)):
        policy = page.headers["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy and "unsafe-eval" not in policy
        assert "frame-ancestors 'none'" in policy and page.headers["X-Frame-Options"] == "DENY"
        assert page.headers["X-Content-Type-Options"] == "nosniff"
    frame = requests.get(server.url + "/widget/frame?site=demo", timeout=5)
    assert "frame-ancestors 'self'" in frame.headers["Content-Security-Policy"]
    assert "X-Frame-Options" not in frame.headers
    assert "<script>" not in frame.text                  # no inline script anywhere in the frame


def test_login_cookie_is_http_only_and_same_site_lax(server):
    response = submit_login(server, requests.Session(), "demo@example.com", "demo-password")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


# ---- malformed input: a fuzz test ----

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=50),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=10)
payloads = st.one_of(
    json_values,
    st.fixed_dictionaries({}, optional={"text": json_values | st.text(max_size=6000),
                                        "client_id": json_values | st.text(max_size=80),
                                        "session_id": json_values, "is_typing": json_values,
                                        "after_seq": json_values, "last_seq": json_values}))


@pytest.fixture(scope="module")
def fuzz_target(server):
    chat = start_chat(server, name="Fuzz")
    visitor = connect_visitor(server, chat)
    agent = connect_agent(server, login(server, "supervisor@example.com", "demo-password"))
    agent.call("claim_session", {"session_id": chat["session_id"]})
    yield chat, visitor, agent
    visitor.disconnect()
    agent.disconnect()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(event=st.sampled_from(["send_message", "typing", "heartbeat", "sync", "end_session", "join_session",
                              "claim_session", "leave_session", "transfer_session", "join_chat", "mark_read",
                              "no_such_event"]),
       payload=payloads, to_agent=st.booleans())
def test_malformed_payloads_never_break_the_server_or_store_bad_rows(server, fuzz_target, event, payload, to_agent):
    chat, visitor, agent = fuzz_target
    if event == "end_session":
        payload = payload if not isinstance(payload, dict) else {**payload, "session_id": ["not", "a", "str"]}
    client = agent if to_agent else visitor
    reply = client.call(event, payload)
    assert set(reply) <= {"ok", "error", "message", "messages", "has_more", "through_seq", "last_seq", "session",
                          "visitor_online", "viewers", "status", "last_read_seq"}
    if not reply["ok"]:
        assert set(reply["error"]) == {"code", "message"}
    assert visitor.call("heartbeat", {})["ok"]           # the server is still up and answering
    for message in stored_messages(server, chat):
        assert isinstance(message["text"], str) and 0 < len(message["text"]) <= 5000
        assert message["text"] == message["text"].strip()


# ---- rate limits and logins ----

@pytest.fixture
def limited_server(own_server):
    """A server of the test's own with the default limits, so no other traffic counts."""
    return own_server(**DEFAULT_LIMITS, JOBS_INTERVAL_SECONDS=1)


def test_login_attempts_are_limited_per_account_and_others_are_unaffected(limited_server):
    for _ in range(5):
        with pytest.raises(AssertionError):
            login(limited_server, "demo@example.com", "wrong-password")
    blocked = submit_login(limited_server, requests.Session(), "demo@example.com", "demo-password")
    assert blocked.status_code == 429 and "Too many attempts" in blocked.text
    assert login(limited_server, "supervisor@example.com", "demo-password")


def test_chat_starts_are_limited_per_ip(limited_server):
    codes = [requests.post(limited_server.api("/start"), json={"site_key": "demo"}, timeout=5).status_code
             for _ in range(11)]
    assert codes[:10] == [201] * 10 and codes[10] == 429
    refused = requests.post(limited_server.api("/start"), json={"site_key": "demo"}, timeout=5).json()
    assert refused["error"]["code"] == "rate_limited"


def test_a_flooding_socket_is_slowed_and_another_visitor_is_not(limited_server, clients):
    chats = [start_chat(limited_server), start_chat(limited_server)]
    flooder, calm = (connect_visitor(limited_server, chat) for chat in chats)
    clients.extend([flooder, calm])
    replies = [flooder.call("send_message", {"text": f"spam {n}", "client_id": f"s{n}"}) for n in range(21)]
    assert all(reply["ok"] for reply in replies[:20])
    assert replies[20]["error"]["code"] == "rate_limited"
    assert calm.call("send_message", {"text": "hello", "client_id": "calm"})["ok"]
    assert len(stored_messages(limited_server, chats[0])) == 20


def test_a_disabled_agent_is_disconnected_and_cannot_log_in(limited_server, clients):
    http = login(limited_server, "second@example.com", "second-password")
    tab = connect_agent(limited_server, http)
    clients.append(tab)
    result = flask_cli(limited_server.env, "chat", "disable-agent", "--email", "second@example.com")
    assert result.returncode == 0, result.stderr
    wait_until(lambda: not tab.client.connected, message="the disabled agent's socket to close")
    with pytest.raises(AssertionError):
        login(limited_server, "second@example.com", "second-password")


def test_a_frame_larger_than_any_valid_event_is_refused_and_the_server_stays_up(server, chat, clients):
    flooder = RecordingClient("/visitor").connect(server, transports=["websocket"], auth={
        "session_id": chat["session_id"], "session_key": chat["session_key"]})
    clients.append(flooder)
    flooder.emit("send_message", {"text": "x" * 200_000, "client_id": "huge"})
    wait_until(lambda: not flooder.client.connected, message="the oversized frame to close the socket")
    assert stored_messages(server, chat) == []
    calm = RecordingClient("/visitor").connect(server, transports=["websocket"], auth={
        "session_id": chat["session_id"], "session_key": chat["session_key"]})
    clients.append(calm)
    assert calm.call("send_message", {"text": "still here", "client_id": "after"})["ok"]


def test_typing_floods_are_limited_per_socket(limited_server, clients):
    chat = start_chat(limited_server)
    visitor = connect_visitor(limited_server, chat)
    clients.append(visitor)
    replies = [visitor.call("typing", {"is_typing": n % 2 == 0}) for n in range(31)]
    assert all(reply["ok"] for reply in replies[:30]) and replies[30]["error"]["code"] == "rate_limited"
