"""Unit tests of chat/attachments.py: what an upload must be to be kept, with real small files
(tests/support/files.py: an SVG with script, HTML renamed .png, an oversized file, a decompression bomb, a
corrupt JPEG, a photo with GPS EXIF), and how messages name attachments."""
import hashlib
import io

import pytest
from PIL import Image
from werkzeug.datastructures import FileStorage

from chat import access, attachments, messages, sessions
from chat.attachment_storage import LocalStorage, storage_for
from chat.attachments import Uploader
from chat.errors import ChatError
from chat.extensions import db
from chat.models import Attachment
from tests.support.files import (
    ACCEPTED, HTML, SVG_WITH_SCRIPT, decompression_bomb_png, gps_exif, image_bytes, jpeg_with_gps, zipped,
)


def upload(data, filename):
    return FileStorage(stream=io.BytesIO(data), filename=filename)


# ---- fixtures ----

@pytest.fixture
def chat(site):
    chat_session, _ = sessions.start_session(site, name="Ann")
    return chat_session


VISITOR = Uploader("visitor", None)


def accept(chat, data, filename, uploader=VISITOR):
    return attachments.accept(upload(data, filename), chat, uploader)


def refusal(chat, data, filename, uploader=VISITOR):
    with pytest.raises(ChatError) as refused:
        accept(chat, data, filename, uploader)
    return refused.value


def stored(attachment, thumbnail=False):
    return attachments.read(attachment, thumbnail)


# ---- the type comes from the content ----

@pytest.mark.parametrize("filename", ACCEPTED)
def test_each_allowed_kind_of_file_is_recognised_from_its_content(chat, filename):
    data, content_type, kind = ACCEPTED[filename]
    attachment = accept(chat, data, "renamed.bin")
    assert (attachment.content_type, attachment.kind) == (content_type, kind)
    assert attachment.name.startswith("renamed.bin.")         # the download opens as what it is
    assert attachment.size == len(stored(attachment))


def test_the_clients_file_name_never_decides_the_type(chat):
    attachment = accept(chat, ACCEPTED["invoice.pdf"][0], "photo.jpg")
    assert (attachment.content_type, attachment.name) == ("application/pdf", "photo.jpg.pdf")


@pytest.mark.parametrize("data, filename", [
    (SVG_WITH_SCRIPT, "drawing.svg"),
    (SVG_WITH_SCRIPT, "drawing.png"),
    (HTML, "page.png"),                                   # HTML renamed .png
    (HTML, "page.html"),
    (b"#!/bin/sh\nrm -rf ~\n", "run.sh"),
    (b"<script>alert(1)</script>", "x.js"),
    (b"MZ\x90\x00\x03" + b"\0" * 200, "setup.exe"),
    (zipped([("readme.txt", "hi")]), "archive.docx"),    # a plain zip is no office document
    (b"just some words", "notes.txt"),
])
def test_text_formats_scripts_and_other_files_are_refused(chat, data, filename):
    error = refusal(chat, data, filename)
    assert error.code == "file_type_not_allowed"
    assert "you can send images (JPEG, PNG, GIF, WebP), PDF documents" in error.message
    assert db.session.query(Attachment).count() == 0


def test_a_site_that_allows_only_images_refuses_a_pdf_and_says_what_it_takes(chat):
    chat.site.attachment_types = "images"
    db.session.commit()
    error = refusal(chat, ACCEPTED["invoice.pdf"][0], "invoice.pdf")
    assert (error.code, error.message) == (
        "file_type_not_allowed", "This kind of file cannot be sent here; you can send images (JPEG, PNG, GIF, WebP).")
    assert accept(chat, ACCEPTED["photo.jpg"][0], "photo.jpg").kind == "image"


def test_a_site_that_allows_nothing_says_so(chat):
    chat.site.attachment_types = ""
    db.session.commit()
    assert refusal(chat, ACCEPTED["photo.jpg"][0], "p.jpg").message == "This website does not accept files."


# ---- size and limits ----

def test_a_file_over_max_upload_mb_is_refused_without_reading_it_whole(app, chat):
    app.config["MAX_UPLOAD_MB"] = 1

    class Endless(io.RawIOBase):
        """A stream that never ends: the cap must stop the read."""
        read_bytes = 0

        def readable(self):
            return True

        def read(self, size=-1):
            size = 65536 if size is None or size < 0 else size
            self.read_bytes += size
            return b"%PDF" + b"\0" * (size - 4)

    stream = Endless()
    with pytest.raises(ChatError) as refused:
        attachments.accept(FileStorage(stream=stream, filename="big.pdf"), chat, VISITOR)
    assert (refused.value.code, refused.value.message) == ("file_too_large", "This file is larger than 1 MB.")
    assert stream.read_bytes <= 1024 * 1024 + attachments.READ_CHUNK


def test_a_file_of_exactly_max_upload_mb_is_accepted(app, chat):
    app.config["MAX_UPLOAD_MB"] = 1
    data = b"%PDF-1.4\n" + b"0" * (1024 * 1024 - 9)
    assert accept(chat, data, "full.pdf").size == 1024 * 1024
    assert refusal(chat, data + b"0", "over.pdf").code == "file_too_large"


def test_an_empty_file_is_refused(chat):
    assert (refusal(chat, b"", "empty.pdf").code, refusal(chat, b"", "e.pdf").message) == (
        "invalid_payload", "This file is empty.")


def test_a_chat_may_upload_so_many_files_an_hour(app, chat):
    app.config["ATTACHMENTS_PER_SESSION_HOUR"] = 2
    accept(chat, ACCEPTED["invoice.pdf"][0], "1.pdf")
    accept(chat, ACCEPTED["invoice.pdf"][0], "2.pdf", Uploader("agent", 1))
    error = refusal(chat, ACCEPTED["invoice.pdf"][0], "3.pdf")
    assert (error.code, error.message) == (
        "upload_limit", "This chat has reached its limit of 2 files (50 MB) an hour; please try again later.")
    other, _ = sessions.start_session(chat.site)
    assert accept(other, ACCEPTED["invoice.pdf"][0], "1.pdf")          # per chat


def test_a_chat_may_upload_so_many_megabytes_an_hour(app, chat):
    app.config["ATTACHMENT_MB_PER_SESSION_HOUR"] = 1
    half = b"%PDF-1.4\n" + b"0" * (600 * 1024)
    accept(chat, half, "1.pdf")
    assert refusal(chat, half, "2.pdf").code == "upload_limit"
    assert accept(chat, ACCEPTED["invoice.pdf"][0], "small.pdf")       # what still fits


def test_an_hour_later_the_chat_may_upload_again(app, chat):
    app.config["ATTACHMENTS_PER_SESSION_HOUR"] = 1
    first = accept(chat, ACCEPTED["invoice.pdf"][0], "1.pdf")
    assert refusal(chat, ACCEPTED["invoice.pdf"][0], "2.pdf").code == "upload_limit"
    first.created_at = first.created_at.replace(year=first.created_at.year - 1)
    db.session.commit()
    assert accept(chat, ACCEPTED["invoice.pdf"][0], "2.pdf")


# ---- images ----

def exif_of(data):
    with Image.open(io.BytesIO(data)) as image:
        return dict(image.getexif()), image.info.get("exif"), image.size


def test_a_photos_gps_exif_is_not_in_the_stored_copy(chat):
    original = jpeg_with_gps()
    assert exif_of(original)[0]                                  # the test's photo has it
    attachment = accept(chat, original, "holiday.jpg")
    tags, raw, size = exif_of(stored(attachment))
    assert tags == {} and not raw
    assert b"PhoneMaker" not in stored(attachment)
    assert (attachment.width, attachment.height, size) == (64, 48, (64, 48))
    assert attachment.sha256 == hashlib.sha256(stored(attachment)).hexdigest()


@pytest.mark.parametrize("image_format", ["PNG", "WEBP"])
def test_exif_is_stripped_from_png_and_webp_too(chat, image_format):
    data = image_bytes(image_format, exif=gps_exif().tobytes())
    assert exif_of(data)[0]
    attachment = accept(chat, data, "x")
    assert exif_of(stored(attachment))[0] == {}
    assert b"PhoneMaker" not in stored(attachment)


def test_the_orientation_is_applied_before_the_exif_goes(chat):
    """A phone's portrait photo is stored landscape pixels + "rotate 90": the copy is upright."""
    attachment = accept(chat, jpeg_with_gps(size=(64, 48), orientation=6), "portrait.jpg")
    assert (attachment.width, attachment.height) == (48, 64)
    assert exif_of(stored(attachment))[2] == (48, 64)


def test_an_image_gets_a_thumbnail_of_at_most_320_pixels(chat):
    attachment = accept(chat, image_bytes("JPEG", size=(1600, 900)), "wide.jpg")
    assert (attachment.has_thumbnail, attachment.thumbnail_type) == (True, "image/jpeg")
    with Image.open(io.BytesIO(stored(attachment, thumbnail=True))) as thumb:
        assert (thumb.format, thumb.size) == ("JPEG", (320, 180))
    assert attachment.to_dict() == {"id": attachment.id, "name": "wide.jpg", "size": attachment.size,
                                    "content_type": "image/jpeg", "kind": "image", "width": 1600, "height": 900,
                                    "thumbnail": True}


def test_a_transparent_images_thumbnail_is_a_png(chat):
    attachment = accept(chat, image_bytes("PNG", size=(400, 400), mode="RGBA", color=(0, 0, 0, 0)), "logo.png")
    assert attachment.thumbnail_type == "image/png"
    with Image.open(io.BytesIO(stored(attachment, thumbnail=True))) as thumb:
        assert (thumb.format, thumb.mode, thumb.size) == ("PNG", "RGBA", (320, 320))


def test_an_animated_gif_keeps_its_frames(chat):
    frames = [Image.new("RGB", (20, 20), color) for color in ("red", "green", "blue")]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    attachment = accept(chat, out.getvalue(), "anim.gif")
    with Image.open(io.BytesIO(stored(attachment))) as image:
        assert image.n_frames == 3


def test_a_phones_mpo_photo_is_kept_as_a_plain_jpeg_of_its_first_picture(chat):
    out = io.BytesIO()
    Image.new("RGB", (64, 48), "red").save(out, "MPO", save_all=True,
                                           append_images=[Image.new("RGB", (32, 24), "blue")])
    with Image.open(io.BytesIO(out.getvalue())) as original:
        assert original.format == "MPO"
    attachment = accept(chat, out.getvalue(), "IMG_0001.JPG")
    with Image.open(io.BytesIO(stored(attachment))) as image:
        assert (attachment.content_type, image.format, image.size) == ("image/jpeg", "JPEG", (64, 48))


def test_a_decompression_bomb_is_refused(chat):
    bomb = decompression_bomb_png()
    assert len(bomb) < 10_000
    error = refusal(chat, bomb, "bomb.png")
    assert error.code == "image_invalid"
    assert db.session.query(Attachment).count() == 0


def test_an_image_just_over_max_image_pixels_is_refused(app, chat):
    app.config["MAX_IMAGE_PIXELS"] = 100 * 100
    assert refusal(chat, image_bytes("PNG", size=(101, 100)), "big.png").code == "image_invalid"
    assert accept(chat, image_bytes("PNG", size=(100, 100)), "ok.png").width == 100


def test_a_corrupt_jpeg_is_refused_with_a_clear_error(chat):
    good = image_bytes("JPEG", size=(300, 300), color="green")
    for corrupt in (good[:len(good) // 2], good[:200] + b"\xff" * 50 + b"\0" * 10):
        error = refusal(chat, corrupt, "broken.jpg")
        assert (error.code, error.message) == (
            "image_invalid", "This image could not be read (it is damaged, or too large to open).")


# ---- names ----

@pytest.mark.parametrize("filename, name", [
    ("C:\\Users\\ann\\Desktop\\photo.jpg", "photo.jpg"),
    ("../../etc/passwd.jpg", "passwd.jpg"),
    ("in\x00voice\x1b[31m.jpg", "invoice[31m.jpg"),
    ("cat\u202egpj.exe", "catgpj.exe.jpg"),                # a right-to-left override disguised "exe.jpg"
    ("", "file.jpg"),
    (None, "file.jpg"),
    ("   ", "file.jpg"),
    ("a" * 300 + ".jpg", "a" * 196 + ".jpg"),
    ("photo.JPEG", "photo.JPEG"),
])
def test_the_display_name_is_safe(filename, name):
    assert attachments.safe_name(filename, "image/jpeg") == name
    assert len(attachments.safe_name(filename, "image/jpeg")) <= 200


# ---- storage ----

def test_local_storage_saves_reads_and_deletes_by_key(tmp_path):
    store = LocalStorage(tmp_path / "files")
    store.save("s1/a1", b"data", "application/pdf")
    store.save("s1/a1/thumb", b"thumb", "image/jpeg")
    assert (store.read("s1/a1"), store.read("s1/a1/thumb")) == (b"data", b"thumb")
    store.delete("s1/a1")
    store.delete("s1/a1/thumb")
    store.delete("s1/a1")                                  # no error when missing
    with pytest.raises(KeyError):
        store.read("s1/a1")
    assert list((tmp_path / "files").iterdir()) == []
    for bad in ("../x", "s1/../../x", "/etc/passwd", "s1/a.b", ""):
        with pytest.raises(ValueError):
            store.save(bad, b"x", "text/plain")


def test_storage_for_picks_the_folder_by_default_and_refuses_an_unknown_location(tmp_path):
    assert isinstance(storage_for({"ATTACHMENT_STORAGE": "", "ATTACHMENT_FOLDER": str(tmp_path)}), LocalStorage)
    with pytest.raises(RuntimeError):
        storage_for({"ATTACHMENT_STORAGE": "ftp://x", "ATTACHMENT_FOLDER": str(tmp_path)})


def test_deleting_a_chats_files_removes_them_from_storage(chat):
    photo = accept(chat, image_bytes("JPEG"), "p.jpg")
    pdf = accept(chat, ACCEPTED["invoice.pdf"][0], "i.pdf")
    assert attachments.delete_files_of([chat.id]) == 2
    for attachment, thumbnail in ((photo, False), (photo, True), (pdf, False)):
        with pytest.raises(ChatError):
            stored(attachment, thumbnail)


# ---- who may attach and fetch (access) ----

def test_who_may_attach_to_a_chat(chat, agents):
    alice, bob, sue = agents
    assert access.visitor_may_attach(chat)
    assert access.may_attach(alice, chat)            # waiting: a note
    sessions.claim_session(chat, alice)
    db.session.refresh(chat)
    assert access.may_attach(alice, chat) and access.may_attach(sue, chat)
    with pytest.raises(ChatError) as refused:
        access.require_attach(bob, chat)
    assert refused.value.code == "session_not_found"
    sessions.end_session(chat, "agent")
    db.session.refresh(chat)
    assert not access.visitor_may_attach(chat)
    with pytest.raises(ChatError) as refused:
        access.require_attach(alice, chat)
    assert refused.value.code == "session_closed"


# ---- the site's allowed kinds of file ----

def test_a_sites_allowed_kinds_are_all_by_default_and_changed_with_its_settings(site):
    from chat import sites
    assert site.attachment_type_list == ["images", "pdf", "office", "audio", "video"]
    sites.update_site(site, site.name, site.origin_list, attachment_types=["video", "images"])
    assert site.attachment_type_list == ["images", "video"]
    sites.update_site(site, site.name, site.origin_list)                 # not given: unchanged
    assert site.attachment_type_list == ["images", "video"]
    sites.update_site(site, site.name, site.origin_list, attachment_types=[])
    assert site.attachment_type_list == []
    with pytest.raises(ChatError) as refused:
        sites.update_site(site, site.name, site.origin_list, attachment_types=["images", "svg"])
    assert refused.value.message == "svg is not a kind of file: choose from images, pdf, office, audio, video."
    db.session.rollback()
    assert site.attachment_type_list == []


# ---- messages that name attachments ----

def say_with_files(chat, ids, text="", client_id="c1"):
    return messages.receive(messages.Inbound(chat.id, text, client_id, sender_name="Ann", attachment_ids=tuple(ids)))


def test_a_message_of_files_lists_them_and_the_chat_list_names_the_first(chat, published):
    photo = accept(chat, jpeg_with_gps(size=(640, 480)), "photo.jpg")
    pdf = accept(chat, ACCEPTED["invoice.pdf"][0], "invoice.pdf")
    message = say_with_files(chat, [photo.id, pdf.id])
    payload = message.to_dict()
    assert payload["text"] == ""
    assert payload["attachments"] == [photo.to_dict(), pdf.to_dict()]
    assert payload["attachments"][0] == {"id": photo.id, "name": "photo.jpg", "size": photo.size,
                                         "content_type": "image/jpeg", "kind": "image", "width": 640,
                                         "height": 480, "thumbnail": True}
    db.session.refresh(chat)
    assert chat.last_message_preview == "📎 photo.jpg (+1)"
    assert [data["last_message"] for kind, event, data, *_ in published if event == "queue_update"] == \
        ["📎 photo.jpg (+1)"] * 2
    # The same message read back (replay, sync, REST, history) carries them too.
    assert messages.after(chat.id)[0].to_dict()["attachments"] == payload["attachments"]
    assert {a.message_id for a in db.session.query(Attachment)} == {message.id}


def test_a_message_with_words_and_a_file_keeps_its_words_as_the_preview(chat):
    photo = accept(chat, image_bytes("PNG"), "p.png")
    say_with_files(chat, [photo.id], text="here it is")
    db.session.refresh(chat)
    assert chat.last_message_preview == "here it is"


def test_a_message_without_files_has_no_attachments_key(chat):
    assert "attachments" not in messages.receive(messages.Inbound(chat.id, "hi", "c1")).to_dict()


def test_resending_the_same_client_id_returns_the_same_message(chat):
    photo = accept(chat, image_bytes("PNG"), "p.png")
    first = say_with_files(chat, [photo.id])
    again = say_with_files(chat, [photo.id])
    assert (again.id, again.to_dict()["attachments"]) == (first.id, first.to_dict()["attachments"])
    db.session.refresh(chat)
    assert chat.last_seq == 1


def refused_message(chat, ids, client_id="c9"):
    with pytest.raises(ChatError) as refused:
        say_with_files(chat, ids, client_id=client_id)
    return refused.value


def test_a_file_can_be_named_by_one_message_only_of_its_own_chat_and_sender(chat, agents):
    photo = accept(chat, image_bytes("PNG"), "p.png")
    say_with_files(chat, [photo.id], client_id="c1")
    expected = ("invalid_payload", "This file could not be found; please attach it again.")
    assert (refused_message(chat, [photo.id]).code, refused_message(chat, [photo.id]).message) == expected
    other, _ = sessions.start_session(chat.site)
    others = accept(other, image_bytes("PNG"), "theirs.png")
    assert refused_message(chat, [others.id]).code == "invalid_payload"           # another chat's
    assert refused_message(chat, ["no-such-file"]).code == "invalid_payload"
    agents_file = accept(chat, image_bytes("PNG"), "agent.png", Uploader("agent", agents[0].id))
    assert refused_message(chat, [agents_file.id]).code == "invalid_payload"      # the agent's, not the visitor's
    mine = accept(chat, image_bytes("PNG"), "mine.png")
    assert refused_message(chat, [mine.id, photo.id]).code == "invalid_payload"   # one bad: none claimed
    assert db.session.get(Attachment, mine.id).message_id is None
    db.session.refresh(chat)
    assert chat.last_seq == 1


def test_an_agent_sends_its_own_files_and_a_note_may_carry_files(chat, agents):
    alice, bob, _ = agents
    sessions.claim_session(chat, alice)
    db.session.refresh(chat)
    reply_file = accept(chat, image_bytes("JPEG"), "reply.jpg", Uploader("agent", alice.id))
    reply = messages.post_agent(chat, alice, "", "a1", [reply_file.id])
    assert reply.to_dict()["attachments"][0]["id"] == reply_file.id
    note_file = accept(chat, ACCEPTED["invoice.pdf"][0], "internal.pdf", Uploader("agent", alice.id))
    note = messages.post_note(chat, alice, "for the team", "n1", [note_file.id])
    assert note.private and note.to_dict()["attachments"][0]["name"] == "internal.pdf"
    db.session.refresh(chat)
    assert chat.last_message_preview == "📎 reply.jpg"                            # a note leaves it alone
    bobs = accept(chat, image_bytes("JPEG"), "bob.jpg", Uploader("agent", bob.id))
    with pytest.raises(ChatError):
        messages.post_agent(chat, alice, "", "a2", [bobs.id])                    # another agent's upload
    # The visitor sees the reply's file, never the note's; nor the agent's draft.
    visible = attachments.visible_to_visitor(chat.id, [reply_file.id, note_file.id, bobs.id])
    assert [attachment.id for attachment in visible] == [reply_file.id]
    found, private = attachments.find(note_file.id)
    assert access.may_fetch(alice, chat, found, private) and not access.visitor_may_fetch(found, private)


def test_the_bot_does_not_answer_a_message_of_files_alone(chat, monkeypatch):
    from chat import bot
    asked = []
    monkeypatch.setattr(bot, "on_visitor_message", asked.append)
    chat.status = "bot"
    db.session.commit()
    photo = accept(chat, image_bytes("PNG"), "p.png")
    say_with_files(chat, [photo.id])
    assert asked == []


def test_files_never_sent_are_deleted_by_the_jobs_after_attachment_draft_hours(app, chat):
    from datetime import timedelta

    from chat import jobs
    from chat.models import utcnow
    sent = accept(chat, image_bytes("PNG"), "sent.png")
    say_with_files(chat, [sent.id])
    draft = accept(chat, image_bytes("PNG"), "draft.png")
    recent = accept(chat, ACCEPTED["invoice.pdf"][0], "recent.pdf")
    for attachment in (sent, draft):
        attachment.created_at -= timedelta(hours=25)
    db.session.commit()
    draft_id, keys = draft.id, (draft.storage_key, draft.thumbnail_key)
    assert jobs.run_jobs(use_lease=False)["delete_unsent_attachments"] == 1
    assert db.session.get(Attachment, draft_id) is None
    for key in keys:
        with pytest.raises(KeyError):
            attachments.storage().read(key)
    assert stored(sent) and stored(recent)
    assert refused_message(chat, [draft_id]).code == "invalid_payload"
    assert jobs.delete_unsent_attachments(utcnow()) == []
