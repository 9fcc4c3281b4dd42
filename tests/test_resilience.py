"""Conversations that survive restarts, blocked WebSockets and the timers, on live servers."""
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from tests.support import (
    Participant, connect_agent, connect_visitor, flask_cli, free_port, login, redis_url, start_chat, stored_messages,
)


def visitor_participant(server, chat, **options):
    return Participant(server, "/visitor", chat["session_id"],
                       auth={"session_id": chat["session_id"], "session_key": chat["session_key"]},
                       **options).connect()


def agent_participant(server, http, session_id):
    return Participant(server, "/agent", session_id, http=http)


def test_a_server_killed_and_restarted_mid_chat_loses_and_doubles_nothing(own_server):
    server = own_server()
    chat = start_chat(server, name="Restart")
    http = login(server)
    agent = agent_participant(server, http, chat["session_id"]).connect()
    assert agent.client.call("claim_session", {"session_id": chat["session_id"]}, namespace="/agent")["ok"]
    visitor = visitor_participant(server, chat)
    try:
        visitor.say("before 1", "v-1")
        agent.say("before 2", "a-1")
        agent.wait_for_texts(["before 1", "before 2"])

        server.stop(kill=True)
        visitor.say("during 1", "v-2")           # sent while the server is down
        agent.say("during 2", "a-2")
        server.start()

        visitor.say("after 1", "v-3")
        agent.say("after 2", "a-3")
        expected = ["before 1", "before 2", "during 1", "during 2", "after 1", "after 2"]
        for side in (visitor, agent):
            side.wait_for_texts(expected)
        stored = stored_messages(server, chat)
        stored_texts = [m["text"] for m in stored if m["sender_type"] != "system"]
        assert sorted(stored_texts) == sorted(expected)          # each stored exactly once
        assert [m["seq"] for m in stored] == list(range(1, len(stored) + 1))
        for side in (visitor, agent):                            # each shown once, in seq order
            side.wait_for_texts([m["text"] for m in stored])
            assert [side.log[seq] for seq in sorted(side.log)] == stored
    finally:
        visitor.disconnect()
        agent.disconnect()


class WebSocketBlockingProxy(BaseHTTPRequestHandler):
    """Forwards plain HTTP to the server and refuses every WebSocket upgrade, like
    a corporate proxy that only speaks HTTP."""
    target = None
    upgrades_refused = 0

    def _forward(self):
        if self.headers.get("Upgrade", "").lower() == "websocket":
            type(self).upgrades_refused += 1
            self.send_error(403, "WebSocket blocked by proxy")
            return
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
        upstream = requests.request(self.command, self.target + self.path, data=body, headers=headers,
                                    timeout=60, allow_redirects=False)
        self.send_response(upstream.status_code)
        for name, value in upstream.headers.items():
            if name.lower() not in ("content-length", "transfer-encoding", "connection", "content-encoding"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(upstream.content)))
        self.end_headers()
        self.wfile.write(upstream.content)

    do_GET = do_POST = do_OPTIONS = _forward

    def log_message(self, *args):
        pass


class ProxiedServer:
    def __init__(self, url):
        self.url = url

    def api(self, path):
        return f"{self.url}/api/v1/chat/public{path}"


def test_a_client_whose_websocket_is_refused_still_converses(server, agent_http, clients):
    WebSocketBlockingProxy.target = server.url
    proxy = ThreadingHTTPServer(("127.0.0.1", free_port()), WebSocketBlockingProxy)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    through_proxy = ProxiedServer(f"http://127.0.0.1:{proxy.server_address[1]}")
    try:
        chat = start_chat(through_proxy, name="Behind a proxy")
        visitor = connect_visitor(through_proxy, chat)      # default transports: polling, then upgrade
        clients.append(visitor)
        agent = connect_agent(server, agent_http)
        clients.append(agent)
        assert agent.call("claim_session", {"session_id": chat["session_id"]})["ok"]
        assert visitor.call("send_message", {"text": "over long-polling", "client_id": "p-1"})["ok"]
        agent.call("send_message", {"session_id": chat["session_id"], "text": "got it", "client_id": "p-2"})
        assert visitor.wait_for("message", lambda m: m["text"] == "got it")
        assert visitor.client.transport() == "polling"
        assert WebSocketBlockingProxy.upgrades_refused >= 1
    finally:
        proxy.shutdown()
        proxy.server_close()


def test_the_scheduler_in_the_serving_process_expires_sessions_and_tells_everyone(own_server, clients):
    server = own_server(SESSION_LIFETIME_HOURS=0, JOBS_INTERVAL_SECONDS=1)
    # The agent connects first: the chat can expire within a second of starting, and an agent
    # connecting after that would find it already gone from the queue.
    agent = connect_agent(server, login(server))
    clients.append(agent)
    chat = start_chat(server, name="Expiring")
    visitor = connect_visitor(server, chat)
    clients.append(visitor)
    status = visitor.wait_for("session_status", lambda s: s["status"] == "ended", timeout=15)
    assert status["end_reason"] == "expired"
    # The text names the lifetime that is set (0 hours here, so that it expires at once).
    assert visitor.wait_for("message", lambda m: m["sender_type"] == "system")["text"] == \
        "Chat session automatically ended after 0 hours."
    assert agent.wait_for("queue_update", lambda u: u["session_id"] == chat["session_id"]
                          and u["status"] == "ended")


def test_scheduler_enabled_0_turns_the_jobs_off(own_server):
    server = own_server(SESSION_LIFETIME_HOURS=0, JOBS_INTERVAL_SECONDS=1, SCHEDULER_ENABLED=0)
    start_chat(server)
    result = flask_cli(server.env, "chat", "run-jobs", "--once")    # proves the session was still open
    assert "expire_overdue_sessions: 1" in result.stdout, result.stderr



def test_a_job_run_from_the_cli_updates_a_connected_agents_queue(own_server, clients):
    server = own_server(SOCKETIO_MESSAGE_QUEUE=redis_url(), SCHEDULER_ENABLED=0)
    chat = start_chat(server, name="Left waiting")
    agent = connect_agent(server, login(server))
    clients.append(agent)
    tomorrow = (datetime.now(timezone.utc) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S")
    result = flask_cli(server.env, "chat", "run-jobs", "--once", "--now", tomorrow)
    assert result.returncode == 0 and "expire_overdue_sessions: 1" in result.stdout, result.stderr
    update = agent.wait_for("queue_update", lambda u: u["session_id"] == chat["session_id"]
                            and u["status"] == "ended")
    assert update["status"] == "ended"


@pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"),
                    reason="needs PostgreSQL: set TEST_DATABASE_URL (bin/test does, from TEST_POSTGRES_URL)")
def test_messages_go_through_when_postgres_drops_every_connection(own_server, clients):
    """A database restart or failover closes the server's pooled connections; the next
    message still arrives (the event retries on a new connection), stored once."""
    import psycopg
    server = own_server()
    chat = start_chat(server, name="Failover")
    agent = connect_agent(server, login(server))
    visitor = connect_visitor(server, chat)
    clients.extend([agent, visitor])
    assert agent.call("claim_session", {"session_id": chat["session_id"]})["ok"]
    assert visitor.call("send_message", {"text": "before", "client_id": "f1"})["ok"]
    # Requests at once leave several connections in the server's pool, all to be dropped.
    status_url = server.api(f"/status/{chat['session_id']}")
    with ThreadPoolExecutor(20) as pool:
        statuses = list(pool.map(lambda _: requests.get(status_url, timeout=10, headers={
            "X-Session-Key": chat["session_key"]}).status_code, range(40)))
    assert statuses == [200] * 40
    with psycopg.connect(server.env["DATABASE_URL"], autocommit=True) as admin:
        dropped = admin.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                "WHERE datname = current_database() AND pid <> pg_backend_pid()").fetchone()[0]
    assert dropped >= 3
    reply = visitor.call("send_message", {"text": "after the drop", "client_id": "f2"})
    assert reply["ok"], reply
    assert agent.wait_for("message", lambda m: m["text"] == "after the drop")
    visitor_texts = [m["text"] for m in stored_messages(server, chat) if m["sender_type"] == "visitor"]
    assert visitor_texts == ["before", "after the drop"]


@pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"),
                    reason="needs PostgreSQL: set TEST_DATABASE_URL (bin/test does, from TEST_POSTGRES_URL)")
def test_an_agent_event_waiting_for_the_writer_holds_no_database_connection(own_server, clients):
    """The message writer takes its connections from the pool that the events use. An agent's
    event reads the agent and the chat before it sends: if it kept that connection while it
    waited for the writer, a pool this small would starve the writer (forty agents did it with
    the default pool: `bin/bench --mix agents`, docs/benchmarks.md)."""
    server = own_server(DATABASE_POOL_SIZE=1, DATABASE_MAX_OVERFLOW=0)
    chat = start_chat(server, name="Pool")
    agent = connect_agent(server, login(server))
    visitor = connect_visitor(server, chat)
    clients.extend([agent, visitor])
    assert agent.call("claim_session", {"session_id": chat["session_id"]})["ok"]
    reply = agent.call("send_message", {"session_id": chat["session_id"], "text": "hello", "client_id": "p1"})
    assert reply["ok"], reply
    assert visitor.wait_for("message", lambda m: m["text"] == "hello")
