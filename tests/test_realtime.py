"""The real-time contract, against a live server with real Socket.IO clients."""
import threading

import pytest
import requests
import socketio

from tests.support import (
    RecordingClient, add_site_and_agent, connect_agent, connect_visitor, login, start_chat,
    store_message_unannounced, stored_messages,
)


def claim(agent, chat):
    reply = agent.call("claim_session", {"session_id": chat["session_id"]})
    assert reply["ok"], reply
    return reply


def test_visitor_and_agent_exchange_messages_both_ways(server, chat, visitor, agent):
    sent = visitor.call("send_message", {"text": "Hello, I need help", "client_id": "v-1"})
    assert sent["ok"] and sent["message"]["seq"] == 1
    claim(agent, chat)
    agent.call("join_session", {"session_id": chat["session_id"], "last_seq": 0})
    assert agent.wait_for("message", lambda m: m["seq"] == 1)["text"] == "Hello, I need help"
    assert visitor.wait_for("message", lambda m: m["seq"] == 2)["text"] == "Demo Agent has joined the chat"

    reply = agent.call("send_message", {"session_id": chat["session_id"], "text": "Hi Ann", "client_id": "a-1"})
    assert reply["ok"]
    got = visitor.wait_for("message", lambda m: m["seq"] == 3)
    assert (got["sender_type"], got["sender_name"], got["text"]) == ("agent", "Demo Agent", "Hi Ann")

    visitor.call("send_message", {"text": "Thanks", "client_id": "v-2"})
    assert agent.wait_for("message", lambda m: m["seq"] == 4)["text"] == "Thanks"


def test_ack_comes_after_the_message_is_stored(server, chat, visitor, agent_http):
    reply = visitor.call("send_message", {"text": "stored?", "client_id": "v-stored"})
    history = stored_messages(server, chat)
    assert [m["text"] for m in history] == ["stored?"]
    assert history[0] == reply["message"]


def test_a_second_tab_of_the_agent_receives_the_messages_too(server, chat, visitor, agent_http, clients):
    first_tab = connect_agent(server, agent_http)
    second_tab = connect_agent(server, agent_http)
    clients.extend([first_tab, second_tab])
    claim(first_tab, chat)
    second_tab.call("join_session", {"session_id": chat["session_id"], "last_seq": 0})
    visitor.call("send_message", {"text": "Anyone there?", "client_id": "v-1"})
    for tab in (first_tab, second_tab):
        assert tab.wait_for("message", lambda m: m["text"] == "Anyone there?")["sender_type"] == "visitor"
    first_tab.call("send_message", {"session_id": chat["session_id"], "text": "Yes!", "client_id": "a-1"})
    assert second_tab.wait_for("message", lambda m: m["text"] == "Yes!")["sender_type"] == "agent"


def test_reconnect_with_last_seq_replays_exactly_the_missed_messages(server, chat, visitor, agent, clients):
    claim(agent, chat)
    visitor.call("send_message", {"text": "one", "client_id": "v-1"})
    seen = visitor.wait_for("message", lambda m: m["text"] == "one")["seq"]
    visitor.disconnect()
    for n in range(3):
        agent.call("send_message", {"session_id": chat["session_id"], "text": f"missed {n}", "client_id": f"a-{n}"})
    again = connect_visitor(server, chat, last_seq=seen)
    clients.append(again)
    replayed = [again.wait_for("message", lambda m, s=seq: m["seq"] == s) for seq in (seen + 1, seen + 2, seen + 3)]
    assert [m["text"] for m in replayed] == ["missed 0", "missed 1", "missed 2"]
    assert [m["seq"] for m in again.messages()] == [seen + 1, seen + 2, seen + 3]


def test_the_same_client_id_twice_stores_one_message_and_acks_the_same(server, chat, visitor):
    first = visitor.call("send_message", {"text": "only once", "client_id": "retry-1"})
    second = visitor.call("send_message", {"text": "only once", "client_id": "retry-1"})
    assert first["ok"] and second["ok"]
    assert first["message"] == second["message"]
    assert [m["client_id"] for m in stored_messages(server, chat)] == ["retry-1"]


def test_concurrent_sends_get_consecutive_seqs(server, chat, visitor):
    replies = []
    threads = [threading.Thread(target=lambda n=n: replies.append(
        visitor.call("send_message", {"text": f"burst {n}", "client_id": f"burst-{n}"}))) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(reply["message"]["seq"] for reply in replies) == list(range(1, 21))


def test_two_agents_claim_at_once_and_exactly_one_wins(server, chat, clients):
    first = connect_agent(server, login(server))
    second = connect_agent(server, login(server, "second@example.com", "second-password"))
    clients.extend([first, second])
    replies = {}
    barrier = threading.Barrier(2)

    def race(name, client):
        barrier.wait()
        replies[name] = client.call("claim_session", {"session_id": chat["session_id"]})

    threads = [threading.Thread(target=race, args=item) for item in (("first", first), ("second", second))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    outcomes = sorted(reply["ok"] for reply in replies.values())
    assert outcomes == [False, True]
    loser = next(reply for reply in replies.values() if not reply["ok"])
    assert loser["error"]["code"] == "already_claimed"
    winner = next(reply for reply in replies.values() if reply["ok"])["session"]["agent_name"]
    assert [m["text"] for m in stored_messages(server, chat)] == [f"{winner} has joined the chat"]


def test_a_wrong_session_key_is_refused(server, chat):
    for auth in ({"session_id": chat["session_id"], "session_key": "wrong"},
                 {"session_id": chat["session_id"]},
                 {"session_id": chat["session_id"], "session_key": 12345},
                 None):
        client = socketio.Client(reconnection=False)
        with pytest.raises(socketio.exceptions.ConnectionError):
            client.connect(server.url, namespaces=["/visitor"], auth=auth, wait_timeout=5)


def test_an_unknown_session_gets_the_same_refusal_as_a_wrong_key(server, chat):
    refusals = []
    for session_id in (chat["session_id"], "00000000-0000-0000-0000-000000000000"):
        client = RecordingClient("/visitor")
        client.client.on("connect_error", lambda data: refusals.append(data), namespace="/visitor")
        with pytest.raises(socketio.exceptions.ConnectionError):
            client.connect(server, auth={"session_id": session_id, "session_key": "nope"})
    assert refusals[0] == refusals[1] == {"message": "This chat could not be found.", "data": {"code": "session_not_found"}}


def test_an_agent_who_is_not_logged_in_is_refused(server):
    client = socketio.Client(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        client.connect(server.url, namespaces=["/agent"], headers={"Origin": server.url}, wait_timeout=5)


def test_agent_socket_from_a_foreign_origin_is_refused(server, agent_http):
    for origin in ("http://evil.example", "null", server.url + ".evil.example"):
        with pytest.raises(socketio.exceptions.ConnectionError):
            connect_agent(server, agent_http, origin=origin)


def test_visitor_socket_from_an_origin_the_site_does_not_list_is_refused(server, chat):
    with pytest.raises(socketio.exceptions.ConnectionError):
        connect_visitor(server, chat, headers={"Origin": "http://evil.example"})


def test_typing_reaches_the_other_side_and_not_the_typist(server, chat, visitor, agent):
    claim(agent, chat)
    visitor.call("typing", {"is_typing": True})
    got = agent.wait_for("typing", lambda t: t["session_id"] == chat["session_id"])
    assert (got["sender_type"], got["is_typing"]) == ("visitor", True)
    agent.call("typing", {"session_id": chat["session_id"], "is_typing": True})
    assert visitor.wait_for("typing")["sender_name"] == "Demo Agent"
    assert all(t["sender_type"] == "agent" for t in visitor.received("typing"))


def test_presence_tells_each_side_who_is_there(server, chat, visitor, agent_http, clients):
    agent = connect_agent(server, agent_http)
    clients.append(agent)
    assert visitor.wait_for("presence", lambda p: p.get("agents_online", 0) >= 1)
    claim(agent, chat)
    joined = agent.call("join_session", {"session_id": chat["session_id"], "last_seq": 0})
    assert joined["visitor_online"] is True
    visitor.disconnect()
    gone = agent.wait_for("presence", lambda p: p.get("session_id") == chat["session_id"])
    assert gone["visitor_online"] is False


def test_a_new_chat_appears_in_every_agents_queue(server, agent):
    chat = start_chat(server, name="Queue Test")
    update = agent.wait_for("queue_update", lambda u: u["session_id"] == chat["session_id"])
    assert (update["status"], update["visitor_name"]) == ("waiting", "Queue Test")


@pytest.fixture(scope="module")
def elsewhere(server):
    """A second site, `elsewhere`, and an agent who answers only it."""
    add_site_and_agent(server, "elsewhere", "elsewhere@example.com", "elsewhere-password")
    return "elsewhere@example.com", "elsewhere-password"


def test_an_agent_of_another_site_never_hears_of_this_sites_chats(server, clients, elsewhere):
    other_http = login(server, *elsewhere)
    other = connect_agent(server, other_http)
    supervisor = connect_agent(server, login(server, "supervisor@example.com", "demo-password"))
    clients.extend([other, supervisor])
    chat = start_chat(server, name="Not Yours")
    supervisor.wait_for("queue_update", lambda u: u["session_id"] == chat["session_id"])
    assert "Not Yours" not in other_http.get(server.url + "/dashboard/sessions", timeout=5).text
    for event in ("join_session", "claim_session"):
        reply = other.call(event, {"session_id": chat["session_id"], "last_seq": 0})
        assert reply["error"]["code"] == "session_not_found"
    assert not [u for u in other.received("queue_update") if u["session_id"] == chat["session_id"]]


def test_visitors_count_only_the_agents_who_answer_their_site(server, agent, clients, elsewhere):
    visitor = connect_visitor(server, start_chat(server, site_key="elsewhere"))
    clients.append(visitor)
    assert visitor.wait_for("presence", lambda p: "agents_online" in p)["agents_online"] == 0
    clients.append(connect_agent(server, login(server, *elsewhere)))
    visitor.wait_for("presence", lambda p: p.get("agents_online") == 1)


def test_an_agent_cannot_write_to_a_chat_it_does_not_hold(server, chat, agent):
    reply = agent.call("send_message", {"session_id": chat["session_id"], "text": "hi", "client_id": "x"})
    assert reply == {"ok": False, "error": {"code": "not_assigned", "message": "Accept this chat before replying."}}


def test_ending_a_chat_tells_the_visitor_and_stops_sending(server, chat, visitor, agent):
    claim(agent, chat)
    reply = agent.call("end_session", {"session_id": chat["session_id"]})
    assert reply["session"]["status"] == "ended"
    status = visitor.wait_for("session_status", lambda s: s["status"] == "ended")
    assert status["end_reason"] == "agent"
    assert visitor.wait_for("message", lambda m: m["sender_type"] == "system" and "ended" in m["text"])
    refused = visitor.call("send_message", {"text": "still there?", "client_id": "late"})
    assert refused["error"]["code"] == "session_closed"


def test_typing_an_end_word_ends_the_chat_on_the_server(server, chat, visitor, agent):
    claim(agent, chat)
    agent.call("join_session", {"session_id": chat["session_id"], "last_seq": 0})
    reply = visitor.call("send_message", {"text": " Quit ", "client_id": "bye"})
    assert reply["ok"] and reply["message"]["text"] == "Quit"
    status = agent.wait_for("session_status", lambda s: s["session_id"] == chat["session_id"])
    assert (status["status"], status["end_reason"], status["is_open"]) == ("ended", "visitor", False)
    assert visitor.wait_for("message", lambda m: m["text"] == "The visitor ended the chat.")


def test_an_end_word_sent_over_rest_ends_the_chat_too(server):
    chat = start_chat(server, name="Rita")
    sent = requests.post(server.api("/messages"), json={
        "session_id": chat["session_id"], "session_key": chat["session_key"], "text": "END CHAT",
        "client_id": "rest-bye"}, timeout=5)
    assert sent.status_code == 201
    status = requests.get(server.api(f"/status/{chat['session_id']}"),
                          headers={"X-Session-Key": chat["session_key"]}, timeout=5).json()
    assert (status["status"], status["end_reason"]) == ("ended", "visitor")


def test_mark_read_clears_the_badge_in_every_tab_of_the_agent_and_only_for_a_chat_it_may_see(
        server, chat, visitor, agent_http, clients):
    tab = connect_agent(server, agent_http)
    other_tab = connect_agent(server, agent_http)
    stranger = connect_agent(server, login(server, "second@example.com", "second-password"))
    clients.extend([tab, other_tab, stranger])
    claim(tab, chat)
    visitor.call("send_message", {"text": "hello?", "client_id": "h1"})
    reply = tab.call("mark_read", {"session_id": chat["session_id"], "seq": 99})
    assert reply == {"ok": True, "last_read_seq": 2}                      # capped at the chat's last seq
    assert other_tab.wait_for("read_state", lambda s: s["session_id"] == chat["session_id"]) == {
        "session_id": chat["session_id"], "last_read_seq": 2}
    refused = stranger.call("mark_read", {"session_id": chat["session_id"], "seq": 2})
    assert refused["error"]["code"] == "session_not_found"
    assert tab.call("mark_read", {"session_id": chat["session_id"], "seq": -1})["error"]["code"] == "invalid_payload"


ID_REFUSAL = "This message could not be sent (its client_id must be 1 to 64 letters, digits or _ . : -)."


@pytest.mark.parametrize("payload, code, sentence", [
    ("not an object", "invalid_payload", "This request could not be read (it must be a JSON object)."),
    ({"client_id": "x"}, "invalid_payload", "Please enter a message."),
    ({"text": "hi"}, "invalid_payload", ID_REFUSAL),
    ({"text": 5, "client_id": "x"}, "invalid_payload", "Please enter a message as text."),
    ({"text": "   ", "client_id": "x"}, "invalid_payload", "Please enter a message."),
    ({"text": "x" * 5001, "client_id": "x"}, "invalid_payload", "Messages can be up to 5,000 characters."),
    ({"text": "hi", "client_id": "has spaces"}, "invalid_payload", ID_REFUSAL),
    ({"text": "hi", "client_id": "x", "session_id": "someone-elses"}, "session_not_found",
     "This chat could not be found."),
])
def test_malformed_messages_get_a_readable_refusal_and_store_nothing(server, chat, visitor, payload, code, sentence):
    reply = visitor.call("send_message", payload)
    assert reply["ok"] is False and reply["error"] == {"code": code, "message": sentence}
    assert visitor.wait_for("error") == {"code": code, "message": sentence}
    assert stored_messages(server, chat) == []


def test_a_heartbeat_tells_the_visitor_of_a_message_whose_event_was_lost(server, chat, clients):
    """The last message of a chat leaves no gap when its event is lost; the heartbeat's
    latest seq shows it, and `sync` fetches it."""
    visitor = connect_visitor(server, chat)
    clients.append(visitor)
    assert visitor.call("heartbeat", {}) == {"ok": True, "last_seq": 0}
    store_message_unannounced(server, chat["session_id"], "lost on the way")
    assert visitor.call("heartbeat", {})["last_seq"] == 1
    assert visitor.messages() == []
    fetched = visitor.call("sync", {"after_seq": 0})["messages"]
    assert [(m["seq"], m["text"]) for m in fetched] == [(1, "lost on the way")]
