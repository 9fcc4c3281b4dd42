"""Several server processes sharing one database and Redis: the setup of a busy site."""
import subprocess
import sys
import threading

import pytest
import requests

from tests.support import (
    ROOT, DelayingProxy, Participant, connect_agent, connect_visitor, flask_cli, login, redis_url, start_chat,
    start_two_servers, stored_messages, wait_until,
)




@pytest.fixture
def two_servers_with_slow_redis(tmp_path):
    """A and B reach Redis through a link that adds 50 ms each way."""
    host, port = redis_url().split("//")[1].split("/")[0].split(":")
    proxy = DelayingProxy(host, int(port), delay=0.05)
    servers = start_two_servers(tmp_path, f"redis://127.0.0.1:{proxy.port}/0")
    yield servers
    for server in servers:
        server.stop()
    proxy.close()


def test_a_visitor_on_one_process_and_an_agent_on_another_converse(two_servers, clients):
    a, b = two_servers
    for server in two_servers:
        assert requests.get(server.url + "/healthz", timeout=5).json()["redis"] == "ok"
    agent = connect_agent(b, login(b))
    clients.append(agent)
    chat = start_chat(a, name="Across")
    assert agent.wait_for("queue_update", lambda u: u["session_id"] == chat["session_id"])["status"] == "waiting"
    visitor = connect_visitor(a, chat)
    clients.append(visitor)
    assert visitor.wait_for("presence", lambda p: p.get("agents_online", 0) >= 1)
    assert agent.call("claim_session", {"session_id": chat["session_id"]})["ok"]
    joined = agent.call("join_session", {"session_id": chat["session_id"], "last_seq": 0})
    assert joined["visitor_online"] is True                     # presence held in Redis, not in B's memory

    visitor.call("send_message", {"text": "hello from A", "client_id": "v1"})
    assert agent.wait_for("message", lambda m: m["text"] == "hello from A")
    agent.call("send_message", {"session_id": chat["session_id"], "text": "hello from B", "client_id": "a1"})
    assert visitor.wait_for("message", lambda m: m["text"] == "hello from B")
    visitor.call("typing", {"is_typing": True})
    assert agent.wait_for("typing", lambda t: t["sender_type"] == "visitor")["is_typing"] is True
    visitor.disconnect()
    assert agent.wait_for("presence", lambda p: p.get("session_id") == chat["session_id"]
                          and p["visitor_online"] is False)


def test_concurrent_senders_on_two_processes_get_gap_free_seqs(two_servers, clients):
    a, b = two_servers
    chat = start_chat(a)
    tabs = [connect_visitor(a, chat), connect_visitor(b, chat)]
    clients.extend(tabs)
    replies = []
    threads = [threading.Thread(target=lambda n=n: replies.append(
        tabs[n % 2].call("send_message", {"text": f"m{n}", "client_id": f"c{n}"}))) for n in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(reply["message"]["seq"] for reply in replies) == list(range(1, 31))
    for tab in tabs:
        wait_until(lambda tab=tab: sorted({m["seq"] for m in tab.messages()}) == list(range(1, 31)),
                   message="every message on both processes")


def test_jobs_run_once_per_tick_across_processes(two_servers, clients):
    a, b = two_servers
    chat = start_chat(a)
    visitor = connect_visitor(b, chat)
    clients.append(visitor)
    # Make the session overdue; both processes' schedulers race for it every second.
    code = ("from chat import create_app\nfrom chat.extensions import db\nfrom chat.models import ChatSession\n"
            "from datetime import datetime\napp = create_app()\nwith app.app_context():\n"
            f"    db.session.get(ChatSession, {chat['session_id']!r}).expires_at = datetime(2000, 1, 1)\n"
            "    db.session.commit()\n")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=a.env, check=True)
    visitor.wait_for("session_status", lambda s: s["status"] == "ended", timeout=15)
    listing = flask_cli(a.env, "chat", "list-sessions", "--status", "ended").stdout
    assert chat["session_id"] in listing
    stored = stored_messages(a, chat)
    assert [m["text"] for m in stored] == ["Chat session automatically ended after 22 hours."]


def test_a_process_killed_mid_chat_loses_nothing(two_servers):
    a, b = two_servers
    chat = start_chat(a)
    visitor = Participant(a, "/visitor", chat["session_id"],
                          auth={"session_id": chat["session_id"], "session_key": chat["session_key"]}).connect()
    http = login(b)
    agent = Participant(b, "/agent", chat["session_id"], http=http).connect()
    try:
        assert agent.client.call("claim_session", {"session_id": chat["session_id"]}, namespace="/agent")["ok"]
        visitor.say("one", "v1")
        agent.wait_for_texts(["one"])
        a.stop(kill=True)
        agent.say("while A is down", "a1")          # stored by B; A's visitor gets it on reconnect
        visitor.say("queued on the visitor", "v2")
        a.start()
        for side in (visitor, agent):
            side.wait_for_texts(["one", "while A is down", "queued on the visitor"])
        stored = stored_messages(b, chat)
        for side in (visitor, agent):
            side.wait_for_texts([m["text"] for m in stored])
            assert [side.log[seq] for seq in sorted(side.log)] == stored
    finally:
        visitor.disconnect()
        agent.disconnect()


def test_a_burst_of_messages_crosses_a_slow_redis_link_without_loss(two_servers_with_slow_redis, clients):
    """With Redis 100 ms away, hundreds of messages wait to be published at once; every
    one reaches the agent on process B live (no sync needed), once each."""
    a, b = two_servers_with_slow_redis
    chat = start_chat(a)
    agent = connect_agent(b, login(b))
    clients.append(agent)
    agent.call("join_session", {"session_id": chat["session_id"], "last_seq": 0})
    visitor = connect_visitor(a, chat)
    clients.append(visitor)
    acked = []
    for n in range(300):
        visitor.client.emit("send_message", {"text": f"burst {n}", "client_id": f"b{n}"}, namespace="/visitor",
                            callback=acked.append)
    wait_until(lambda: len(acked) == 300, timeout=60, message="every message acknowledged")
    assert all(reply["ok"] for reply in acked)
    wait_until(lambda: len(agent.messages()) >= 300, timeout=30, message="every message on process B")
    assert sorted(m["seq"] for m in agent.messages()) == list(range(1, 301))
