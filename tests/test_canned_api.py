"""Canned replies on a live server: the picker's JSON (`GET /api/v1/agent/canned`) and the
pages that manage them, through the real forms."""
import uuid

import requests

from tests.support import csrf_token, login


def unique_shortcut(word):
    return f"{word}-{uuid.uuid4().hex[:6]}"


def replies(server, http):
    response = http.get(server.url + "/api/v1/agent/canned", timeout=5)
    assert response.status_code == 200, response.text
    return response.json()["replies"]


def post_form(server, http, path, page_path, **fields):
    """Post a form the way its page does: with the page's CSRF token."""
    token = csrf_token(http.get(server.url + page_path, timeout=5).text)
    return http.post(server.url + path, data={"csrf_token": token, **fields}, allow_redirects=False, timeout=5)


def add_own(server, http, shortcut, text):
    response = post_form(server, http, "/account/canned", "/account/canned", shortcut=shortcut, text=text)
    assert response.status_code == 302, response.text
    return next(reply for reply in replies(server, http) if reply["shortcut"] == shortcut and not reply["shared"])


def test_an_agent_lists_its_own_replies_and_the_shared_ones_never_another_agents(server):
    demo, supervisor = login(server), login(server, "supervisor@example.com")
    mine = add_own(server, demo, unique_shortcut("mine"), "Only <b>Demo</b>'s.")
    theirs = add_own(server, supervisor, unique_shortcut("theirs"), "Only the supervisor's.")

    listed = replies(server, demo)
    assert mine == {"id": mine["id"], "shortcut": mine["shortcut"], "text": "Only <b>Demo</b>'s.", "shared": False}
    assert theirs["id"] not in [reply["id"] for reply in listed]
    assert {"hello", "shipping-times", "anything-else"} <= {reply["shortcut"] for reply in listed if reply["shared"]}
    assert "thanks" in [reply["shortcut"] for reply in listed if not reply["shared"]]     # seed-demo's
    assert [reply["shortcut"] for reply in listed] == sorted(reply["shortcut"] for reply in listed)
    assert mine["id"] not in [reply["id"] for reply in replies(server, supervisor)]


def test_the_list_needs_a_login(server):
    response = requests.get(server.url + "/api/v1/agent/canned", timeout=5)
    assert response.status_code == 401
    assert response.json() == {"error": {"code": "login_required", "message": "Please log in again."}}


def test_nobody_changes_or_deletes_another_agents_reply(server):
    demo, supervisor = login(server), login(server, "supervisor@example.com")
    theirs = add_own(server, supervisor, unique_shortcut("theirs"), "The supervisor's.")
    for path in (f"/account/canned/{theirs['id']}", f"/account/canned/{theirs['id']}/delete"):
        response = post_form(server, demo, path, "/account/canned", shortcut="taken", text="Mine now.")
        assert response.status_code == 404
    admin = login(server, "admin@example.com")
    response = post_form(server, admin, f"/admin/canned/{theirs['id']}", "/admin/canned", shortcut="x", text="y")
    assert response.status_code == 404                   # not even an admin: personal replies are personal
    assert theirs in replies(server, supervisor)


def test_only_admins_manage_the_shared_replies(server):
    demo = login(server)
    shared = next(reply for reply in replies(server, demo) if reply["shared"])
    assert demo.get(server.url + "/admin/canned", timeout=5).status_code == 403
    for path in ("/admin/canned", f"/admin/canned/{shared['id']}", f"/admin/canned/{shared['id']}/delete"):
        response = post_form(server, demo, path, "/account/canned", shortcut="mine", text="Mine.")
        assert response.status_code == 403
    # Nor from the agent's own page: a shared reply is not one of its own.
    response = post_form(server, demo, f"/account/canned/{shared['id']}", "/account/canned", shortcut="x", text="y")
    assert response.status_code == 404
    assert shared in replies(server, demo)


def test_an_admin_adds_changes_and_deletes_a_shared_reply(server):
    admin, demo = login(server, "admin@example.com"), login(server)
    shortcut = unique_shortcut("returns")
    response = post_form(server, admin, "/admin/canned", "/admin/canned", shortcut=shortcut, text="30 days.")
    assert response.status_code == 302
    shared = next(reply for reply in replies(server, demo) if reply["shortcut"] == shortcut)
    assert shared["shared"] is True
    response = post_form(server, admin, f"/admin/canned/{shared['id']}", "/admin/canned",
                         shortcut=shortcut, text="60 days.")
    assert response.status_code == 302
    assert {**shared, "text": "60 days."} in replies(server, demo)
    response = post_form(server, admin, f"/admin/canned/{shared['id']}/delete", "/admin/canned")
    assert response.status_code == 302
    assert shared["id"] not in [reply["id"] for reply in replies(server, demo)]


def test_a_refused_reply_says_why_and_keeps_what_was_typed_escaped(server):
    demo = login(server)
    response = post_form(server, demo, "/account/canned", "/account/canned",
                         shortcut="two words", text="<script>alert(1)</script>")
    assert response.status_code == 400
    assert "A shortcut is 1 to 40 letters, digits, - or _ (no spaces), such as shipping-times." in response.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text and "<script>alert" not in response.text
    assert 'value="two words"' in response.text
    response = post_form(server, demo, "/account/canned", "/account/canned", shortcut="ok", text="")
    assert response.status_code == 400 and "Please enter the reply&#39;s text." in response.text


def test_a_form_without_its_token_is_refused(server):
    demo = login(server)
    response = demo.post(server.url + "/account/canned", data={"shortcut": "x", "text": "y"}, timeout=5)
    assert response.status_code == 400 and "The form expired" in response.text
