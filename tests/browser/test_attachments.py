"""Files in a chat, in the browser: the visitor attaches a photo (the paperclip) and a PDF (dropped
on the chat), the agent sees a thumbnail and a card and answers with a pasted image; after a
reload both still see all three. A file the server refuses stays as a chip with its sentence and a
Retry button; Send waits while an upload runs."""
import base64
import io
import re
from pathlib import Path

import pytest
import requests
from PIL import Image
from playwright.sync_api import expect

from tests.browser.pages import (
    PHONE_OPTIONS, expect_live, mine_item, open_session, start_accepted_chat, unique_name,
    wait_until_dashboard_loaded,
)
from tests.browser.test_supervisor_view import open_pane, open_supervisor_view
from tests.support import connect_visitor, start_chat

PHOTO = "shelf photo.jpg"
PDF = "invoice-2291.pdf"
REPLY_IMAGE = "image.png"


def photo_bytes(width=640, height=480, colour=(180, 120, 60), kind="JPEG"):
    """A real image (the server decides the type from the content)."""
    image = Image.new("RGB", (width, height), colour)
    for x in range(0, width, 40):             # some detail, so it is not one flat colour
        for y in range(height):
            image.putpixel((x, y), (20, 40, 90))
    out = io.BytesIO()
    image.save(out, kind)
    return out.getvalue()


def pdf_bytes():
    """A small, well-formed PDF of one empty page."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>"]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


# Files made in the page (a drop, a paste): a DataTransfer holding one File.
DROP = """(area, file) => {
    const bytes = Uint8Array.from(atob(file.data), c => c.charCodeAt(0));
    const data = new DataTransfer();
    data.items.add(new File([bytes], file.name, {type: file.type}));
    for (const type of ["dragenter", "dragover", "drop"]) {
        area.dispatchEvent(new DragEvent(type, {dataTransfer: data, bubbles: true, cancelable: true}));
    }
}"""
PASTE = """(box, file) => {
    const bytes = Uint8Array.from(atob(file.data), c => c.charCodeAt(0));
    const data = new DataTransfer();
    data.items.add(new File([bytes], file.name, {type: file.type}));
    box.dispatchEvent(new ClipboardEvent("paste", {clipboardData: data, bubbles: true, cancelable: true}));
}"""


def in_page(name, data, content_type):
    return {"name": name, "data": base64.b64encode(data).decode(), "type": content_type}


def chips(scope):
    return scope.locator("#uploadTray .upload-chip")


def expect_ready(scope, names):
    expect(chips(scope).locator(".upload-name")).to_have_text(names)
    expect(chips(scope).locator(".upload-state")).to_have_text(["Ready"] * len(names))


def expect_thumbnail(message, name):
    """An image shown from its thumbnail, loaded (not a broken image)."""
    image = message.locator(".attachment-image img")
    expect(image).to_have_attribute("alt", name)
    expect(image).to_be_visible()
    # The widget's img has its size before its src (the signed link comes a moment later): wait
    # for the picture itself, which a broken or empty image never has.
    expect(image).not_to_have_js_property("naturalWidth", 0)


def expect_card(message, name, meta):
    card = message.locator(".attachment-file")
    expect(card.locator(".attachment-name")).to_have_text(name)
    expect(card.locator(".attachment-meta")).to_have_text(meta)
    expect(card).to_have_attribute("href", re.compile(r"/attachments/[0-9a-f-]+"))


def message_with(scope, text):
    return scope.locator("#messages .message:not(.pending)").filter(has_text=text)


def files_only(scope, sender):
    """The stored message of files only from `sender_type` (no line of text)."""
    return scope.locator(f"#messages .message.message-{sender}:not(.pending):not(:has(.message-text))")


def expect_all_three(widget, dashboard):
    for scope in (widget, dashboard):
        sent = message_with(scope, "Here is the shelf and the invoice")
        expect_thumbnail(sent, PHOTO)
        expect_card(sent, PDF, re.compile(r"^PDF document · \d+ KB$"))
        expect_thumbnail(files_only(scope, "agent"), REPLY_IMAGE)


def reload_both(visitor_page, agent_page, name):
    """Both sides reload: the widget reopened and live, the agent's chat with `name` open again."""
    visitor_page.reload()
    visitor_page.locator("#cc-chat-launcher").click()
    widget = visitor_page.frame_locator("#cc-chat-frame")
    expect_live(widget)
    agent_page.reload()
    wait_until_dashboard_loaded(agent_page)
    open_session(agent_page, mine_item(agent_page, name))
    return widget


def test_files_go_both_ways_and_stay_after_a_reload(server, visitor_page, agent_page):
    name = unique_name("Iris")
    widget = start_accepted_chat(server, visitor_page, agent_page, name)

    # The visitor: a photo through the paperclip, a PDF dropped on the chat.
    widget.locator("#composer .attach-input").set_input_files(
        files=[{"name": PHOTO, "mimeType": "image/jpeg", "buffer": photo_bytes()}])
    widget.locator("#chatView").evaluate(DROP, in_page(PDF, pdf_bytes(), "application/pdf"))
    expect_ready(widget, [PHOTO, PDF])
    expect(widget.locator("#sendButton")).to_be_enabled()
    widget.locator("#messageInput").fill("Here is the shelf and the invoice")
    widget.locator("#sendButton").click()
    expect(chips(widget)).to_have_count(0)
    expect(widget.locator("#uploadTray")).to_be_hidden()

    sent = message_with(agent_page, "Here is the shelf and the invoice")
    expect_thumbnail(sent, PHOTO)
    expect_card(sent, PDF, re.compile(r"^PDF document · \d+ KB$"))
    expect_thumbnail(message_with(widget, "Here is the shelf and the invoice"), PHOTO)

    # The agent: an image pasted in the reply box, sent with no text.
    agent_page.locator("#messageInput").evaluate(
        PASTE, in_page(REPLY_IMAGE, photo_bytes(300, 500, (30, 140, 90), "PNG"), "image/png"))
    expect_ready(agent_page, [REPLY_IMAGE])
    agent_page.locator("#messageInput").press("Enter")
    expect_thumbnail(files_only(widget, "agent"), REPLY_IMAGE)
    expect_all_three(widget, agent_page)

    # The full image opens in a new tab, from a link asked for at the click.
    with visitor_page.context.expect_page() as opened:
        widget.locator("#messages .attachment-image").first.click()
    tab = opened.value
    tab.wait_for_url(re.compile(r"/attachments/[0-9a-f-]+\?token="))
    tab.wait_for_load_state()
    assert tab.evaluate("() => document.images.length === 1 && document.images[0].naturalWidth === 640")
    tab.close()

    # The PDF downloads, under its name, from a link asked for at the click.
    with visitor_page.expect_download() as downloading:
        widget.locator("#messages .attachment-file").first.click()
    assert downloading.value.suggested_filename == PDF
    assert Path(downloading.value.path()).read_bytes() == pdf_bytes()
    with agent_page.expect_download() as downloading:
        agent_page.locator("#messages .attachment-file").first.click()
    assert downloading.value.suggested_filename == PDF

    # A link that no longer works (expired after 15 minutes): the widget asks for a new one.
    thumbnail = files_only(widget, "agent").locator(".attachment-image img")
    thumbnail.evaluate("img => { img.src = img.src.replace(/token=[^&]+/, 'token=expired'); }")
    expect(thumbnail).not_to_have_attribute("src", re.compile("token=expired"))
    expect_thumbnail(files_only(widget, "agent"), REPLY_IMAGE)

    link_requests = []
    visitor_page.on("request", lambda request: "/attachments/links" in request.url and link_requests.append(request))
    widget = reload_both(visitor_page, agent_page, name)
    expect_all_three(widget, agent_page)
    assert len(link_requests) == 1          # the restored conversation's three files in one request


def test_a_refused_file_says_why_and_can_be_retried_or_removed(server, visitor_page, agent_page):
    widget = start_accepted_chat(server, visitor_page, agent_page, unique_name("Olu"))
    too_big = b"%PDF-1.4\n" + b"0" * (10 * 1024 * 1024 + 10)
    widget.locator("#composer .attach-input").set_input_files(
        files=[{"name": "scan.pdf", "mimeType": "application/pdf", "buffer": too_big}])
    chip = chips(widget)
    expect(chip).to_have_attribute("data-state", "failed")
    expect(chip.locator(".upload-error")).to_have_text("This file is larger than 10 MB.")
    retry = chip.get_by_role("button", name="Retry uploading scan.pdf")
    expect(retry).to_be_visible()
    retry.click()                                   # the same answer again
    expect(chip).to_have_attribute("data-state", "failed")
    expect(chip.locator(".upload-error")).to_have_text("This file is larger than 10 MB.")
    # Nothing to send: the failed file is not sent, Send does nothing without text.
    widget.locator("#sendButton").click()
    expect(widget.locator("#messages .message.pending")).to_have_count(0)
    chip.get_by_role("button", name="Remove scan.pdf").click()
    expect(chips(widget)).to_have_count(0)
    expect(widget.locator("#messageInput")).to_be_focused()


def test_send_waits_for_an_upload_and_the_bar_shows_its_progress(server, visitor_page, agent_page):
    widget = start_accepted_chat(server, visitor_page, agent_page, unique_name("Ada"))
    network = visitor_page.context.new_cdp_session(visitor_page)
    network.send("Network.enable")
    network.send("Network.emulateNetworkConditions", {"offline": False, "latency": 20,
                                                       "downloadThroughput": -1, "uploadThroughput": 300 * 1024})
    widget.locator("#composer .attach-input").set_input_files(
        files=[{"name": "big photo.jpg", "mimeType": "image/jpeg", "buffer": photo_bytes(2400, 1800) + b"\0" * 900_000}])
    chip = chips(widget)
    expect(chip).to_have_attribute("data-state", "uploading")
    expect(chip.locator(".upload-progress")).to_be_visible()
    expect(widget.locator("#sendButton")).to_be_disabled()
    widget.locator("#messageInput").fill("Wait for it")
    widget.locator("#messageInput").press("Enter")          # Enter waits too
    expect(widget.locator("#messageInput")).to_have_value("Wait for it")
    widget.locator("#uploadTray").wait_for()
    widget.locator(".upload-chip").evaluate(
        "chip => new Promise(done => { const bar = chip.querySelector('progress');"
        " const look = () => bar.value > 0 ? done() : setTimeout(look, 20); look(); })")
    network.send("Network.emulateNetworkConditions", {"offline": False, "latency": 0,
                                                       "downloadThroughput": -1, "uploadThroughput": -1})
    expect(chip).to_have_attribute("data-state", "done")
    expect(widget.locator("#sendButton")).to_be_enabled()
    widget.locator("#sendButton").click()
    expect_thumbnail(message_with(agent_page, "Wait for it"), "big photo.jpg")


@pytest.fixture
def phone_context(browser):
    context = browser.new_context(**PHONE_OPTIONS)
    yield context
    context.close()


def test_on_a_phone_chips_wrap_and_thumbnails_fit(server, phone_context, new_page, agent_page):
    visitor = new_page(phone_context)
    widget = start_accepted_chat(server, visitor, agent_page, unique_name("Kai"))
    names = [f"a rather long file name for a phone screen {n}.png" for n in range(3)]
    widget.locator("#composer .attach-input").set_input_files(files=[
        {"name": name, "mimeType": "image/png", "buffer": photo_bytes(1600, 900, kind="PNG")} for name in names])
    expect_ready(widget, names)
    width = visitor.viewport_size["width"]
    for box in chips(widget).evaluate_all("items => items.map(item => item.getBoundingClientRect().toJSON())"):
        assert box["right"] <= width, box
    widget.locator("#sendButton").click()
    sent = files_only(widget, "visitor")
    expect(sent.locator(".attachment-image img")).to_have_count(3)
    for box in sent.locator(".attachment-image img").evaluate_all(
            "items => items.map(item => item.getBoundingClientRect().toJSON())"):
        assert box["right"] <= width and box["width"] > 40, box
    assert widget.locator("body").evaluate(
        "body => document.scrollingElement.scrollWidth <= document.scrollingElement.clientWidth")


def test_a_supervisor_pane_shows_the_files_and_attaches_to_a_note(server, new_page, clients):
    """A visitor's PDF (sent over the socket) in a supervisor's pane; the supervisor's note with an
    image (the paperclip); the transcript page draws both."""
    name = unique_name("Noor")
    chat = start_chat(server, name=name)
    visitor = connect_visitor(server, chat)
    clients.append(visitor)
    upload = requests.post(server.api("/attachments"), data={"session_id": chat["session_id"]},
                           files={"file": (PDF, pdf_bytes(), "application/pdf")},
                           headers={"X-Session-Key": chat["session_key"]}, timeout=10)
    assert upload.status_code == 201, upload.text
    assert visitor.call("send_message", {"text": "", "client_id": "pdf-1",
                                         "attachments": [upload.json()["attachment_id"]]})["ok"]

    page = open_supervisor_view(new_page(), server)
    shown = open_pane(page, name)
    expect_card(shown.locator(".message-visitor"), PDF, re.compile(r"^PDF document · \d+ KB$"))
    shown.locator(".pane-note").check()
    shown.locator(".attach-input").set_input_files(
        files=[{"name": "label.png", "mimeType": "image/png", "buffer": photo_bytes(120, 80, kind="PNG")}])
    expect(shown.locator(".upload-chip .upload-state")).to_have_text(["Ready"])
    shown.locator(".pane-input").fill("Label for the return")
    shown.get_by_role("button", name="Send").click()
    note = shown.locator(".message.note:not(.pending)").filter(has_text="Label for the return")
    expect_thumbnail(note, "label.png")
    expect(shown.locator(".upload-chip")).to_have_count(0)

    page.goto(server.url + "/history/" + chat["session_id"])
    expect_card(page.locator("#messages .message-visitor"), PDF, re.compile(r"^PDF document · \d+ KB$"))
    expect_thumbnail(page.locator("#messages .message.note"), "label.png")


def test_finished_uploads_outlive_a_reload_on_both_sides(server, visitor_page, agent_page):
    name = unique_name("Lea")
    widget = start_accepted_chat(server, visitor_page, agent_page, name)
    widget.locator("#composer .attach-input").set_input_files(
        files=[{"name": "receipt.pdf", "mimeType": "application/pdf", "buffer": pdf_bytes()}])
    agent_page.locator("#composer .attach-input").set_input_files(
        files=[{"name": "map.png", "mimeType": "image/png", "buffer": photo_bytes(200, 100, kind="PNG")}])
    expect_ready(widget, ["receipt.pdf"])
    expect_ready(agent_page, ["map.png"])

    widget = reload_both(visitor_page, agent_page, name)
    expect_ready(widget, ["receipt.pdf"])
    expect_ready(agent_page, ["map.png"])

    widget.locator("#sendButton").click()
    agent_page.locator("#sendButton").click()
    for scope in (widget, agent_page):
        expect_card(files_only(scope, "visitor"), "receipt.pdf", re.compile(r"^PDF document · \d+ KB$"))
        expect_thumbnail(files_only(scope, "agent"), "map.png")
        expect(chips(scope)).to_have_count(0)


def test_the_keyboard_attaches_and_a_file_name_stays_text(server, visitor_page, agent_page):
    widget = start_accepted_chat(server, visitor_page, agent_page, unique_name("Sam"))
    tricky = '<img src=x onerror=alert(1)>"quote".pdf'
    # The paperclip is a button in the tab order, named for screen readers; Enter opens the picker.
    widget.locator("#messageInput").focus()
    widget.locator("#messageInput").press("Shift+Tab")
    expect(widget.get_by_role("button", name="Attach files")).to_be_focused()
    # Enter on it opens the file input's picker (headless Chromium shows a picker opened from a
    # key only now and then, so the test sees the input's click, then gives it the file).
    picker = widget.locator(".attach-input")
    picker.evaluate("input => input.addEventListener('click', () => { document.body.dataset.pickerOpened = 'yes'; })")
    visitor_page.keyboard.press("Enter")
    expect(widget.locator("body")).to_have_attribute("data-picker-opened", "yes")
    picker.set_input_files(files=[{"name": tricky, "mimeType": "application/pdf", "buffer": pdf_bytes()}])
    expect(chips(widget).locator(".upload-state")).to_have_text(["Ready"])
    widget.locator("#messageInput").press("Enter")           # files alone are a message
    for scope in (widget, agent_page):
        card = files_only(scope, "visitor").locator(".attachment-file")
        expect(card.locator(".attachment-name")).to_have_text(re.compile(r"^<img src=x onerror=alert\(1\)>"))
        expect(card.locator("img")).to_have_count(0)
    assert visitor_page.dialogs == [] and agent_page.dialogs == []
