"""The widget's HTTP API. No login: the session key is the credential, sent in
the JSON body or the X-Session-Key header, never in a URL."""
from flask import Blueprint, current_app, jsonify, request

from . import access, attachment_views, attachments, messages, payloads, queue, sessions, validation
from .errors import ChatError, json_error
from .extensions import csrf, db, limiter
from .models import Site
from .origins import any_site_origins, own_origin, request_origin, site_allows_origin
from .realtime import limits

bp = Blueprint("public_api", __name__, url_prefix="/api/v1/chat/public")
csrf.exempt(bp)
# Every endpoint together, per address; /start has a tighter limit of its own as well.
limiter.shared_limit(lambda: current_app.config["PUBLIC_API_LIMIT_PER_IP"], scope="public_api")(bp)


def json_body():
    return validation.require_object(request.get_json(silent=True))


def session_key_from_request(body=None):
    return request.headers.get("X-Session-Key") or (body or {}).get("session_key")


def visitor_session(session_id, body=None):
    """The session the request's key opens, from an origin its site allows."""
    chat_session = limits.find_session_by_key(session_id, session_key_from_request(body))
    require_allowed_origin(chat_session.site)
    return chat_session


def require_allowed_origin(site):
    if not site_allows_origin(site, request_origin()):
        raise ChatError("origin_not_allowed", "This website may not use this chat.")


@bp.after_request
def allow_listed_origins(response):
    """CORS for a site's own pages that call the API directly (never `*`)."""
    origin = request_origin()
    if origin and response.status_code != 403:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Allow-Headers"] = "Content-Type, X-Session-Key"
        response.headers["Access-Control-Allow-Methods"] = "GET, POST"
        response.headers["Vary"] = "Origin"
    return response


@bp.before_request
def refuse_unknown_origins_early():
    """Preflights and requests from origins no site lists stop here."""
    origin = request_origin()
    if origin is None:
        return None
    if origin != own_origin() and origin not in any_site_origins():
        return json_error("origin_not_allowed", "This website may not use this chat.", 403)
    if request.method == "OPTIONS":
        return "", 204
    return None


@bp.post("/start")
@limiter.limit(lambda: current_app.config["START_LIMIT_PER_IP"], override_defaults=False)
def start():
    """Start a chat: `{site_key, name?, email?, page_url?}` -> the session and its key.
    See docs/protocol.md, `POST /start`."""
    body = json_body()
    site_key = validation.string_field(body, "site_key", 64, required=True)
    name = validation.visitor_name(body)
    email = validation.visitor_email(body)
    page_url = validation.page_url(body)
    time_zone = validation.time_zone(body)
    site = db.session.execute(db.select(Site).filter_by(key=site_key)).scalar_one_or_none()
    if site is None:
        raise ChatError("site_not_found", "No site has this key.")
    require_allowed_origin(site)
    started_from = sessions.address_fingerprint(request.remote_addr)
    sessions.refuse_too_many_open_sessions(started_from)
    chat_session, key = sessions.start_session(site, name, email, page_url, started_from=started_from,
                                               time_zone=time_zone)
    return jsonify(payloads.started(chat_session, key)), 201


@bp.get("/status/<session_id>")
def status(session_id):
    """Whether a stored session can be restored, key in X-Session-Key.
    See docs/protocol.md, `GET /status/<session_id>`."""
    chat_session = visitor_session(session_id)
    count_read(chat_session)
    if chat_session.is_open:
        sessions.record_visitor_seen(chat_session.id, page_load=True)
    return jsonify({**payloads.status(chat_session), "queue_position": queue.position_payload(chat_session)})


def count_read(chat_session):
    """Reads of one chat by its visitor: REST and sockets share the count."""
    limits.count_read(("reads", chat_session.id))


@bp.post("/end")
def end():
    """The visitor ends the chat: `{session_id, session_key}`. See docs/protocol.md, `POST /end`."""
    body = json_body()
    chat_session = visitor_session(validation.session_id(body), body)
    chat_session = sessions.end_session(chat_session, "visitor")
    return jsonify({"session_id": chat_session.id, "status": chat_session.status,
                    "message": "Chat session ended."})


@bp.get("/messages/<session_id>")
def read_messages(session_id):
    """Polling fallback: one page of messages after `?after=<seq>` (key in X-Session-Key);
    `has_more` asks the client to fetch the next page.
    See docs/protocol.md, `GET /messages/<session_id>`."""
    after = validation.seq_argument(request.args, "after")
    chat_session = visitor_session(session_id)
    count_read(chat_session)
    sessions.record_visitor_seen(chat_session.id)
    found, has_more, through_seq = messages.page_after(chat_session.id, after, for_visitor=True)
    return jsonify({"messages": [m.to_dict() for m in found], "has_more": has_more, "through_seq": through_seq,
                    "status": chat_session.status, "last_seq": chat_session.last_seq,
                    "queue_position": queue.position_payload(chat_session), **chat_session.status_flags()})


@bp.post("/messages")
def send():
    """Polling fallback: send `{session_id, session_key, text, client_id, button_id?, attachments?}`.
    See docs/protocol.md, `POST /messages`."""
    body = json_body()
    attachment_ids = validation.attachment_ids(body)
    text = validation.message_text(body, required=not attachment_ids)
    client_id = validation.client_id(body)
    button_id = validation.button_id(body)
    chat_session = visitor_session(validation.session_id(body), body)
    # The same counter as the visitor's sockets: REST and sockets together stay under it.
    limits.check("MESSAGE_LIMIT_PER_SESSION", ("session", chat_session.id))
    message = messages.receive(messages.Inbound(chat_session.id, text, client_id,
                                                sender_name=chat_session.visitor.name, button_id=button_id,
                                                attachment_ids=tuple(attachment_ids or ())))
    return jsonify({"ok": True, "message": message.to_dict()}), 201


@bp.post("/attachments")
@limiter.limit(lambda: current_app.config["UPLOAD_LIMIT_PER_IP"], override_defaults=False)
def upload_attachment():
    """The visitor uploads one file (multipart: `file`, `session_id`; key in X-Session-Key) to
    name in a message. See docs/protocol.md, `POST /attachments`."""
    chat_session = visitor_session(validation.session_id(request.form))
    access.require_visitor_attach(chat_session)
    attachment = attachments.accept(attachment_views.uploaded_file(), chat_session,
                                    attachments.Uploader("visitor", chat_session.visitor_id))
    return jsonify(attachment.upload_payload()), 201


@bp.post("/attachments/links")
def attachment_links():
    """Signed links (15 minutes) to files of the visitor's chat: `{session_id, attachment_ids}`,
    key in X-Session-Key. See docs/protocol.md, `POST /attachments/links`."""
    body = json_body()
    ids = validation.attachment_ids(body, "attachment_ids", most=50, required=True)
    try:
        chat_session = visitor_session(validation.session_id(body))
    except ChatError as error:
        if error.code != "session_not_found":
            raise
        raise attachments.not_found() from None       # the same answer as a wrong token
    count_read(chat_session)
    visible = attachments.visible_to_visitor(chat_session.id, ids)
    if not visible:
        raise attachments.not_found()
    return jsonify({"links": {attachment.id: attachments.link(attachment) for attachment in visible}})
