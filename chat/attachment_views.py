"""Attachments over HTTP for agents (the upload under the dashboard's login) and for everyone
the file itself (`GET /attachments/<id>`, `.../thumbnail`): agents by their login, visitors by
a signed link (public_api.attachment_links). Who may is `access`; every refusal is the same
404. See docs/protocol.md, "Attachments"."""
from urllib.parse import quote

from flask import Blueprint, Response, current_app, jsonify, request
from flask_login import current_user

from . import access, attachments, sessions, validation
from .auth import api_login_required
from .extensions import csrf, limiter

bp = Blueprint("attachments", __name__)
AGENT_CACHE_SECONDS = 300


def uploaded_file():
    """The request's one file (multipart field `file`)."""
    upload = request.files.get("file")
    if upload is None or upload.filename is None:
        raise validation.invalid("Please choose a file to send.")
    return upload


@bp.post("/api/v1/agent/attachments")
@csrf.exempt            # checked below, after the login: a logged-out browser hears login_required
@api_login_required
@limiter.limit(lambda: current_app.config["UPLOAD_LIMIT_PER_IP"])
def agent_upload():
    """An agent uploads one file (multipart: `file`, `session_id`) to a chat it may write in or
    note; the CSRF token in X-CSRFToken. See docs/protocol.md, `POST /api/v1/agent/attachments`."""
    csrf.protect()
    chat = access.require_attach(current_user, sessions.find_session(validation.session_id(request.form)))
    attachment = attachments.accept(uploaded_file(), chat, attachments.Uploader("agent", current_user.id))
    return jsonify(attachment.upload_payload()), 201


@bp.get("/attachments/<attachment_id>")
def attachment_file(attachment_id):
    """The file. See docs/protocol.md, `GET /attachments/<id>`."""
    return serve(attachment_id, thumbnail=False)


@bp.get("/attachments/<attachment_id>/thumbnail")
def attachment_thumbnail(attachment_id):
    return serve(attachment_id, thumbnail=True)


def fetchable(attachment_id):
    """(attachment, cache seconds) for this request's token or login, else not_found."""
    token = request.args.get("token")
    if token is not None:
        return attachments.attachment_for_link(attachment_id, token), attachments.LINK_SECONDS
    if current_user.is_authenticated:
        attachment, private = attachments.find(attachment_id)
        if attachment is not None and access.may_fetch(current_user, sessions.find_session(attachment.session_id),
                                                       attachment, private):
            return attachment, AGENT_CACHE_SECONDS
    raise attachments.not_found()


def serve(attachment_id, thumbnail):
    attachment, cache_seconds = fetchable(attachment_id)
    if thumbnail and not attachment.has_thumbnail:
        raise attachments.not_found()
    data = attachments.read(attachment, thumbnail)
    content_type = attachment.thumbnail_type if thumbnail else attachment.content_type
    response = Response(data, mimetype=content_type)
    inline = thumbnail or attachments.is_inline(attachment.content_type)
    response.headers["Content-Disposition"] = disposition("inline" if inline else "attachment", attachment.name)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "sandbox; default-src 'none'"
    response.headers["Cross-Origin-Resource-Policy"] = "same-origin"
    response.headers["Cache-Control"] = f"private, max-age={cache_seconds}"
    # The stored bytes never change: their hash is the ETag (a 304 for a copy the browser has),
    # and a media player's Range request gets its part (206).
    response.set_etag(attachment.sha256 + ("-thumbnail" if thumbnail else ""))
    return response.make_conditional(request, accept_ranges=True, complete_length=len(data))


def disposition(kind, name):
    """`kind; filename="..."; filename*=UTF-8''...`: an ASCII fallback and the real name."""
    fallback = "".join(char if 32 <= ord(char) < 127 and char not in '"\\' else "_" for char in name)
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


# ---- reading an upload without holding the event loop ----

UPLOAD_PATHS = ("/api/v1/chat/public/attachments", "/api/v1/agent/attachments")
PACE_BYTES = 256 * 1024


class PacedInput:
    """An upload's request body that lets the other tasks run after every PACE_BYTES read: on
    loopback a 10 MB body is all there at once, and its multipart parsing (werkzeug) would
    otherwise hold the event loop for its whole length."""

    def __init__(self, stream, pause):
        self.stream, self.pause, self.unpaused = stream, pause, 0

    def _paced(self, data):
        self.unpaused += len(data)
        if self.unpaused >= PACE_BYTES:
            self.unpaused = 0
            self.pause()
        return data

    def read(self, *args):
        return self._paced(self.stream.read(*args))

    def readline(self, *args):
        return self._paced(self.stream.readline(*args))

    def __iter__(self):
        return iter(self.readline, b"")


def pace_upload_reads(app, socketio):
    """Wrap the app so the bodies of the upload endpoints are read at a pace (PacedInput)."""
    inner = app.wsgi_app

    def paced(environ, start_response):
        if environ.get("REQUEST_METHOD") == "POST" and environ.get("PATH_INFO") in UPLOAD_PATHS:
            environ["wsgi.input"] = PacedInput(environ["wsgi.input"], lambda: socketio.sleep(0))
        return inner(environ, start_response)
    app.wsgi_app = paced
