"""The bot on a live server with real Socket.IO clients: the demo site as seeded (its bot on),
a visitor who asks, watches the answer stream in and asks for a person, and an agent who
accepts the chat and sees the bot's part of it; the bot is silent from then on."""
import csv
import io

import pytest

from tests.support import add_article, connect_agent, connect_visitor, login, start_chat

SHIPPING_TITLE = "Shipping times, tested"
SHIPPING_BODY = "Orders leave our warehouse within one working day.\n\nTracking links come by email."


@pytest.fixture(scope="module")
def bot_server(tmp_path_factory):
    from tests.support import LiveServer, server_environment
    workdir = tmp_path_factory.mktemp("bot")
    live = LiveServer(workdir, env=server_environment(workdir))
    live.prepare_database(as_seeded=True)
    add_article(live, "demo", SHIPPING_TITLE, SHIPPING_BODY, "shipping")
    live.start()
    yield live
    live.stop()


@pytest.fixture
def agent(bot_server, clients):
    dashboard = connect_agent(bot_server, login(bot_server))
    clients.append(dashboard)
    return dashboard


def visit(bot_server, clients, name):
    chat = start_chat(bot_server, name=name)
    visitor = connect_visitor(bot_server, chat)
    clients.append(visitor)
    return chat, visitor


def bot_messages(client):
    return [m for m in client.received("message") if m["sender_type"] == "bot"]


def test_the_bot_greets_answers_with_a_streamed_draft_and_hands_off_to_an_agent(bot_server, clients, agent):
    chat, visitor = visit(bot_server, clients, "Bea")
    assert chat["status"] == "bot" and chat["in_line"] is False
    greeting = visitor.wait_for("message", lambda m: m["sender_type"] == "bot")
    assert greeting["buttons"] and greeting["seq"] == 1

    assert visitor.call("send_message", {"text": "when do orders leave the warehouse?", "client_id": "q-1"})["ok"]
    answer = visitor.wait_for("message", lambda m: m["sender_type"] == "bot" and m["seq"] > 1)
    assert answer["text"] == "Orders leave our warehouse within one working day."
    assert answer["links"][0]["title"] == SHIPPING_TITLE and answer["links"][0]["url"].startswith("/help/demo/")
    assert [button["title"] for button in answer["buttons"]] == ["That helped", "Talk to an expert"]
    drafts = visitor.received("bot_draft")
    assert drafts and all(d["client_id"] == answer["client_id"] for d in drafts)
    assert answer["text"].startswith(drafts[0]["text"])
    # While the bot has it, the chat is not in the agents' line; the supervisor view shows it.
    assert not [u for u in agent.received("queue_update") if u.get("session_id") == chat["session_id"]]
    rows = login(bot_server, "supervisor@example.com", "demo-password").get(
        bot_server.url + "/supervisor/overview", timeout=5).json()["chats"]
    assert next(row for row in rows if row["session_id"] == chat["session_id"])["status"] == "bot"

    assert visitor.call("send_message", {"text": "Talk to an expert", "client_id": "q-2",
                                         "button_id": "bot:expert"})["ok"]
    status = visitor.wait_for("session_status", lambda s: s["status"] == "waiting")
    assert status["in_line"] is True
    update = agent.wait_for("queue_update", lambda u: u.get("session_id") == chat["session_id"] and u.get("in_line"))
    assert update["status"] == "waiting"

    assert agent.call("claim_session", {"session_id": chat["session_id"]})["ok"]
    assert agent.call("join_session", {"session_id": chat["session_id"], "last_seq": 0})["ok"]   # replayed first
    texts = [(m["sender_type"], m["text"]) for m in agent.received("message") if m["session_id"] == chat["session_id"]]
    assert ("visitor", "when do orders leave the warehouse?") in texts
    assert ("bot", "Orders leave our warehouse within one working day.") in texts
    assert ("system", "Connecting you to an agent…") in texts
    assert texts[-1] == ("system", "Demo Agent has joined the chat")

    before = len(bot_messages(visitor))
    assert visitor.call("send_message", {"text": "how long does shipping take?", "client_id": "q-3"})["ok"]
    agent.wait_for("message", lambda m: m["text"] == "how long does shipping take?")
    assert agent.call("send_message", {"session_id": chat["session_id"], "text": "Hi Bea, let me look.",
                                       "client_id": "a-1"})["ok"]
    visitor.wait_for("message", lambda m: m["text"] == "Hi Bea, let me look.")
    assert len(bot_messages(visitor)) == before              # the bot said nothing more


def test_the_offline_form_is_checked_and_reaches_the_line(bot_server, clients):
    chat, visitor = visit(bot_server, clients, "Olga")
    visitor.wait_for("message", lambda m: m["sender_type"] == "bot")
    refused = visitor.call("offline_message", {"email": "not-an-email", "text": "Call me", "client_id": "f-1"})
    assert refused == {"ok": False, "error": {"code": "invalid_payload", "message": "Please enter a valid email address."}}
    refused = visitor.call("offline_message", {"text": "Call me", "client_id": "f-1"})
    assert refused["error"]["message"] == "Please enter your email address, so the team can answer you."
    left = visitor.call("offline_message", {"email": "olga@example.com", "text": "Call me", "client_id": "f-1"})
    assert left["ok"] and left["message"]["text"] == "Call me" and left["message"]["form"] == "offline"
    visitor.wait_for("session_status", lambda s: s["status"] == "waiting")
    waiting = login(bot_server).get(bot_server.url + "/dashboard/sessions", timeout=5).text
    item = waiting[waiting.index(f'data-session-id="{chat["session_id"]}"'):]
    assert "Olga" in item[:600] and "Left a message" in item[:600]
    # The supervisor view lists it; no sweep will abandon it, so it shows no abandonment clock.
    rows = login(bot_server, "supervisor@example.com", "demo-password").get(
        bot_server.url + "/supervisor/overview", timeout=5).json()["chats"]
    row = next(row for row in rows if row["session_id"] == chat["session_id"])
    assert (row["status"], row["abandon_inactive_at"], row["abandon_silent_at"]) == ("waiting", None, None)
    again = visitor.call("offline_message", {"email": "olga@example.com", "text": "Again", "client_id": "f-2"})
    assert again["error"]["message"] == "The team has this chat already: write your message in the chat."


def test_a_button_id_that_is_not_one_is_refused(bot_server, clients):
    _chat, visitor = visit(bot_server, clients, "Ivo")
    refused = visitor.call("send_message", {"text": "x", "client_id": "b-1", "button_id": "<script>"})
    assert refused["error"]["message"] == \
        "This button could not be sent (its id must be 1 to 256 letters, digits or _ : -)."


def bot_table(server, http):
    answer = http.get(server.url + "/reports/bot.csv", timeout=5)
    assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(answer.text)))
    assert rows[0] == ["figure", "chats"]
    return {figure: int(count) for figure, count in rows[1:]}


def test_the_reports_count_the_bots_chats(bot_server, clients, agent):
    supervisor = login(bot_server, "supervisor@example.com", "demo-password")
    before = bot_table(bot_server, supervisor)
    chat, visitor = visit(bot_server, clients, "Rita")
    visitor.wait_for("message", lambda m: m["sender_type"] == "bot")
    assert visitor.call("send_message", {"text": "when do orders leave the warehouse?", "client_id": "r-1"})["ok"]
    visitor.wait_for("message", lambda m: m["sender_type"] == "bot" and m["seq"] > 2)
    assert visitor.call("send_message", {"text": "That helped", "client_id": "r-2", "button_id": "bot:helped"})["ok"]
    visitor.wait_for("message", lambda m: m["text"].startswith("Glad I could help"))
    assert visitor.call("end_session", {})["ok"]
    _other, asking = visit(bot_server, clients, "Sven")
    asking.wait_for("message", lambda m: m["sender_type"] == "bot")
    assert asking.call("send_message", {"text": "Human!", "client_id": "s-1"})["ok"]
    asking.wait_for("session_status", lambda s: s["status"] == "waiting")
    after = bot_table(bot_server, supervisor)
    grew = {figure: after.get(figure, 0) - before.get(figure, 0) for figure in after}
    assert (grew["with_bot"], grew["resolved_by_bot"], grew["handed_off"], grew["handed_off:words"]) == (2, 1, 1, 1)
    page = supervisor.get(bot_server.url + "/reports", timeout=5).text
    assert 'id="botSummary"' in page and "The visitor asked for a person in words" in page
