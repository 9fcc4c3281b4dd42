"""Pages and the HTTP API as a browser or a widget sees them, on the live server."""
import json
import re

import pytest
import requests

from tests.support import (
    connect_agent, connect_visitor, csrf_token, login, logout, start_chat, stored_messages, submit_login, wait_until,
)

XSS = '<img src=x onerror=alert(1)><script>alert("x")</script>'


def test_login_page_has_a_csrf_protected_form(server):
    page = requests.get(server.url + "/login", timeout=5).text
    assert 'name="email"' in page and 'name="password"' in page and 'name="csrf_token"' in page
    refused = requests.post(server.url + "/login", timeout=5,
                            data={"email": "demo@example.com", "password": "demo-password"})
    assert refused.status_code == 400 and "The form expired" in refused.text


def test_a_wrong_password_is_refused_with_a_message(server):
    with pytest.raises(AssertionError):
        login(server, password="not-the-password")
    page = submit_login(server, requests.Session(), "demo@example.com", "nope")
    assert page.status_code == 400 and "Wrong email or password." in page.text


def test_the_dashboard_needs_a_login(server):
    response = requests.get(server.url + "/dashboard", allow_redirects=False, timeout=5)
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert requests.get(server.url + "/dashboard/sessions", allow_redirects=False,
                        timeout=5).status_code == 302


def test_the_session_list_shows_a_new_visitor_in_waiting(server, agent_http):
    chat = start_chat(server, name="Listed Visitor")
    page = agent_http.get(server.url + "/dashboard/sessions", timeout=5).text
    waiting = page.split('id="waitingSessions"')[1].split('id="mySessions"')[0]
    assert f'data-session-id="{chat["session_id"]}"' in waiting and "Listed Visitor" in waiting
    assert 'id="sessionList"' in agent_http.get(server.url + "/dashboard", timeout=5).text


def test_html_typed_by_a_visitor_shows_as_text_in_the_dashboard(server, agent_http, clients):
    chat = start_chat(server, name=XSS)
    visitor = connect_visitor(server, chat)
    clients.append(visitor)
    visitor.call("send_message", {"text": XSS, "client_id": "xss-1"})
    for path in ("/dashboard/sessions", f"/dashboard/sessions/{chat['session_id']}"):
        page = agent_http.get(server.url + path, timeout=5).text
        assert "<img src=x" not in page and '<script>alert("x")' not in page
        assert "&lt;img src=x onerror=alert(1)&gt;&lt;script&gt;" in page


def test_an_agent_cannot_open_another_agents_chat(server, clients):
    chat = start_chat(server)
    owner = connect_agent(server, login(server))
    clients.append(owner)
    assert owner.call("claim_session", {"session_id": chat["session_id"]})["ok"]
    other = login(server, "second@example.com", "second-password")
    assert other.get(f"{server.url}/dashboard/sessions/{chat['session_id']}", timeout=5).status_code == 404
    supervisor = login(server, "supervisor@example.com", "demo-password")
    assert supervisor.get(f"{server.url}/dashboard/sessions/{chat['session_id']}", timeout=5).status_code == 200


def test_logout_closes_the_agents_live_sockets(server, clients):
    http = login(server, "second@example.com", "second-password")
    tab = connect_agent(server, http)
    clients.append(tab)
    logout(server, http)
    wait_until(lambda: not tab.client.connected, message="socket closed after logout")
    assert http.get(server.url + "/dashboard", allow_redirects=False, timeout=5).status_code == 302


def test_logging_out_puts_the_agents_chats_back_in_the_queue(server, clients):
    http = login(server, "second@example.com", "second-password")
    tab = connect_agent(server, http)
    clients.append(tab)
    chat = start_chat(server, name="Lena")
    visitor = connect_visitor(server, chat)
    clients.append(visitor)
    assert tab.call("claim_session", {"session_id": chat["session_id"]})["ok"]
    logout(server, http)
    status = visitor.wait_for("session_status", lambda s: s["status"] == "waiting")
    assert (status["agent_name"], status["is_queued"]) == (None, True)
    assert visitor.wait_for("message", lambda m: m["text"].endswith(
        "had to leave; someone else from the team will be with you shortly."))
    colleague = login(server)
    assert chat["session_id"] in colleague.get(server.url + "/dashboard/sessions", timeout=5).text


def test_widget_loader_frame_and_demo_page_are_served(server):
    loader = requests.get(server.url + "/widget.js", timeout=5)
    assert loader.status_code == 200 and "javascript" in loader.headers["Content-Type"]
    assert "ChatWidget" in loader.text and "data-site" in loader.text
    demo = requests.get(server.url + "/demo", timeout=5).text
    assert re.search(r'<script src="http://127\.0\.0\.1:\d+/widget\.js" data-site="demo" async>', demo)
    frame = requests.get(server.url + "/widget/frame?site=demo&color=%23ff0000", timeout=5)
    assert frame.status_code == 200 and 'id="startForm"' in frame.text and 'data-color="#ff0000"' in frame.text
    assert requests.get(server.url + "/widget/frame?site=nope", timeout=5).status_code == 404
    injected = requests.get(server.url + '/widget/frame?site=demo&color="><script>', timeout=5).text
    assert '"><script>' not in injected


def test_static_vendor_files_are_served(server):
    for name in ("socket.io-4.8.4.min.js", "htmx-2.0.11.min.js"):
        assert requests.get(f"{server.url}/static/vendor/{name}", timeout=5).status_code == 200


@pytest.mark.parametrize("body, status, code, sentence", [
    ({"site_key": "no-such-site"}, 404, "site_not_found", "No site has this key."),
    ({}, 400, "invalid_payload", "Please enter a site key."),
    ({"site_key": ["demo"]}, 400, "invalid_payload", "Please enter a site key as text."),
    ({"site_key": "x" * 65}, 400, "invalid_payload", "Site keys can be up to 64 characters."),
    ({"site_key": "demo", "name": "x" * 81}, 400, "invalid_payload", "Names can be up to 80 characters."),
    ({"site_key": "demo", "name": 7}, 400, "invalid_payload", "Please enter your name as text."),
    ({"site_key": "demo", "email": "not-an-email"}, 400, "invalid_payload", "Please enter a valid email address."),
    ({"site_key": "demo", "email": "a@b"}, 400, "invalid_payload", "Please enter a valid email address."),
    ({"site_key": "demo", "email": "a" * 250 + "@b.com"}, 400, "invalid_payload",
     "Email addresses can be up to 254 characters."),
    ({"site_key": "demo", "page_url": "javascript:alert(1)"}, 400, "invalid_payload",
     "The page address must start with http:// or https://."),
    ({"site_key": "demo", "page_url": "https://shop.example/" + "a" * 2000}, 400, "invalid_payload",
     "Page addresses can be up to 2,000 characters."),
])
def test_starting_a_chat_with_bad_input_gets_a_sentence_a_person_can_read(server, body, status, code, sentence):
    response = requests.post(server.api("/start"), json=body, timeout=5)
    assert response.status_code == status
    assert response.json()["error"] == {"code": code, "message": sentence}


@pytest.mark.parametrize("fields, sentence", [
    ({"text": "x" * 5001}, "Messages can be up to 5,000 characters."),
    ({"text": "  "}, "Please enter a message."),
    ({"text": "hi", "client_id": "has spaces"},
     "This message could not be sent (its client_id must be 1 to 64 letters, digits or _ . : -)."),
])
def test_a_refused_message_over_http_gets_a_sentence_a_person_can_read(server, chat, fields, sentence):
    body = {"session_id": chat["session_id"], "session_key": chat["session_key"], "client_id": "words-1", **fields}
    response = requests.post(server.api("/messages"), json=body, timeout=5)
    assert response.status_code == 400
    assert response.json()["error"] == {"code": "invalid_payload", "message": sentence}


def test_reading_from_a_position_that_is_not_a_number_gets_a_sentence_a_person_can_read(server, chat):
    response = requests.get(server.api(f"/messages/{chat['session_id']}?after=-1"), timeout=5,
                            headers={"X-Session-Key": chat["session_key"]})
    assert response.status_code == 400
    assert response.json()["error"]["message"] == (
        "That is not a message position (after must be a whole number from 0 to 2,147,483,647).")


def test_a_body_that_is_not_json_gets_a_json_error(server):
    response = requests.post(server.api("/start"), data="nope", timeout=5,
                             headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and response.json()["error"] == {
        "code": "invalid_payload", "message": "This request could not be read (it must be a JSON object)."}


def test_an_anonymous_visitor_has_one_name_in_the_start_answer_the_messages_and_the_lists(server, agent_http, clients):
    chat = start_chat(server)
    label = "Visitor " + chat["session_id"][:8]
    assert chat["visitor_name"] == label
    visitor = connect_visitor(server, chat)
    clients.append(visitor)
    assert visitor.call("send_message", {"text": "over the socket", "client_id": "anon-1"})["message"][
        "sender_name"] == label
    rest = requests.post(server.api("/messages"), timeout=5, json={
        "session_id": chat["session_id"], "session_key": chat["session_key"], "text": "over REST",
        "client_id": "anon-2"})
    assert rest.json()["message"]["sender_name"] == label
    assert [m["sender_name"] for m in stored_messages(server, chat)] == [label, label]
    window = agent_http.get(f"{server.url}/dashboard/sessions/{chat['session_id']}", timeout=5).text
    assert f'<h2 class="chat-title">{label}</h2>' in window


def test_the_favicon_is_served_and_linked_from_the_pages_and_the_widget(server):
    icon = requests.get(server.url + "/favicon.ico", timeout=5)
    assert icon.status_code == 200 and icon.headers["Content-Type"].startswith("image/")
    assert icon.content[:4] == b"\x00\x00\x01\x00"           # an ICO file
    for path in ("/login", "/widget/frame?site=demo"):
        assert '<link rel="icon" href="/favicon.ico">' in requests.get(server.url + path, timeout=5).text


def test_status_answers_the_same_for_a_wrong_key_and_an_unknown_session(server, chat):
    wrong = requests.get(server.api(f"/status/{chat['session_id']}"), headers={"X-Session-Key": "x"}, timeout=5)
    unknown = requests.get(server.api("/status/00000000-0000-0000-0000-000000000000"),
                           headers={"X-Session-Key": "x"}, timeout=5)
    assert wrong.status_code == unknown.status_code == 404
    assert wrong.json() == unknown.json()
    right = requests.get(server.api(f"/status/{chat['session_id']}"),
                         headers={"X-Session-Key": chat["session_key"]}, timeout=5).json()
    assert right["status"] == "waiting" and "session_key" not in right


def test_the_public_api_refuses_origins_the_site_does_not_list(server):
    response = requests.post(server.api("/start"), json={"site_key": "demo"}, timeout=5,
                             headers={"Origin": "http://evil.example"})
    assert response.status_code == 403 and response.json()["error"]["code"] == "origin_not_allowed"
    assert "Access-Control-Allow-Origin" not in response.headers
    own = requests.post(server.api("/start"), json={"site_key": "demo"}, timeout=5,
                        headers={"Origin": server.url})
    assert own.status_code == 201


def test_polling_endpoints_send_and_read_messages(server, chat):
    body = {"session_id": chat["session_id"], "session_key": chat["session_key"], "text": "via REST",
            "client_id": "rest-1"}
    first = requests.post(server.api("/messages"), json=body, timeout=5)
    again = requests.post(server.api("/messages"), json=body, timeout=5)
    assert first.status_code == again.status_code == 201
    assert first.json()["message"] == again.json()["message"]
    assert [m["text"] for m in stored_messages(server, chat)] == ["via REST"]


def test_the_visitor_can_end_the_chat_over_http(server, chat):
    response = requests.post(server.api("/end"), timeout=5,
                             json={"session_id": chat["session_id"], "session_key": chat["session_key"]})
    assert response.json()["status"] == "ended"
    late = requests.post(server.api("/messages"), timeout=5,
                         json={"session_id": chat["session_id"], "session_key": chat["session_key"],
                               "text": "hello?", "client_id": "late"})
    assert late.status_code == 409 and late.json()["error"]["code"] == "session_closed"


def test_healthz_reports_the_database(server):
    response = requests.get(server.url + "/healthz", timeout=5)
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "redis": "not used", "async_mode": "eventlet"}


def test_the_log_has_one_line_per_lifecycle_event_without_text_or_keys(server, clients):
    chat = start_chat(server, name="Logged")
    visitor = connect_visitor(server, chat)
    clients.append(visitor)
    visitor.call("send_message", {"text": "a secret sentence", "client_id": "log-1"})
    requests.post(server.api("/end"), json={"session_id": chat["session_id"], "session_key": chat["session_key"]},
                  timeout=5)
    log = wait_until(lambda: (lambda text: text if f"session ended session={chat['session_id']}" in text else None)(
        server.log_path.read_text()), message="the end to be logged")
    assert f"session started session={chat['session_id']} site=demo" in log
    assert "a secret sentence" not in log and chat["session_key"] not in log


def test_a_long_history_is_shown_in_pages(server, agent_http, clients):
    chat = start_chat(server, name="Talkative")
    visitor = connect_visitor(server, chat)
    clients.append(visitor)
    for n in range(1, 131):
        visitor.call("send_message", {"text": f"line {n}", "client_id": f"l{n}"})
    page = agent_http.get(f"{server.url}/dashboard/sessions/{chat['session_id']}", timeout=5).text
    assert history_seqs(page) == list(range(31, 131))
    earlier_url = re.search(r'data-earlier="([^"]+)"', page).group(1).replace("&amp;", "&")
    earlier = agent_http.get(server.url + earlier_url, timeout=5).text
    assert history_seqs(earlier) == list(range(1, 31))
    assert "data-earlier" not in earlier


def history_seqs(page):
    """The seqs of the history page a chat window or earlier-messages partial carries as JSON."""
    data = re.search(r"<div class=\"message-history\" hidden data-messages='([^']*)'>", page).group(1)
    return [message["seq"] for message in json.loads(data)]


@pytest.mark.parametrize("number", ["99999999999999999999", "2147483648"])
def test_an_id_the_database_cannot_hold_is_no_such_page(server, number):
    """Every route taking a row id answers a number past the 32-bit ids with 404, as for any
    id that does not exist, instead of a 500 from the database (validation.RowId)."""
    admin = login(server, "admin@example.com")
    token = csrf_token(admin.get(server.url + "/admin/team", timeout=5).text)
    for path in ("/account/canned/{}", "/account/canned/{}/delete", "/admin/team/{}", "/admin/team/{}/disable",
                 "/admin/team/{}/enable", "/admin/team/{}/password", "/admin/canned/{}", "/admin/canned/{}/delete"):
        response = admin.post(server.url + path.format(number), data={"csrf_token": token, "shortcut": "x",
                                                                      "text": "y", "display_name": "X", "role": "agent"},
                              allow_redirects=False, timeout=5)
        assert response.status_code == 404, (path, response.status_code)
