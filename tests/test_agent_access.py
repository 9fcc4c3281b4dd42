"""Who may follow a chat live, and for how long a login lasts: an agent who loses the right
to view a chat stops receiving it at once, and an ended login opens nothing, on every process."""
import re
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime

import pytest
import requests
import socketio

from tests.support import (
    connect_agent, connect_visitor, create_agent, flask_cli, login, logout, redis_url, start_chat, start_two_servers,
    submit_login, wait_until,
)

THIRD = ("third@example.com", "Third Agent", "third-password")



def joined(tab, chat):
    reply = tab.call("join_session", {"session_id": chat["session_id"], "last_seq": 0})
    assert reply["ok"], reply
    return reply


def status_of(tab, chat, status):
    return tab.wait_for("session_status", lambda s: s["session_id"] == chat["session_id"] and s["status"] == status)


def live_events_of(tab, chat, since_status="active"):
    """What of this chat reached the tab after it took `since_status` (a claim, an end):
    messages, typing, presence, statuses."""
    seen, after_change = [], False
    for name, data in list(tab.events):
        if not isinstance(data, dict) or data.get("session_id") != chat["session_id"]:
            continue
        if after_change and name in ("message", "typing", "presence", "session_status"):
            seen.append((name, data.get("text") or data.get("status") or data.get("sender_type")))
        if name == "session_status" and data["status"] == since_status:
            after_change = True
    return seen


def converse_after_the_claim(visitor, claimer, chat):
    visitor.call("typing", {"is_typing": True})
    visitor.call("send_message", {"text": "my card number is 4111 1111 1111 1111", "client_id": "card"})
    assert claimer.call("send_message", {"session_id": chat["session_id"], "text": "Thanks, noted",
                                         "client_id": "reply"})["ok"]


def assert_follows_the_conversation(tab):
    tab.wait_for("message", lambda m: m["text"] == "my card number is 4111 1111 1111 1111")
    tab.wait_for("message", lambda m: m["text"] == "Thanks, noted")
    tab.wait_for("typing", lambda t: t["sender_type"] == "visitor")


def assert_hears_nothing_more(tab, chat):
    # A round trip on the tab's own socket: whatever was sent to it before has arrived by its ack.
    assert tab.call("heartbeat", {})["ok"]
    assert live_events_of(tab, chat) == []
    assert tab.call("join_session", {"session_id": chat["session_id"], "last_seq": 0})["error"]["code"] \
        == "session_not_found"


def test_agents_who_lose_a_chat_to_a_claim_receive_nothing_more_of_it(server, clients):
    create_agent(server, *THIRD)
    chat = start_chat(server, name="Card holder")
    claimer, second, third, supervisor = tabs = [
        connect_agent(server, login(server, email, password)) for email, password in (
            ("demo@example.com", "demo-password"), ("second@example.com", "second-password"),
            (THIRD[0], THIRD[2]), ("supervisor@example.com", "demo-password"))]
    clients.extend(tabs)
    for tab in tabs:
        joined(tab, chat)                       # every dashboard opens the first waiting chat by itself
    visitor = connect_visitor(server, chat)
    clients.append(visitor)

    assert claimer.call("claim_session", {"session_id": chat["session_id"]})["ok"]
    for tab in tabs:
        status_of(tab, chat, "active")          # everyone learns of the claim, then the room closes
    joined(supervisor, chat)                    # a supervisor's dashboard re-joins on session_status
    converse_after_the_claim(visitor, claimer, chat)

    for tab in (claimer, supervisor):
        assert_follows_the_conversation(tab)
    for tab in (second, third):
        assert_hears_nothing_more(tab, chat)


def test_ending_a_queued_chat_stops_it_for_the_agents_who_were_looking(server, clients):
    chat = start_chat(server, name="Leaving")
    looker = connect_agent(server, login(server, "second@example.com", "second-password"))
    supervisor = connect_agent(server, login(server, "supervisor@example.com", "demo-password"))
    clients.extend([looker, supervisor])
    joined(looker, chat)
    visitor = connect_visitor(server, chat)
    clients.append(visitor)
    assert supervisor.call("end_session", {"session_id": chat["session_id"]})["ok"]
    status_of(looker, chat, "ended")
    joined(supervisor, chat)
    visitor.disconnect()                        # a presence event of the chat, after its end
    supervisor.wait_for("presence", lambda p: p.get("session_id") == chat["session_id"]
                        and p["visitor_online"] is False)
    assert looker.call("heartbeat", {})["ok"]
    assert live_events_of(looker, chat, since_status="ended") == []


# ---- logins end everywhere ----

def replay(server, cookie):
    http = requests.Session()
    http.cookies.set("session", cookie)
    return http


def assert_cookie_opens_nothing(server, cookie):
    http = replay(server, cookie)
    for path in ("/dashboard", "/dashboard/sessions"):
        response = http.get(server.url + path, allow_redirects=False, timeout=5)
        assert response.status_code == 302 and "/login" in response.headers["Location"], path
    with pytest.raises(socketio.exceptions.ConnectionError):
        connect_agent(server, http)


def test_a_copied_login_cookie_stops_working_at_logout_and_at_a_password_reset(server, clients):
    email, password = "copied@example.com", "copied-password"
    create_agent(server, email, "Copied", password)
    http = login(server, email, password)
    copied = http.cookies["session"]
    assert replay(server, copied).get(server.url + "/dashboard", allow_redirects=False, timeout=5).status_code == 200
    logout(server, http)
    assert_cookie_opens_nothing(server, copied)

    http = login(server, email, password)
    copied = http.cookies["session"]
    tab = connect_agent(server, replay(server, copied))
    clients.append(tab)
    create_agent(server, email, "Copied", "a-new-password")      # the reset, from another process
    assert_cookie_opens_nothing(server, copied)
    # This server has no message queue, so the CLI cannot reach the open socket: its next event is
    # refused, unless a job tick closed it first (the next test).
    try:
        answer = tab.call("heartbeat", {})
    except (socketio.exceptions.BadNamespaceError, socketio.exceptions.TimeoutError):
        answer = None                                            # closed by the job tick meanwhile
    assert answer is None or answer["error"]["code"] == "login_required"
    wait_until(lambda: not tab.client.connected, message="the socket of the reset login to close")


def test_without_a_message_queue_a_job_tick_closes_an_idle_socket_of_a_reset_login(own_server, clients):
    server = own_server(JOBS_INTERVAL_SECONDS=1)
    tab = connect_agent(server, login(server, "second@example.com", "second-password"))
    clients.append(tab)
    create_agent(server, "second@example.com", "Second Agent", "another-password")
    wait_until(lambda: not tab.client.connected, message="the job tick to close the reset login's socket")


def test_the_login_cookie_expires_after_the_login_lifetime(server):
    response = submit_login(server, requests.Session(), "demo@example.com", "demo-password")
    expires = re.search(r"Expires=([^;]+)", response.headers["Set-Cookie"]).group(1)
    left = parsedate_to_datetime(expires) - datetime.now(timezone.utc)
    assert timedelta(hours=11, minutes=55) < left <= timedelta(hours=12, minutes=1)


def test_an_old_style_login_cookie_without_a_version_is_refused(app, agents):
    from chat.auth import load_agent
    alice = agents[0]
    assert load_agent(alice.get_id()) == alice
    for token in (str(alice.id), f"{alice.id}:{alice.session_version + 1}", f"{alice.id}:x", "9" * 40 + ":0"):
        assert load_agent(token) is None, token


# ---- two processes ----

@pytest.fixture
def two_quiet_servers(tmp_path):
    """Processes A and B on one database and one Redis; no job tick during a test."""
    servers = start_two_servers(tmp_path, redis_url(), JOBS_INTERVAL_SECONDS="3600")
    yield servers
    for live in servers:
        live.stop()


def test_a_claim_on_one_process_stops_the_chat_for_an_agent_on_the_other(two_quiet_servers, clients):
    a, b = two_quiet_servers
    chat = start_chat(a, name="Across")
    claimer = connect_agent(a, login(a))
    looker = connect_agent(b, login(b, "second@example.com", "second-password"))
    supervisor = connect_agent(b, login(b, "supervisor@example.com", "demo-password"))
    clients.extend([claimer, looker, supervisor])
    for tab in (claimer, looker, supervisor):
        joined(tab, chat)
    visitor = connect_visitor(a, chat)
    clients.append(visitor)
    assert claimer.call("claim_session", {"session_id": chat["session_id"]})["ok"]
    for tab in (looker, supervisor):
        status_of(tab, chat, "active")
    joined(supervisor, chat)
    converse_after_the_claim(visitor, claimer, chat)
    for tab in (claimer, supervisor):
        assert_follows_the_conversation(tab)
    assert_hears_nothing_more(looker, chat)


def test_logout_disable_and_role_change_close_the_agents_sockets_on_every_process(two_quiet_servers, clients):
    a, b = two_quiet_servers
    http = login(a, "second@example.com", "second-password")
    tabs = [connect_agent(a, http), connect_agent(b, http)]
    clients.extend(tabs)
    logout(a, http)
    wait_until(lambda: not any(tab.client.connected for tab in tabs), timeout=5,
               message="both sockets to close at logout, long before a job tick")

    http = login(b, "second@example.com", "second-password")
    tabs = [connect_agent(a, http), connect_agent(b, http)]
    clients.extend(tabs)
    result = flask_cli(a.env, "chat", "disable-agent", "--email", "second@example.com")
    assert result.returncode == 0, result.stderr
    wait_until(lambda: not any(tab.client.connected for tab in tabs), timeout=5,
               message="both sockets to close when the agent is disabled from the CLI")

    http = login(a, "supervisor@example.com", "demo-password")
    tabs = [connect_agent(a, http), connect_agent(b, http)]
    clients.extend(tabs)
    create_agent(a, "supervisor@example.com", "Demo Supervisor", "demo-password", role="agent")
    wait_until(lambda: not any(tab.client.connected for tab in tabs), timeout=5,
               message="both sockets to close when the role changes")
    assert_cookie_opens_nothing(b, http.cookies["session"])
