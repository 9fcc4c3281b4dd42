"""The widget's HTTP API. No login: the session key is the credential, sent in
the JSON body or the X-Session-Key header, never in a URL."""
from flask import Blueprint, current_app, jsonify, request

from . import (
    access, attachment_views, attachments, conversations, messages, payloads, queue, sessions, validation,
    visitor_identity,
)
from .errors import ChatError, json_error
from .extensions import csrf, db, limiter
from .models import Site, Visitor
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


def visitor_token_from_request():
    return request.headers.get("X-Visitor-Token")


def visitor_session(session_id, body=None):
    """The session the request's key (or its visitor's token) opens, from an origin its site allows."""
    key = session_key_from_request(body)
    chat_session = limits.find_session_by_key(session_id, key, None if key else visitor_token_from_request())
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
        response.headers["Access-Control-Allow-Headers"] = "Content-Type, X-Session-Key, X-Visitor-Token"
        response.headers["Access-Control-Allow-Methods"] = "GET, POST, PATCH, DELETE"
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
    site = site_from(body)
    name, email = validation.visitor_name(body), validation.visitor_email(body)
    page_url, time_zone = validation.page_url(body), validation.time_zone(body)
    started_from = address_that_may_start()
    chat_session, key = sessions.start_session(site, name, email, page_url, started_from=started_from,
                                               time_zone=time_zone)
    return jsonify(payloads.started(chat_session, key)), 201


def site_from(body):
    """The site named by `site_key`, which the request's origin may use."""
    site_key = validation.string_field(body, "site_key", 64, required=True)
    site = db.session.execute(db.select(Site).filter_by(key=site_key)).scalar_one_or_none()
    if site is None:
        raise ChatError("site_not_found", "No site has this key.")
    require_allowed_origin(site)
    return site


def address_that_may_start():
    """The keyed address a chat starts from, once it may start one more (MAX_OPEN_SESSIONS_PER_IP)."""
    started_from = sessions.address_fingerprint(request.remote_addr)
    sessions.refuse_too_many_open_sessions(started_from)
    return started_from


# ---- a visitor's conversations (seed 003), the visitor token in X-Visitor-Token ----

@bp.get("/conversations")
def list_conversations():
    """The conversations of this browser's visitor on `?site_key=`, newest first.
    See docs/protocol.md, `GET /conversations`."""
    site = site_from(request.args)
    visitor = visitor_identity.require_visitor(visitor_token_from_request(), site)
    return jsonify({"visitor": visitor_identity.visitor_payload(visitor),
                    "conversations": conversations.payloads(conversations.listed(visitor))})


@bp.post("/conversations")
@limiter.limit(lambda: current_app.config["START_LIMIT_PER_IP"], override_defaults=False)
def create_conversation():
    """A new conversation `{site_key, title?, name?, email?, page_url?, time_zone?}` for this
    browser's visitor, or for a new one whose token the answer holds (the only answer that does).
    See docs/protocol.md, `POST /conversations`."""
    body = json_body()
    site = site_from(body)
    title = validation.string_field(body, "title", conversations.TITLE_MAX)
    name, email = validation.visitor_name(body), validation.visitor_email(body)
    page_url, time_zone = validation.page_url(body), validation.time_zone(body)
    started_from = address_that_may_start()
    token = visitor_token_from_request()
    new_token = None
    if token:
        visitor = visitor_identity.require_visitor(token, site)
        visitor.name = name or visitor.name
        visitor.email = email or visitor.email
        visitor.time_zone = time_zone or visitor.time_zone
    else:
        visitor = Visitor(site_id=site.id, name=name, email=email, time_zone=time_zone)
        new_token = visitor_identity.issue_token(visitor)
    chat_session, key = conversations.start(site, visitor, title=title, page_url=page_url,
                                            started_from=started_from, time_zone=time_zone)
    answer = {**payloads.started(chat_session, key), "conversation": conversations.one_payload(chat_session)}
    if new_token:
        answer["visitor_token"] = new_token
    return jsonify(answer), 201


def visitors_conversation(session_id):
    """One conversation of the visitor whose token the request holds, from an allowed origin."""
    chat_session = limits.find_session_by_key(session_id, None, visitor_token_from_request())
    require_allowed_origin(chat_session.site)
    return chat_session


@bp.get("/conversations/<session_id>")
def get_conversation(session_id):
    """One conversation with its first page of messages (`?after=<seq>` for the next).
    See docs/protocol.md, `GET /conversations/<id>`."""
    after = validation.seq_argument(request.args, "after")
    chat_session = visitors_conversation(session_id)
    count_read(chat_session)
    found, has_more, through_seq = messages.page_after(chat_session.id, after, for_visitor=True)
    return jsonify({"conversation": conversations.one_payload(chat_session),
                    "messages": [m.to_dict() for m in found], "has_more": has_more, "through_seq": through_seq})


@bp.patch("/conversations/<session_id>")
def rename_conversation(session_id):
    """`{title}`: the visitor renames the conversation. See docs/protocol.md, `PATCH /conversations/<id>`."""
    body = json_body()
    chat_session = visitors_conversation(session_id)
    conversations.rename(chat_session, body.get("title"))
    return jsonify({"conversation": conversations.one_payload(chat_session)})


@bp.post("/conversations/<session_id>/read")
def read_conversation(session_id):
    """`{seq}`: the visitor has seen the conversation through `seq` (its unread count).
    See docs/protocol.md, `POST /conversations/<id>/read`."""
    body = json_body()
    seq = validation.last_seq(body, "seq")
    chat_session = visitors_conversation(session_id)
    conversations.mark_read(chat_session, seq)
    return jsonify({"ok": True})


@bp.delete("/conversations/<session_id>")
def close_conversation(session_id):
    """The visitor closes the conversation: an open chat ends; it leaves the visitor's list.
    See docs/protocol.md, `DELETE /conversations/<id>`."""
    chat_session = conversations.close(visitors_conversation(session_id))
    return jsonify({"conversation": conversations.one_payload(chat_session)})


@bp.post("/identify")
def identify():
    """`{site_key, user_id, user_hash, name?, email?}`: this browser's visitor is the site's
    logged-in user (`ChatWidget.setUser`); the answer's token replaces the browser's.
    See docs/protocol.md, `POST /identify`."""
    body = json_body()
    site = site_from(body)
    user_id = validation.string_field(body, "user_id", visitor_identity.USER_ID_LENGTH, required=True)
    claimed_hash = validation.string_field(body, "user_hash", 64, required=True)
    name, email = validation.visitor_name(body), validation.visitor_email(body)
    visitor, token = visitor_identity.identify(site, user_id, claimed_hash, visitor_token_from_request(),
                                               name=name, email=email)
    return jsonify({"visitor_token": token, "visitor": visitor_identity.visitor_payload(visitor)})


@bp.post("/forget")
def forget():
    """This browser forgets its visitor (`ChatWidget.reset()`): its token stops working.
    See docs/protocol.md, `POST /forget`."""
    visitor_identity.forget(visitor_token_from_request())
    return "", 204


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
