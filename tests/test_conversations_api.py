"""The conversations API (issue 17, seed 003) against a live server: a visitor token kept by the
browser, several conversations, titles, unread replies, close; verified users on two browsers;
what a stranger's token, no token and a forged hash get."""
import uuid

import pytest
import requests
import socketio

from tests.support import (
    Browser, RecordingClient, connect_agent, csrf_token, identity_secret, login, store_message_unannounced, user_hash,
    wait_until,
)


def send(server, browser, session_id, text):
    """A message over the REST fallback, opened by the visitor token alone (no session key)."""
    response = requests.post(server.api("/messages"), headers=browser.headers(), timeout=10,
                             json={"session_id": session_id, "text": text, "client_id": uuid.uuid4().hex})
    assert response.status_code == 201, response.text
    return response.json()["message"]


def refusal(response, status, code):
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code
    return response.json()["error"]["message"]


@pytest.fixture(scope="module")
def secret(server):
    return identity_secret(server)


def test_a_visitor_with_two_conversations_finds_both_with_their_titles_after_a_reload(server):
    browser = Browser(server)
    first = browser.start(name="Vera")
    second = browser.start()
    assert "visitor_token" in first and "visitor_token" not in second       # one token per browser
    send(server, browser, first["session_id"], "Where is my parcel? It left the warehouse on Monday")
    send(server, browser, second["session_id"], "Refunds")
    renamed = browser.call("PATCH", f"/conversations/{second['session_id']}", json={"title": "My refund"})
    assert renamed.status_code == 200 and renamed.json()["conversation"]["title"] == "My refund"

    reloaded = Browser(server, token=browser.token)
    listed = reloaded.conversations()
    assert [c["id"] for c in listed] == [second["session_id"], first["session_id"]]
    assert [c["title"] for c in listed] == ["My refund", "Where is my parcel? It left the…"]
    assert all(c["is_open"] and c["status"] == "waiting" for c in listed)
    one = reloaded.call("GET", f"/conversations/{first['session_id']}").json()
    assert [m["text"] for m in one["messages"]] == ["Where is my parcel? It left the warehouse on Monday"]


def test_the_visitor_token_opens_a_conversations_socket_with_its_replay(server):
    browser = Browser(server)
    started = browser.start(name="Sol")
    send(server, browser, started["session_id"], "Hello from the tab")
    client = RecordingClient("/visitor").connect(
        server, auth={"session_id": started["session_id"], "visitor_token": browser.token, "last_seq": 0})
    try:
        client.wait_for("message", lambda m: m["text"] == "Hello from the tab")
        ack = client.call("send_message", {"text": "and over the socket", "client_id": "tab-1"})
        assert ack["ok"] and ack["message"]["seq"] == 2
    finally:
        client.disconnect()


def test_replies_count_as_unread_until_the_visitor_reads_them(server):
    browser = Browser(server)
    started = browser.start(name="Uma")
    session_id = started["session_id"]
    send(server, browser, session_id, "Anyone?")
    store_message_unannounced(server, session_id, "Yes, here", sender_type="agent")
    store_message_unannounced(server, session_id, "How can I help?", sender_type="agent")
    assert browser.conversations()[0]["unread"] == 2
    read = browser.call("POST", f"/conversations/{session_id}/read", json={"seq": 2})
    assert read.status_code == 200
    assert browser.conversations()[0]["unread"] == 1
    browser.call("POST", f"/conversations/{session_id}/read", json={"seq": 3})
    assert browser.conversations()[0]["unread"] == 0


def test_closing_a_conversation_ends_the_chat_and_takes_it_off_the_list(server):
    browser = Browser(server)
    kept, closed = browser.start(title="Kept"), browser.start(title="Closed")
    answer = browser.call("DELETE", f"/conversations/{closed['session_id']}")
    assert answer.status_code == 200
    assert answer.json()["conversation"]["status"] == "ended" and not answer.json()["conversation"]["is_open"]
    assert browser.titles() == ["Kept"]
    status = requests.get(server.api(f"/status/{closed['session_id']}"), headers=browser.headers(), timeout=10)
    assert status.json()["status"] == "ended" and status.json()["end_reason"] == "visitor"
    assert kept["conversation"]["is_open"]


def test_another_visitors_token_and_no_token_see_nothing(server):
    owner, stranger = Browser(server), Browser(server)
    mine = owner.start(name="Owner")["session_id"]
    stranger.start(name="Eve")
    for method, path, body in (("GET", f"/conversations/{mine}", None),
                               ("PATCH", f"/conversations/{mine}", {"title": "stolen"}),
                               ("POST", f"/conversations/{mine}/read", {"seq": 1}),
                               ("DELETE", f"/conversations/{mine}", None)):
        refusal(stranger.call(method, path, json=body), 404, "session_not_found")
    refusal(requests.get(server.api(f"/status/{mine}"), headers=stranger.headers(), timeout=10),
            404, "session_not_found")
    with pytest.raises(socketio.exceptions.ConnectionError):
        RecordingClient("/visitor").connect(server, auth={"session_id": mine, "visitor_token": stranger.token})
    message = refusal(Browser(server).call("GET", "/conversations?site_key=demo"), 404, "visitor_not_found")
    assert "start a new conversation" in message
    refusal(Browser(server, token="x" * 43).call("GET", "/conversations?site_key=demo"), 404, "visitor_not_found")
    assert owner.conversations()[0]["title"] != "stolen" and owner.conversations()[0]["is_open"]


def test_a_verified_user_has_the_same_conversations_on_a_second_browser(server, secret):
    user_id = f"user-{uuid.uuid4().hex[:8]}"
    laptop, phone = Browser(server), Browser(server)
    laptop.start(name="Kim", title="From the laptop")
    identified = laptop.identify(user_id, user_hash(secret, user_id), name="Kim Park", email="kim@example.com")
    assert identified.status_code == 200, identified.text
    assert identified.json()["visitor"] == {"name": "Kim Park", "email": "kim@example.com", "verified": True}
    phone.start(name="Kim", title="From the phone")             # before logging in on the phone
    assert phone.identify(user_id, user_hash(secret, user_id)).status_code == 200
    assert sorted(phone.titles()) == sorted(laptop.titles()) == ["From the laptop", "From the phone"]


def test_a_forged_hash_is_refused_and_the_id_is_ignored(server, secret):
    user_id = f"user-{uuid.uuid4().hex[:8]}"
    owner = Browser(server)
    owner.start(title="Private")
    owner.identify(user_id, user_hash(secret, user_id))
    forger = Browser(server)
    forger.start(title="Forger's own")
    for forged in ("0" * 64, user_hash("another secret", user_id), user_hash(secret, user_id + "x")):
        message = refusal(forger.identify(user_id, forged), 403, "identity_not_verified")
        assert "HMAC-SHA256" in message
    assert forger.titles() == ["Forger's own"]
    assert refusal(Browser(server).identify(user_id, "0" * 64), 403, "identity_not_verified")


def test_a_forgotten_browser_is_a_stranger_and_the_users_other_browser_is_not(server, secret):
    user_id = f"user-{uuid.uuid4().hex[:8]}"
    shared, own = Browser(server), Browser(server)
    shared.start(title="At the library")
    shared.identify(user_id, user_hash(secret, user_id))
    own.identify(user_id, user_hash(secret, user_id))
    assert shared.call("POST", "/forget").status_code == 204
    refusal(shared.call("GET", "/conversations?site_key=demo"), 404, "visitor_not_found")
    assert own.titles() == ["At the library"]


def test_the_agent_sees_the_visitors_other_conversation_in_the_side_panel(server):
    browser = Browser(server)
    first = browser.start(name="Panel Pia")
    second = browser.start(title="Second question")
    send(server, browser, first["session_id"], "About my order")
    http = login(server)
    for opened, other in ((second, first), (first, second)):
        panel = http.get(f"{server.url}/dashboard/sessions/{opened['session_id']}", timeout=10)
        assert panel.status_code == 200, panel.text
        assert f'/history/{other["session_id"]}' in panel.text
    assert "Second question" in http.get(f"{server.url}/dashboard/sessions/{first['session_id']}", timeout=10).text
    assert "verified by the website" not in panel.text                 # an anonymous visitor


def test_the_agent_sees_a_verified_users_id_escaped_in_the_panel_and_the_transcript(server, secret):
    user_id = f"<img src=x onerror=alert(1)>{uuid.uuid4().hex[:6]}"
    browser = Browser(server)
    started = browser.start(name="Kim")
    assert browser.identify(user_id, user_hash(secret, user_id)).status_code == 200
    http = login(server)
    for page in (f"/dashboard/sessions/{started['session_id']}", f"/history/{started['session_id']}"):
        shown = http.get(server.url + page, timeout=10).text
        assert "verified by the website" in shown
        assert "<img src=x" not in shown and "&lt;img src=x onerror=alert(1)&gt;" in shown


@pytest.mark.parametrize("method, path, body, message", [
    ("POST", "/conversations", {"site_key": "demo", "title": "t" * 81}, "Titles can be up to 80 characters."),
    ("POST", "/conversations", {"site_key": "nope"}, "No site has this key."),
    ("POST", "/identify", {"site_key": "demo", "user_hash": "0" * 64}, "Please enter the user's id."),
    ("POST", "/identify", {"site_key": "demo", "user_id": "u" * 65, "user_hash": "0" * 64},
     "User ids can be up to 64 characters."),
])
def test_bad_input_gets_a_sentence(server, method, path, body, message):
    response = Browser(server).call(method, path, json=body)
    assert response.status_code in (400, 404) and response.json()["error"]["message"] == message


def test_bad_renames_and_read_positions_get_a_sentence_and_change_nothing(server):
    browser = Browser(server)
    session_id = browser.start(title="Named")["session_id"]
    for title in ("", "   ", "t" * 81, 5):
        response = browser.call("PATCH", f"/conversations/{session_id}", json={"title": title})
        assert "title" in refusal(response, 400, "invalid_payload")
    for seq in (-1, "3", 10 ** 12):
        refusal(browser.call("POST", f"/conversations/{session_id}/read", json={"seq": seq}), 400, "invalid_payload")
    assert browser.titles() == ["Named"]


def test_a_visitor_has_at_most_five_open_conversations(server):
    browser = Browser(server)
    for number in range(5):
        browser.start(title=f"Chat {number}")
    message = refusal(browser.call("POST", "/conversations", json={"site_key": "demo"}), 429, "too_many_conversations")
    assert message == "You have 5 conversations open; close one to start another."
    oldest = browser.conversations()[-1]["id"]
    browser.call("DELETE", f"/conversations/{oldest}")
    wait_until(lambda: browser.call("POST", "/conversations", json={"site_key": "demo"}).status_code == 201,
               message="room for one more conversation")


def test_a_conversations_socket_hears_the_replies_in_the_visitors_other_open_conversations(server, clients):
    browser, stranger = Browser(server), Browser(server)
    on_screen = browser.start(name="Tabby")["session_id"]
    other = browser.start()["session_id"]
    strangers = stranger.start(name="Eve")["session_id"]
    tab = RecordingClient("/visitor").connect(server, auth={"session_id": on_screen, "visitor_token": browser.token})
    clients.append(tab)
    agent = connect_agent(server, login(server))
    clients.append(agent)
    for session_id, text in ((strangers, "Not for Tabby"), (other, "Your refund is on its way")):
        assert agent.call("claim_session", {"session_id": session_id})["ok"]
        assert agent.call("send_message", {"session_id": session_id, "text": text, "client_id": uuid.uuid4().hex})["ok"]
    reply = tab.wait_for("message", lambda m: m["text"] == "Your refund is on its way")
    assert reply["session_id"] == other and reply["sender_type"] == "agent"
    assert "Not for Tabby" not in [m["text"] for m in tab.messages()]
    assert [c["unread"] for c in browser.conversations() if c["id"] == other] == [1]


def test_a_conversation_started_on_another_device_is_heard_once_the_socket_follows_it(server, clients, secret):
    user_id = f"user-{uuid.uuid4().hex[:8]}"
    laptop, phone, stranger = Browser(server), Browser(server), Browser(server)
    on_screen = laptop.start(name="Kim")["session_id"]
    for browser in (laptop, phone):
        assert browser.identify(user_id, user_hash(secret, user_id)).status_code == 200
    strangers = stranger.start(name="Eve")["session_id"]
    tab = RecordingClient("/visitor").connect(server, auth={"session_id": on_screen, "visitor_token": laptop.token})
    strangers_tab = RecordingClient("/visitor").connect(
        server, auth={"session_id": strangers, "visitor_token": stranger.token})
    agent = connect_agent(server, login(server))
    clients.extend([tab, strangers_tab, agent])

    started = phone.start(title="From the phone")["session_id"]
    assert tab.wait_for("conversation_started") == {"session_id": started}
    followed = tab.call("follow_conversations", {})
    assert followed["ok"] and followed["session_ids"] == [started]
    assert agent.call("claim_session", {"session_id": started})["ok"]
    assert agent.call("send_message", {"session_id": started, "text": "Hello, phone", "client_id": uuid.uuid4().hex})["ok"]
    reply = tab.wait_for("message", lambda m: m["text"] == "Hello, phone")
    assert reply["session_id"] == started

    stranger.start(title="Eve's second")                        # Eve's own news reaches Eve alone
    strangers_tab.wait_for("conversation_started")
    assert len(tab.received("conversation_started")) == 1
    assert {m["session_id"] for m in strangers_tab.received("message")} <= {strangers}


def test_a_new_identity_secret_refuses_the_hashes_made_with_the_old_one(server):
    old = identity_secret(server)
    user_id = f"user-{uuid.uuid4().hex[:8]}"
    admin = login(server, "admin@example.com", "demo-password")
    page = admin.get(f"{server.url}/admin/sites/demo", timeout=10)
    renewed = admin.post(f"{server.url}/admin/sites/demo/identity-secret", data={"csrf_token": csrf_token(page.text)},
                         timeout=10)
    assert renewed.status_code == 200 and "has a new identity secret" in renewed.text
    new = identity_secret(server)
    assert new != old
    refusal(Browser(server).identify(user_id, user_hash(old, user_id)), 403, "identity_not_verified")
    assert Browser(server).identify(user_id, user_hash(new, user_id)).status_code == 200
    agent = login(server)                                    # only admins may renew it
    plain = agent.post(f"{server.url}/admin/sites/demo/identity-secret",
                       data={"csrf_token": csrf_token(agent.get(f"{server.url}/dashboard", timeout=10).text)}, timeout=10)
    assert plain.status_code in (403, 404) and identity_secret(server) == new
