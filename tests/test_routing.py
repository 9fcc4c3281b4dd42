"""Routing on a live server, with real Socket.IO clients: auto-assignment to the least busy
online agent under capacity, a chat waiting until someone frees up or comes online, a waiting
visitor told its place in line as the line moves, and a manual claim over capacity refused.
Each test has a site and agents of its own (the server's database is shared)."""
import threading
import uuid

import requests

from tests.support import (
    add_routed_site, connect_agent, connect_visitor, login, start_chat, stored_messages, wait_until,
)


def new_team(server, routing, capacities):
    """A site with this routing and one plain agent per capacity; (site key, [(email, name)])."""
    key = f"shop-{uuid.uuid4().hex[:8]}"
    agents = [(f"agent{n}-{key}@example.com", "agent-password", capacity) for n, capacity in enumerate(capacities)]
    add_routed_site(server, key, routing, agents)
    return key, [(email, email.split("@")[0].title()) for email, _, _ in agents]


def go_online(server, clients, email):
    """The agent logs in and opens its dashboard socket."""
    socket = connect_agent(server, login(server, email, "agent-password"))
    clients.append(socket)
    return socket


def status_of(server, chat):
    response = requests.get(server.api(f"/status/{chat['session_id']}"), timeout=5,
                            headers={"X-Session-Key": chat["session_key"]})
    assert response.status_code == 200, response.text
    return response.json()


def holder(server, chat):
    return status_of(server, chat)["agent_name"]


def test_an_auto_site_gives_each_chat_to_the_least_busy_online_agent(server, clients):
    key, [(ann_email, ann), (bob_email, bob)] = new_team(server, "auto", [2, 1])
    go_online(server, clients, ann_email)
    first = start_chat(server, site_key=key)
    assert holder(server, first) == ann                          # Bob is offline: skipped

    bob_socket = go_online(server, clients, bob_email)
    second = start_chat(server, site_key=key)
    assert holder(server, second) == bob                         # Bob holds none, Ann one
    third = start_chat(server, site_key=key)
    assert holder(server, third) == ann                          # Bob is at his capacity (1)

    fourth = start_chat(server, site_key=key)                    # both full: it waits
    visitor = connect_visitor(server, fourth)
    clients.append(visitor)
    assert visitor.wait_for("queue_position")["position"] == 1
    assert status_of(server, fourth)["queue_position"]["position"] == 1

    assert bob_socket.call("end_session", {"session_id": second["session_id"]})["ok"]
    joined = visitor.wait_for("session_status", lambda status: status["status"] == "active")
    assert joined["agent_name"] == bob                           # Bob freed up and took it
    assert f"{bob} has joined the chat" in [m["text"] for m in visitor.messages()]


def test_a_waiting_chat_goes_to_an_agent_who_comes_online(server, clients):
    key, [(email, name)] = new_team(server, "auto", [3])
    chat = start_chat(server, site_key=key)
    visitor = connect_visitor(server, chat)
    clients.append(visitor)
    assert visitor.wait_for("queue_position") == {"session_id": chat["session_id"], "position": 1,
                                                  "estimated_wait_seconds": None}
    go_online(server, clients, email)
    assert visitor.wait_for("session_status", lambda status: status["status"] == "active")["agent_name"] == name


def test_a_waiting_visitor_hears_its_place_move_up_when_the_one_ahead_is_claimed(server, clients):
    key, [(email, _)] = new_team(server, "manual", [5])
    ahead = start_chat(server, site_key=key)
    mine = start_chat(server, site_key=key)
    visitor = connect_visitor(server, mine)
    clients.append(visitor)
    assert visitor.wait_for("queue_position")["position"] == 2

    agent = go_online(server, clients, email)
    assert agent.call("claim_session", {"session_id": ahead["session_id"]})["ok"]
    place = visitor.wait_for("queue_position", lambda place: place["position"] == 1)
    # The site's only claim waited as long as this visitor has, plus the moment between the two
    # starts: under a second left, so no estimate (queue.wait_left).
    assert place == {"session_id": mine["session_id"], "position": 1, "estimated_wait_seconds": None}
    assert status_of(server, mine)["queue_position"]["position"] == 1
    assert status_of(server, ahead)["queue_position"] is None


def test_a_manual_claim_over_capacity_is_refused(server, clients):
    key, [(email, _)] = new_team(server, "manual", [1])
    held, other = start_chat(server, site_key=key), start_chat(server, site_key=key)
    agent = go_online(server, clients, email)
    assert agent.call("claim_session", {"session_id": held["session_id"]})["ok"]
    refused = agent.call("claim_session", {"session_id": other["session_id"]})
    assert refused == {"ok": False, "error": {"code": "at_capacity",
                                              "message": "You already have 1 chat, your maximum; end one first."}}
    assert status_of(server, other)["status"] == "waiting"
    assert agent.call("end_session", {"session_id": held["session_id"]})["ok"]
    assert agent.call("claim_session", {"session_id": other["session_id"]})["ok"]
    wait_until(lambda: holder(server, other), message="the second chat claimed")



def test_two_processes_never_assign_a_chat_twice_nor_past_capacity(two_servers, clients):
    a, b = two_servers
    key, [(email, name)] = new_team(a, "auto", [2])
    go_online(b, clients, email)                                 # online on B, seen by A through Redis
    chats = [None] * 8

    def start(n):
        chats[n] = start_chat((a, b)[n % 2], site_key=key)
    threads = [threading.Thread(target=start, args=(n,)) for n in range(len(chats))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    statuses = [status_of(a, chat) for chat in chats]
    assert sorted(s["status"] for s in statuses) == ["active"] * 2 + ["waiting"] * 6
    for chat in chats:
        joined = [m for m in stored_messages(a, chat) if m["text"].endswith("has joined the chat")]
        assert len(joined) <= 1
    waiting = [chat for chat, s in zip(chats, statuses) if s["status"] == "waiting"]
    assert sorted(status_of(a, chat)["queue_position"]["position"] for chat in waiting) == [1, 2, 3, 4, 5, 6]
