"""History over HTTP on a live server: the JSON endpoint, the CSV export and the transcript
page, each answering an agent only the chats they took part in, and everyone to a supervisor."""
import csv
import io
import json
import re
import uuid
from html import unescape

import pytest
import requests

from tests.support import add_note, connect_agent, connect_visitor, login, start_chat

API = "/api/v1/agent/sessions/history"


def take_part(server, clients, http, name, visitor_text, reply, email=None, note=None):
    """A visitor says `visitor_text`; the agent logged in on `http` accepts, answers and, given
    one, writes a private note."""
    chat = start_chat(server, name=name, email=email or f"{uuid.uuid4().hex[:8]}@shop.example")
    visitor, agent = connect_visitor(server, chat), connect_agent(server, http)
    clients.extend([visitor, agent])
    assert visitor.call("send_message", {"text": visitor_text, "client_id": uuid.uuid4().hex})["ok"]
    assert agent.call("claim_session", {"session_id": chat["session_id"]})["ok"]
    for text, private in [(reply, False)] + ([(note, True)] if note else []):
        assert agent.call("send_message", {"session_id": chat["session_id"], "text": text, "private": private,
                                           "client_id": uuid.uuid4().hex})["ok"]
    return chat


@pytest.fixture(scope="module")
def demo(server):
    return login(server)


@pytest.fixture(scope="module")
def second(server):
    return login(server, "second@example.com", "second-password")


@pytest.fixture(scope="module")
def supervisor(server):
    return login(server, "supervisor@example.com", "demo-password")


@pytest.fixture(scope="module")
def word():
    """A word no other test's messages hold."""
    return "zq" + uuid.uuid4().hex[:8]


@pytest.fixture(scope="module")
def chats(server, demo, second, word):
    """Two chats holding `word`: one the demo agent answered (with a note by it), one the
    second agent answered (the demo agent never took part)."""
    opened = []
    mine = take_part(server, opened, demo, "Mine Visitor", f"my {word} is broken", "Let me look")
    theirs = take_part(server, opened, second, "=Their Visitor", f"their {word} is broken", "Second here")
    add_note(server, mine["session_id"], "demo@example.com", f"note {word} VIP")
    add_note(server, theirs["session_id"], "second@example.com", f"secret note {word}")
    for client in opened:
        client.disconnect()
    return {"mine": mine, "theirs": theirs}


def history(server, http, **params):
    response = http.get(server.url + API, params=params, timeout=5)
    assert response.status_code == 200, response.text
    return response.json()


def ids(answer):
    return {item["id"] for item in answer["items"]}


def test_the_json_endpoint_finds_an_agents_chat_by_a_word_and_never_another_agents(server, chats, demo, second, word):
    mine, theirs = chats["mine"]["session_id"], chats["theirs"]["session_id"]
    answer = history(server, demo, search=word)
    assert ids(answer) == {mine} and answer["total"] == 1
    item = answer["items"][0]
    assert item["visitor_name"] == "Mine Visitor" and item["agent_name"] == "Demo Agent"
    assert item["status"] == "active" and item["channel"] == "web" and item["message_count"] == 4
    assert answer["page"] == 1 and answer["per_page"] == 50 and answer["pages"] == 1
    assert ids(history(server, second, search=word)) == {theirs}
    assert theirs not in ids(history(server, demo, per_page=100))
    assert theirs not in ids(history(server, demo, search="Their Visitor"))


def test_a_supervisor_finds_every_chat_and_filters_by_agent(server, chats, supervisor, word):
    mine, theirs = chats["mine"]["session_id"], chats["theirs"]["session_id"]
    assert ids(history(server, supervisor, search=word)) == {mine, theirs}
    second_id = history(server, supervisor, search=word, status="active")["items"]
    by_agent = {item["agent_name"]: item["agent_id"] for item in second_id}
    assert ids(history(server, supervisor, search=word, agent_id=by_agent["Second Agent"])) == {theirs}
    assert ids(history(server, supervisor, search=word, status="ended")) == set()


def test_private_notes_are_found_by_who_may_read_them(server, chats, demo, supervisor, word):
    mine, theirs = chats["mine"]["session_id"], chats["theirs"]["session_id"]
    assert ids(history(server, demo, search=f"{word} vip")) == {mine}
    assert ids(history(server, demo, search=f"secret {word}")) == set()
    assert ids(history(server, supervisor, search=f"secret {word}")) == {theirs}


def test_pages_of_the_json_endpoint(server, chats, supervisor, word):
    first, second_page = (history(server, supervisor, search=word, per_page=1, page=n) for n in (1, 2))
    assert first["total"] == second_page["total"] == 2 and first["pages"] == 2
    assert ids(first) | ids(second_page) == {chats["mine"]["session_id"], chats["theirs"]["session_id"]}
    assert history(server, supervisor, search=word, per_page=1, page=3)["items"] == []


@pytest.mark.parametrize("params", [{"per_page": "101"}, {"page": "0"}, {"status": "gone"},
                                    {"start_date": "29/11/2026"}, {"search": "x" * 201}])
def test_bad_parameters_get_a_json_error(server, demo, params):
    response = demo.get(server.url + API, params=params, timeout=5)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_payload"


def test_not_logged_in_the_api_answers_401_and_the_pages_send_to_the_login(server, chats):
    response = requests.get(server.url + API, timeout=5)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "login_required"
    for path in ("/history", "/history.csv", f"/history/{chats['mine']['session_id']}"):
        response = requests.get(server.url + path, allow_redirects=False, timeout=5)
        assert response.status_code == 302 and "/login" in response.headers["Location"], path


def transcript_messages(page):
    """The messages a transcript page carries (the JSON message-log.js draws)."""
    return json.loads(unescape(re.search(r"data-messages='([^']*)'", page).group(1)))


def test_an_agent_reads_their_transcript_with_notes_and_never_another_agents(server, chats, demo, supervisor, word):
    mine, theirs = chats["mine"]["session_id"], chats["theirs"]["session_id"]
    page = demo.get(f"{server.url}/history/{mine}", timeout=5)
    assert page.status_code == 200
    shown = [(m["sender_type"], m["text"], m["private"]) for m in transcript_messages(page.text)]
    assert shown == [("visitor", f"my {word} is broken", False), ("system", "Demo Agent has joined the chat", False),
                     ("agent", "Let me look", False), ("agent", f"note {word} VIP", True)]
    for path in (f"/history/{theirs}", "/history/not-a-chat", "/history/" + "x" * 300):
        assert demo.get(server.url + path, timeout=5).status_code == 404, path
    assert supervisor.get(f"{server.url}/history/{theirs}", timeout=5).status_code == 200


def csv_rows(response):
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("text/csv")
    assert response.headers["Content-Disposition"] == 'attachment; filename="chat-history.csv"'
    return list(csv.DictReader(io.StringIO(response.text)))


def test_the_csv_export_holds_the_filtered_list_and_no_formula(server, chats, demo, supervisor, word):
    rows = csv_rows(demo.get(server.url + "/history.csv", params={"search": word}, timeout=5))
    assert [row["id"] for row in rows] == [chats["mine"]["session_id"]]
    assert rows[0]["visitor_name"] == "Mine Visitor" and rows[0]["message_count"] == "4"
    assert chats["theirs"]["session_id"] not in demo.get(server.url + "/history.csv", timeout=5).text
    every = csv_rows(supervisor.get(server.url + "/history.csv", params={"search": word}, timeout=5))
    assert sorted(row["visitor_name"] for row in every) == ["'=Their Visitor", "Mine Visitor"]


def test_the_history_page_lists_only_the_agents_chats(server, chats, demo, word):
    page = demo.get(server.url + "/history", params={"search": word}, timeout=5)
    assert page.status_code == 200
    assert chats["mine"]["session_id"] in page.text and chats["theirs"]["session_id"] not in page.text
    refused = demo.get(server.url + "/history", params={"end_date": "2026-02-30"}, timeout=5)
    assert refused.status_code == 400 and "must be a date" in refused.text


def test_a_date_past_the_calendars_end_is_refused_with_a_sentence(server, demo):
    sentence = "The end date must be a date like 2026-01-31, in the years 1970 to 9998."
    for path in ("/history", "/history.csv", API):
        refused = demo.get(server.url + path, params={"end_date": "9999-12-31"}, timeout=5)
        assert refused.status_code == 400 and sentence in unescape(refused.text), path


def test_a_customers_email_typed_by_an_agent_opens_only_their_closed_chats_and_no_notes(server, demo, second, clients):
    """Anyone may type a customer's email. The demo agent's chat with it lists and opens the
    customer's ended chat without the second agent's note, and never the chat the second agent
    holds now (nor that one's note, in a preview or anywhere)."""
    email = f"{uuid.uuid4().hex[:8]}@shop.example"
    ended = take_part(server, clients, second, "Cara", "my card was declined", "Second here", email, "Card 4242 declined")
    assert clients[-1].call("end_session", {"session_id": ended["session_id"]})["ok"]
    going_on = take_part(server, clients, second, "Cara", "it happened again", "On it", email, "VIP refund pending")
    typed = take_part(server, clients, demo, "Mallory", "hello", "Hello", email.upper())
    panel = demo.get(f"{server.url}/dashboard/sessions/{typed['session_id']}", timeout=5)
    assert panel.status_code == 200
    assert f'/history/{ended["session_id"]}' in panel.text and going_on["session_id"] not in panel.text
    assert "4242" not in panel.text and "VIP refund" not in panel.text
    page = demo.get(f"{server.url}/history/{ended['session_id']}", timeout=5)
    assert page.status_code == 200
    assert [m["text"] for m in transcript_messages(page.text)] == [
        "my card was declined", "Second Agent has joined the chat", "Second here", "Second Agent ended the chat."]
    assert demo.get(f"{server.url}/history/{going_on['session_id']}", timeout=5).status_code == 404
    theirs = second.get(f"{server.url}/history/{ended['session_id']}", timeout=5)
    assert "Card 4242 declined" in [m["text"] for m in transcript_messages(theirs.text)]
