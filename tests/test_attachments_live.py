"""Attachments against a live server: uploads by a visitor and an agent, the files served with
their headers, signed links, and the same "not found" for everyone who may not have a file.
See docs/protocol.md, "Attachments"."""
import io
import time
import uuid

import pytest
import requests
from itsdangerous import URLSafeTimedSerializer
from PIL import Image

from chat import attachments
from tests.support import (
    add_site_and_agent,
    connect_agent,
    connect_visitor,
    create_agent,
    csrf_token,
    login,
    start_chat,
    stored_messages,
)
from tests.support.files import (
    ACCEPTED,
    HTML,
    SVG_WITH_SCRIPT,
    decompression_bomb_png,
    jpeg_with_gps,
)

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
    assert (response.status_code, response.json()["error"]["code"]) == (401, "login_required")
    response = agent_http.post(server.url + "/api/v1/agent/attachments", data={"session_id": chat["session_id"]},
                               files={"file": ("a.pdf", PDF)}, timeout=5)          # logged in, no CSRF token
    assert (response.status_code, response.json()["error"]["code"]) == (400, "csrf_failed")


def test_uploads_are_rate_limited_per_address(own_server):
    live = own_server(UPLOAD_LIMIT_PER_IP="2 per minute")
    chat = start_chat(live)
    assert [visitor_upload(live, chat, PDF, "a.pdf").status_code for _ in range(3)] == [201, 201, 429]
    assert visitor_upload(live, chat, PDF, "a.pdf").json()["error"]["code"] == "rate_limited"


def test_a_chat_has_an_hourly_limit_of_files(own_server):
    live = own_server(ATTACHMENTS_PER_SESSION_HOUR=2)
    chat = start_chat(live)
    assert [visitor_upload(live, chat, PDF, "a.pdf").status_code for _ in range(3)] == [201, 201, 429]
    refused = visitor_upload(live, chat, PDF, "a.pdf")
    assert refused.json()["error"]["code"] == "upload_limit"
    assert 3500 <= int(refused.headers["Retry-After"]) <= 3600


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
    part = requests.get(server.url + link["url"], headers={"Range": "bytes=0-7"}, timeout=5)
    assert (part.status_code, part.content) == (206, PDF[:8])
    again = requests.get(server.url + link["url"], headers={"If-None-Match": response.headers["ETag"]}, timeout=5)
    assert again.status_code == 304


def test_several_photos_uploaded_at_once_are_all_kept(server, chat):
    """Images are worked on two at a time per process, in OS threads: the others wait their turn."""
    from concurrent.futures import ThreadPoolExecutor
    photos = [jpeg_with_gps(size=(1200 + n, 900)) for n in range(6)]
    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(lambda n: visitor_upload(server, chat, photos[n], f"p{n}.jpg"), range(6)))
    assert [(answer.status_code, answer.json()["width"]) for answer in answers] == [
        (201, 1200 + n) for n in range(6)]


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
    add_site_and_agent(server, "files-elsewhere", "files-elsewhere@example.com", "elsewhere-password")
    outsider = login(server, "files-elsewhere@example.com", "elsewhere-password")
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


def signed_ago(monkeypatch, payload, seconds_ago):
    """A link token as the server signs it, made `seconds_ago`."""
    signer = URLSafeTimedSerializer("test-secret-key", salt="attachment-link")
    monkeypatch.setattr(time, "time", lambda now=time.time(): now - seconds_ago)
    token = signer.dumps(payload)
    monkeypatch.undo()
    return token


def test_a_link_opens_its_file_for_the_lifetime_signed_into_it_only(server, chat, monkeypatch):
    answer = uploaded(visitor_upload(server, chat, PDF, "a.pdf"))
    ids, url = [answer["attachment_id"], chat["session_id"]], server.url + f"/attachments/{answer['attachment_id']}"
    widget_link, phone_link = [*ids, attachments.LINK_SECONDS], [*ids, attachments.PHONE_LINK_SECONDS]
    opened = {
        "widget link, 16 minutes old": signed_ago(monkeypatch, widget_link, 16 * 60),
        "phone link, 16 minutes old": signed_ago(monkeypatch, phone_link, 16 * 60),
        "phone link, 8 days old": signed_ago(monkeypatch, phone_link, 8 * 24 * 3600),
        "phone link claiming a year": signed_ago(monkeypatch, [*ids, 365 * 24 * 3600], 8 * 24 * 3600),
        "a token of another shape": signed_ago(monkeypatch, ids, 60),
    }
    answers = {what: requests.get(url + f"?token={token}", timeout=5).status_code for what, token in opened.items()}
    assert answers == {"widget link, 16 minutes old": 404, "phone link, 16 minutes old": 200,
                       "phone link, 8 days old": 404, "phone link claiming a year": 404,
                       "a token of another shape": 404}


def test_the_site_admin_form_shows_and_saves_the_allowed_kinds_of_file(own_server):
    live = own_server()
    admin_email, admin_password = "boss@example.com", "boss-password-1"
    create_agent(live, admin_email, "Boss", admin_password, role="admin")
    admin = login(live, admin_email, admin_password)
    page = admin.get(live.url + "/admin/sites/demo", timeout=5).text
    assert 'name="attachment_types" value="pdf" checked' in page
    listing = admin.get(live.url + "/admin/sites", timeout=5)
    assert listing.status_code == 200 and 'name="attachment_types" value="video" checked' in listing.text
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


# ---- messages with files, everywhere a message appears ----

def test_a_visitor_sends_a_photo_and_a_pdf_the_agent_replies_with_an_image_and_both_still_see_them(
        server, agent_http, clients):
    chat, agent = claimed_chat(server, agent_http, clients)
    session_id = chat["session_id"]
    agent.call("join_session", {"session_id": session_id})
    visitor = connect_visitor(server, chat)
    clients.append(visitor)
    photo = uploaded(visitor_upload(server, chat, jpeg_with_gps(size=(640, 480)), "photo.jpg"))
    pdf = uploaded(visitor_upload(server, chat, PDF, "invoice.pdf"))
    sent = visitor.call("send_message", {"text": "", "client_id": "v-files",
                                         "attachments": [photo["attachment_id"], pdf["attachment_id"]]})
    assert sent["ok"], sent
    assert [(item["name"], item["kind"], item["thumbnail"]) for item in sent["message"]["attachments"]] == [
        ("photo.jpg", "image", True), ("invoice.pdf", "document", False)]
    assert sent["message"]["attachments"][0]["width"] == 640 and "width" not in sent["message"]["attachments"][1]
    live = agent.wait_for("message", lambda message: message.get("client_id") == "v-files")
    assert live["attachments"] == sent["message"]["attachments"]
    assert agent.wait_for("queue_update", lambda data: data.get("last_message") == "📎 photo.jpg (+1)")
    # The agent holding the chat fetches both; a thumbnail for the photo.
    assert agent_http.get(server.url + f"/attachments/{pdf['attachment_id']}", timeout=5).content == PDF
    thumb = agent_http.get(server.url + f"/attachments/{photo['attachment_id']}/thumbnail", timeout=5)
    assert (thumb.status_code, thumb.headers["Content-Type"]) == (200, "image/jpeg")
    # Another agent of the site, who cannot see this chat, gets the one "not found".
    second = login(server, "second@example.com", "second-password")
    response = second.get(server.url + f"/attachments/{pdf['attachment_id']}", timeout=5)
    assert (response.status_code, response.json()) == (404, NOT_FOUND)
    # The same client_id again: the same message.
    again = visitor.call("send_message", {"text": "", "client_id": "v-files",
                                          "attachments": [photo["attachment_id"], pdf["attachment_id"]]})
    assert again["message"]["id"] == sent["message"]["id"]
    # The agent replies with an image of its own.
    reply_file = uploaded(agent_upload(server, agent_http, session_id, ACCEPTED["shot.png"][0], "answer.png"))
    reply = agent.call("send_message", {"session_id": session_id, "text": "Like this?", "client_id": "a-reply",
                                        "attachments": [reply_file["attachment_id"]]})
    assert reply["ok"], reply
    shown = visitor.wait_for("message", lambda message: message.get("client_id") == "a-reply")
    assert shown["attachments"][0]["name"] == "answer.png"
    link = links(server, chat, [reply_file["attachment_id"]]).json()["links"][reply_file["attachment_id"]]
    assert requests.get(server.url + link["url"], timeout=5).headers["Content-Type"] == "image/png"
    # After a reload: the REST fallback, the dashboard's chat window and the transcript hold all three.
    with_files = [message for message in stored_messages(server, chat) if message.get("attachments")]
    assert [[item["name"] for item in message["attachments"]] for message in with_files] == [
        ["photo.jpg", "invoice.pdf"], ["answer.png"]]
    window = agent_http.get(server.url + f"/dashboard/sessions/{session_id}", timeout=5).text
    transcript = agent_http.get(server.url + f"/history/{session_id}", timeout=5).text
    for page in (window, transcript):
        for item in (photo, pdf, reply_file):
            assert item["attachment_id"] in page
    export = agent_http.get(server.url + "/history.csv", timeout=5).text.splitlines()
    header = export[0].split(",")
    row = next(line.split(",") for line in export if session_id in line)
    assert row[header.index("attachment_count")] == "3"


def test_the_rest_fallback_sends_a_message_of_files(server, chat):
    from tests.support import stored_messages
    pdf = uploaded(visitor_upload(server, chat, PDF, "form.pdf"))
    response = requests.post(server.api("/messages"), json={
        "session_id": chat["session_id"], "text": "", "client_id": "rest-1", "attachments": [pdf["attachment_id"]]},
        headers={"X-Session-Key": chat["session_key"]}, timeout=5)
    assert response.status_code == 201, response.text
    assert response.json()["message"]["attachments"][0]["name"] == "form.pdf"
    assert stored_messages(server, chat)[-1]["attachments"][0]["id"] == pdf["attachment_id"]
    again = requests.post(server.api("/messages"), json={
        "session_id": chat["session_id"], "text": "", "client_id": "rest-2", "attachments": [pdf["attachment_id"]]},
        headers={"X-Session-Key": chat["session_key"]}, timeout=5)
    assert again.status_code == 400
    assert again.json()["error"] == {"code": "invalid_payload",
                                     "message": "This file could not be found; please attach it again."}
    empty = requests.post(server.api("/messages"), json={
        "session_id": chat["session_id"], "text": "", "client_id": "rest-3"},
        headers={"X-Session-Key": chat["session_key"]}, timeout=5)
    assert (empty.status_code, empty.json()["error"]["message"]) == (400, "Please enter a message.")


def test_a_private_notes_file_never_reaches_the_visitor(server, agent_http, clients):
    chat, agent = claimed_chat(server, agent_http, clients)
    session_id = chat["session_id"]
    visitor = connect_visitor(server, chat)
    clients.append(visitor)
    note_file = uploaded(agent_upload(server, agent_http, session_id, PDF, "internal.pdf"))
    note = agent.call("send_message", {"session_id": session_id, "text": "", "client_id": "note-1",
                                       "private": True, "attachments": [note_file["attachment_id"]]})
    assert note["ok"] and note["message"]["private"] and note["message"]["attachments"][0]["name"] == "internal.pdf"
    after = agent.call("send_message", {"session_id": session_id, "text": "public", "client_id": "after-note"})
    visitor.wait_for("message", lambda message: message.get("client_id") == "after-note")
    assert all(message.get("client_id") != "note-1" for message in visitor.messages())
    assert all(not message.get("attachments") for message in stored_messages(server, chat))
    assert after["ok"]
    response = links(server, chat, [note_file["attachment_id"]])
    assert (response.status_code, response.json()) == (404, NOT_FOUND)
    assert agent_http.get(server.url + f"/attachments/{note_file['attachment_id']}", timeout=5).content == PDF
