"""Working together on a live server: private notes, transfers, a supervisor joining, and who
is viewing a chat, with real Socket.IO clients."""
import requests

from tests.support import Participant, connect_agent, connect_visitor, login, start_chat, wait_until


def claimed_chat(server, clients, agent):
    chat = start_chat(server, name="Ann")
    visitor = connect_visitor(server, chat)
    clients.append(visitor)
    assert agent.call("claim_session", {"session_id": chat["session_id"]})["ok"]
    return chat, visitor


def supervisor_socket(server, clients):
    socket = connect_agent(server, login(server, "supervisor@example.com"))
    clients.append(socket)
    return socket


def send(socket, chat, text, client_id, **extra):
    reply = socket.call("send_message", {"session_id": chat["session_id"], "text": text, "client_id": client_id,
                                         **extra})
    assert reply["ok"], reply
    return reply["message"]


def test_a_private_note_reaches_the_team_and_never_the_visitor(server, agent, clients):
    chat, visitor = claimed_chat(server, clients, agent)
    supervisor = supervisor_socket(server, clients)
    assert supervisor.call("join_session", {"session_id": chat["session_id"], "last_seq": 0})["ok"]
    note = send(agent, chat, "Looks like a VIP, be nice", "note-1", private=True)
    send(agent, chat, "Hello Ann!", "reply-1")
    assert note["private"] is True
    assert supervisor.wait_for("message", lambda m: m["seq"] == note["seq"])["text"] == "Looks like a VIP, be nice"

    visitor.wait_for("message", lambda m: m["text"] == "Hello Ann!")
    assert "Looks like a VIP, be nice" not in [m["text"] for m in visitor.messages()]
    synced = visitor.call("sync", {"after_seq": 0})
    assert [m["text"] for m in synced["messages"]] == ["Demo Agent has joined the chat", "Hello Ann!"]
    assert synced["through_seq"] == synced["last_seq"] == 3        # seq 2, the note, is covered, not missing
    polled = requests.get(f"{server.url}/api/v1/chat/public/messages/{chat['session_id']}?after=0",
                          headers={"X-Session-Key": chat["session_key"]}, timeout=5).json()
    assert "Looks like a VIP, be nice" not in [m["text"] for m in polled["messages"]]
    assert polled["through_seq"] == 3
    reconnected = connect_visitor(server, chat, last_seq=1)
    clients.append(reconnected)
    reconnected.wait_for("message", lambda m: m["text"] == "Hello Ann!")
    assert [m["seq"] for m in reconnected.messages()] == [3]


def test_a_visitor_client_that_meets_a_note_gap_catches_up_without_waiting(server, agent, clients):
    chat, _ = claimed_chat(server, clients, agent)
    visitor = Participant(server, "/visitor", chat["session_id"],
                          auth={"session_id": chat["session_id"], "session_key": chat["session_key"]}).connect()
    try:
        send(agent, chat, "internal only", "note-2", private=True)
        send(agent, chat, "Your parcel left today", "reply-2")
        visitor.say("Great, thanks", "visitor-2")
        shown = visitor.wait_for_texts(["Your parcel left today", "Great, thanks"])
        assert "internal only" not in shown
        wait_until(lambda: visitor.last_seq == 4, message="the visitor's client to cover the note's seq")
    finally:
        visitor.disconnect()


def test_a_note_is_refused_on_an_ended_chat_and_a_bad_private_flag_is_explained(server, agent, clients):
    chat, _ = claimed_chat(server, clients, agent)
    refused = agent.call("send_message", {"session_id": chat["session_id"], "text": "x", "client_id": "n-3",
                                          "private": "yes"})
    assert refused["error"]["message"] == "This could not be sent (private must be true or false)."
    assert agent.call("end_session", {"session_id": chat["session_id"]})["ok"]
    refused = agent.call("send_message", {"session_id": chat["session_id"], "text": "x", "client_id": "n-4",
                                          "private": True})
    assert not refused["ok"] and refused["error"]["code"] in ("session_closed", "session_not_found")


def test_a_transfer_with_a_note_moves_the_chat_to_the_next_agent(server, agent, clients):
    chat, visitor = claimed_chat(server, clients, agent)
    supervisor = supervisor_socket(server, clients)
    supervisor_id = supervisor.call("join_session", {"session_id": chat["session_id"], "last_seq": 0})
    sue = next(v for v in supervisor_id["viewers"] if v["role"] == "supervisor")
    reply = agent.call("transfer_session", {"session_id": chat["session_id"], "to_agent_id": sue["agent_id"],
                                            "note": "Refund for order 12 is approved"})
    assert reply["ok"], reply
    assert reply["session"]["agent_id"] == sue["agent_id"]
    line = visitor.wait_for("message", lambda m: "transferred the chat" in m["text"])
    assert line["text"] == f"Demo Agent transferred the chat to {sue['name']}."
    assert "Refund for order 12 is approved" not in [m["text"] for m in visitor.messages()]
    history = supervisor.call("sync", {"session_id": chat["session_id"], "after_seq": 0})
    note = next(m for m in history["messages"] if m["private"])
    assert (note["text"], note["sender_name"]) == ("Refund for order 12 is approved", "Demo Agent")
    refused = agent.call("send_message", {"session_id": chat["session_id"], "text": "still mine?", "client_id": "r-9"})
    assert not refused["ok"]                                       # no longer the holder


def test_only_the_holder_or_a_supervisor_transfers_and_only_to_someone_who_can_take_it(server, agent, clients):
    chat, _ = claimed_chat(server, clients, agent)
    other = connect_agent(server, login(server, "admin@example.com"))
    clients.append(other)
    to_nobody = agent.call("transfer_session", {"session_id": chat["session_id"], "to_agent_id": 999999})
    assert to_nobody["error"] == {"code": "invalid_target", "message": "There is no such agent."}
    bad = agent.call("transfer_session", {"session_id": chat["session_id"], "to_agent_id": "2"})
    assert bad["error"]["code"] == "invalid_payload"
    back = agent.call("transfer_session", {"session_id": chat["session_id"], "to_agent_id": None})
    assert back["ok"] and back["session"]["status"] == "waiting"
    again = agent.call("transfer_session", {"session_id": chat["session_id"], "to_agent_id": None})
    assert again["error"]["code"] == "not_assigned"                # in the queue, it is nobody's to pass on


def test_a_supervisor_joins_a_chat_and_an_agent_may_not(server, agent, clients):
    chat, visitor = claimed_chat(server, clients, agent)
    refused = agent.call("join_chat", {"session_id": chat["session_id"]})
    assert refused["error"]["code"] == "forbidden"
    supervisor = supervisor_socket(server, clients)
    joined = supervisor.call("join_chat", {"session_id": chat["session_id"]})
    assert joined["ok"] and joined["session"]["agent_name"] == "Demo Agent"     # the holder keeps it
    line = visitor.wait_for("message", lambda m: m["text"].endswith("has joined the chat") and m["seq"] > 1)
    assert line["sender_type"] == "system"
    send(supervisor, chat, "I'm the supervisor, happy to help too", "sup-1")
    assert visitor.wait_for("message", lambda m: m["text"].startswith("I'm the supervisor"))["sender_type"] == "agent"


def test_everyone_with_a_chat_open_sees_who_else_is_viewing_it(server, agent, clients):
    chat, _ = claimed_chat(server, clients, agent)
    first = agent.call("join_session", {"session_id": chat["session_id"], "last_seq": 0})
    assert [v["name"] for v in first["viewers"]] == ["Demo Agent"]
    supervisor = supervisor_socket(server, clients)
    second = supervisor.call("join_session", {"session_id": chat["session_id"], "last_seq": 0})
    names = sorted(v["name"] for v in second["viewers"])
    assert len(names) == 2 and "Demo Agent" in names
    agent.wait_for("viewers", lambda e: e["session_id"] == chat["session_id"] and len(e["viewers"]) == 2)
    agent.call("join_session", {"session_id": chat["session_id"], "last_seq": 0})    # a redraw counts once
    for leave in (lambda: supervisor.call("leave_session", {"session_id": chat["session_id"]}),
                  supervisor.disconnect):
        seen = len(agent.received("viewers"))
        leave()
        wait_until(lambda: [[v["name"] for v in e["viewers"]] for e in agent.received("viewers")[seen:]][-1:]
                   == [["Demo Agent"]], message=f"the agent to see the supervisor go: {agent.received('viewers')}")
        if supervisor.client.connected:
            supervisor.call("join_session", {"session_id": chat["session_id"], "last_seq": 0})
            agent.wait_for("viewers", lambda e: len(e["viewers"]) == 2)


def test_another_agent_reaches_no_note_of_a_chat_it_does_not_hold(server, agent, clients):
    """The second agent views the chat while it waits (in its room, hearing its messages); once
    the demo agent claims it, a note written there never reaches the second agent."""
    chat = start_chat(server, name="Ann")
    visitor = connect_visitor(server, chat)
    clients.append(visitor)
    second_http = login(server, "second@example.com", "second-password")
    second = connect_agent(server, second_http)
    clients.append(second)
    assert second.call("join_session", {"session_id": chat["session_id"], "last_seq": 0})["ok"]
    assert visitor.call("send_message", {"text": "Is anyone there?", "client_id": "ann-1"})["ok"]
    second.wait_for("message", lambda m: m["text"] == "Is anyone there?")       # in the room
    assert agent.call("claim_session", {"session_id": chat["session_id"]})["ok"]
    second.wait_for("session_status", lambda status: status["status"] == "active")
    send(agent, chat, "Card ending 4242 was declined", "note-secret", private=True)
    # Stored and published before its ack: what the second agent hears of it comes before the
    # answers to its own calls below, on the same socket.
    for event, payload in (("sync", {"after_seq": 0}), ("join_session", {"last_seq": 0}),
                           ("transfer_session", {"to_agent_id": None}), ("join_chat", {})):
        refused = second.call(event, {"session_id": chat["session_id"], **payload})
        assert refused["error"]["code"] == "session_not_found", (event, refused)
    page = second_http.get(f"{server.url}/dashboard/sessions/{chat['session_id']}", timeout=5)
    assert page.status_code == 404 and "Card ending 4242" not in page.text
    assert "Card ending 4242" not in str(second.events)
