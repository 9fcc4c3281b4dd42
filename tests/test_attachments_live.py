"""Attachments against a live server: uploads by a visitor and an agent, the files served with
their headers, signed links, and the same "not found" for everyone who may not have a file.
See docs/protocol.md, "Attachments"."""
import io
import uuid

import pytest
import requests
from PIL import Image

from tests.support import add_site_and_agent, connect_agent, csrf_token, login, start_chat
from tests.support.files import ACCEPTED, HTML, SVG_WITH_SCRIPT, decompression_bomb_png, jpeg_with_gps

PDF = ACCEPTED["invoice.pdf"][0]
NOT_FOUND = {"error": {"code": "attachment_not_found", "message": "This file could not be found."}}


def visitor_upload(server, chat, data, filename, key=None):
    return requests.post(server.api("/attachments"), data={"session_id": chat["session_id"]},
                         files={"file": (filename, data, "application/octet-stream")},
                         headers={"X-Session-Key": key or chat["session_key"]}, timeout=10)


def agent_upload(server, http, session_id, data, filename):
    token = csrf_token(http.get(server.url + "/dashboard", timeout=5).text)
    return http.post(server.url + "/api/v1/agent/attachments", data={"session_id": session_id},
                     files={"file": (filename, data, "image/png")}, headers={"X-CSRFToken": token}, timeout=10)


def links(server, chat, ids, key=None):
    return requests.post(server.api("/attachments/links"), json={"session_id": chat["session_id"],
                                                                 "attachment_ids": ids},
                         headers={"X-Session-Key": key or chat["session_key"]}, timeout=5)


def uploaded(response):
    assert response.status_code == 201, response.text
    return response.json()


def claimed_chat(server, agent_http, clients, **fields):
    chat = start_chat(server, name="Ann", **fields)
    agent = connect_agent(server, agent_http)
    clients.append(agent)
    assert agent.call("claim_session", {"session_id": chat["session_id"]})["ok"]
    return chat, agent


# ---- uploads ----

def test_a_visitor_uploads_a_photo_and_gets_its_facts(server, chat):
    answer = uploaded(visitor_upload(server, chat, jpeg_with_gps(size=(640, 480)), "../../holiday.jpg"))
    assert answer == {"attachment_id": answer["attachment_id"], "name": "holiday.jpg", "size": answer["size"],
                      "content_type": "image/jpeg", "kind": "image", "width": 640, "height": 480}
    uuid.UUID(answer["attachment_id"])


@pytest.mark.parametrize("data, filename", [(SVG_WITH_SCRIPT, "cat.svg"), (HTML, "cat.png")])
def test_an_svg_with_script_and_html_renamed_png_are_refused(server, chat, data, filename):
    response = visitor_upload(server, chat, data, filename)
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "file_type_not_allowed"
    assert "PDF documents" in response.json()["error"]["message"]


def test_a_decompression_bomb_is_refused(server, chat):
    response = visitor_upload(server, chat, decompression_bomb_png(), "bomb.png")
    assert (response.status_code, response.json()["error"]["code"]) == (400, "image_invalid")


def test_a_file_over_the_limit_is_refused_with_413(own_server):
    live = own_server(MAX_UPLOAD_MB=1)
    chat = start_chat(live)
    response = visitor_upload(live, chat, b"%PDF-1.4\n" + b"0" * (1024 * 1024 + 70000), "big.pdf")
    assert response.status_code == 413
    assert response.json() == {"error": {"code": "file_too_large", "message": "This file is larger than 1 MB."}}
    assert uploaded(visitor_upload(live, chat, b"%PDF-1.4\n" + b"0" * (1024 * 1024 - 9), "full.pdf"))["size"] == \
        1024 * 1024


def test_an_upload_without_a_file_or_to_an_ended_chat_is_refused(server, chat):
    response = requests.post(server.api("/attachments"), data={"session_id": chat["session_id"]},
                             headers={"X-Session-Key": chat["session_key"]}, timeout=5)
    assert (response.status_code, response.json()["error"]["code"]) == (400, "invalid_payload")
    assert visitor_upload(server, chat, PDF, "a.pdf", key="wrong-key").json()["error"]["code"] == "session_not_found"
    requests.post(server.api("/end"), json={"session_id": chat["session_id"], "session_key": chat["session_key"]},
                  timeout=5)
    response = visitor_upload(server, chat, PDF, "a.pdf")
    assert (response.status_code, response.json()["error"]["code"]) == (409, "session_closed")


def test_an_agent_uploads_to_a_chat_it_holds_but_not_to_one_it_cannot_see(server, agent_http, clients):
    chat, _ = claimed_chat(server, agent_http, clients)
    answer = uploaded(agent_upload(server, agent_http, chat["session_id"], ACCEPTED["shot.png"][0], "shot.png"))
    assert (answer["kind"], answer["content_type"]) == ("image", "image/png")
    outsider = login(server, "second@example.com", "second-password")
    response = agent_upload(server, outsider, chat["session_id"], ACCEPTED["shot.png"][0], "shot.png")
    assert (response.status_code, response.json()["error"]["code"]) == (404, "session_not_found")
    response = requests.post(server.url + "/api/v1/agent/attachments", data={"session_id": chat["session_id"]},
                             files={"file": ("a.pdf", PDF)}, timeout=5)
    assert response.status_code in (400, 401)           # no login: no CSRF token either


def test_uploads_are_rate_limited_per_address(own_server):
    live = own_server(UPLOAD_LIMIT_PER_IP="2 per minute")
    chat = start_chat(live)
    assert [visitor_upload(live, chat, PDF, "a.pdf").status_code for _ in range(3)] == [201, 201, 429]
    assert visitor_upload(live, chat, PDF, "a.pdf").json()["error"]["code"] == "rate_limited"


def test_a_chat_has_an_hourly_limit_of_files(own_server):
    live = own_server(ATTACHMENTS_PER_SESSION_HOUR=2)
    chat = start_chat(live)
    assert [visitor_upload(live, chat, PDF, "a.pdf").status_code for _ in range(3)] == [201, 201, 429]
    assert visitor_upload(live, chat, PDF, "a.pdf").json()["error"]["code"] == "upload_limit"


# ---- fetching ----

def test_a_visitor_fetches_its_photo_through_a_signed_link_without_exif(server, chat):
    answer = uploaded(visitor_upload(server, chat, jpeg_with_gps(size=(640, 480)), "holiday.jpg"))
    answered = links(server, chat, [answer["attachment_id"]])
    assert answered.status_code == 200, answered.text
    link = answered.json()["links"][answer["attachment_id"]]
    assert link["url"].startswith(f"/attachments/{answer['attachment_id']}?token=")
    assert chat["session_key"] not in link["url"] and chat["session_key"] not in link["thumbnail_url"]
    photo = requests.get(server.url + link["url"], timeout=5)
    assert photo.status_code == 200
    assert photo.headers["Content-Type"] == "image/jpeg"
    assert photo.headers["Content-Disposition"].startswith("inline;")
    assert photo.headers["X-Content-Type-Options"] == "nosniff"
    assert photo.headers["Content-Security-Policy"] == "sandbox; default-src 'none'"
    assert photo.headers["Cache-Control"].startswith("private, max-age=")
    with Image.open(io.BytesIO(photo.content)) as image:
        assert image.size == (640, 480) and dict(image.getexif()) == {}
    thumb = requests.get(server.url + link["thumbnail_url"], timeout=5)
    with Image.open(io.BytesIO(thumb.content)) as image:
        assert (thumb.headers["Content-Type"], image.size) == ("image/jpeg", (320, 240))


def test_a_pdf_is_served_as_a_download(server, chat):
    answer = uploaded(visitor_upload(server, chat, PDF, "Rechnung März.pdf"))
    link = links(server, chat, [answer["attachment_id"]]).json()["links"][answer["attachment_id"]]
    assert link["thumbnail_url"] is None
    response = requests.get(server.url + link["url"], timeout=5)
    assert response.content == PDF
    assert response.headers["Content-Disposition"] == (
        "attachment; filename=\"Rechnung M_rz.pdf\"; filename*=UTF-8''Rechnung%20M%C3%A4rz.pdf")
    assert response.headers["Content-Security-Policy"] == "sandbox; default-src 'none'"


def test_everyone_who_may_not_have_a_file_gets_the_same_not_found(server, agent_http, clients):
    """Another visitor's key, a logged-out browser, an agent without access, a forged or
    borrowed token, an unknown id: one answer, so none of them learns whether the file exists."""
    chat, _ = claimed_chat(server, agent_http, clients)
    answer = uploaded(visitor_upload(server, chat, PDF, "private.pdf"))
    attachment_id = answer["attachment_id"]
    link = links(server, chat, [attachment_id]).json()["links"][attachment_id]
    other = start_chat(server, name="Mallory")
    other_photo = uploaded(visitor_upload(server, other, PDF, "mine.pdf"))
    other_link = links(server, other, [other_photo["attachment_id"]]).json()["links"][other_photo["attachment_id"]]
    add_site_and_agent(server, "elsewhere", "elsewhere@example.com", "elsewhere-password")
    outsider = login(server, "elsewhere@example.com", "elsewhere-password")
    url = server.url + f"/attachments/{attachment_id}"
    token = other_link["url"].split("token=")[1]
    answers = [
        links(server, chat, [attachment_id], key=other["session_key"]),          # another visitor's key
        links(server, other, [attachment_id]),                                    # another chat's visitor
        requests.get(url, timeout=5),                                             # logged out, no token
        outsider.get(url, timeout=5),                                             # an agent without access
        requests.get(url + "?token=" + token, timeout=5),                         # another file's token
        requests.get(url + "?token=" + link["url"].split("token=")[1][:-2] + "xx", timeout=5),   # forged
        requests.get(server.url + f"/attachments/{uuid.uuid4()}", timeout=5),     # unknown
        requests.get(server.url + f"/attachments/{uuid.uuid4()}" + "?token=" + token, timeout=5),
        requests.get(url + "/thumbnail?token=" + link["url"].split("token=")[1], timeout=5),   # a pdf has none
    ]
    assert [(response.status_code, response.json()) for response in answers] == [(404, NOT_FOUND)] * len(answers)
    assert requests.get(server.url + link["url"], timeout=5).status_code == 200
    # A file not yet sent in a message is its uploader's draft: even the agent holding the chat
    # sees it only once the visitor sends it (test_a_visitor_sends_a_photo_and_a_pdf...).
    assert agent_http.get(url, timeout=5).status_code == 404


def test_an_expired_link_is_not_found(server, chat, monkeypatch):
    answer = uploaded(visitor_upload(server, chat, PDF, "a.pdf"))
    from itsdangerous import URLSafeTimedSerializer
    import time
    signer = URLSafeTimedSerializer("test-secret-key", salt="attachment-link")
    monkeypatch.setattr(time, "time", lambda: 1_000_000_000)           # signed long ago
    old = signer.dumps([answer["attachment_id"], chat["session_id"]])
    monkeypatch.undo()
    response = requests.get(server.url + f"/attachments/{answer['attachment_id']}?token={old}", timeout=5)
    assert (response.status_code, response.json()) == (404, NOT_FOUND)


def test_the_site_admin_form_shows_and_saves_the_allowed_kinds_of_file(own_server):
    live = own_server()
    admin_email, admin_password = "boss@example.com", "boss-password-1"
    from tests.support import create_agent
    create_agent(live, admin_email, "Boss", admin_password, role="admin")
    admin = login(live, admin_email, admin_password)
    page = admin.get(live.url + "/admin/sites/demo", timeout=5).text
    assert 'name="attachment_types" value="pdf" checked' in page
    token = csrf_token(page)
    form = {"csrf_token": token, "name": "Demo shop", "origins": "self", "attachment_types_shown": "1",
            "attachment_types": ["images"], "position": "bottom-right", "routing": "manual"}
    saved = admin.post(live.url + "/admin/sites/demo", data=form, allow_redirects=False, timeout=5)
    assert saved.status_code == 302, saved.text
    page = admin.get(live.url + "/admin/sites/demo", timeout=5).text
    assert 'value="images" checked' in page and 'value="pdf" checked' not in page
    chat = start_chat(live)
    response = visitor_upload(live, chat, PDF, "a.pdf")
    assert response.json()["error"]["message"] == (
        "This kind of file cannot be sent here; you can send images (JPEG, PNG, GIF, WebP).")
    form["attachment_types"] = ["images", "svg"]
    refused = admin.post(live.url + "/admin/sites/demo", data=form, allow_redirects=False, timeout=5)
    assert refused.status_code == 400 and "svg is not a kind of file" in refused.text
