"""A local stand-in for WhatsApp's Cloud API (Graph) and for a customer's phone, over HTTP, for
tests and the development phone page (chat/dev_phone.py mounts `create_app` in development).

The Graph side, with or without a version prefix (/v21.0/...), Bearer token required:
- POST /{phone_number_id}/messages: a send is checked as Meta checks it (sizes, button counts, a
  known media id or template), recorded for the phone, answered with a wamid; then, unless told
  otherwise, signed `sent` and `delivered` status webhooks follow. A read receipt with a typing
  indicator ({status: read, message_id}) is recorded apart (`typing`).
- POST /{phone_number_id}/media (multipart upload), GET /{media_id} (its url, sha256 hex, size)
  and GET that url (the bytes, with the token);
- GET /{phone_number_id} (display number and verified name), GET /{waba_id}/message_templates.

The phone side (no token; what the development page and live tests play):
- POST /_phone/{wa_id}/send {text} | {button_id, title} | {image: base64, mime_type, caption}
  (also document/audio/video, with `filename`; {raw: {...}} for any message shape) -> the
  webhook Meta would send (fixture shapes), signed with the app secret, POSTed to the webhook
  URL; answers {id, webhook_status};
- GET /_phone/{wa_id}/messages?after=N -> what the business sent that phone:
  [{n, id, type, text, buttons, list, media_url, filename, template, status, error}];
- POST /_phone/{wa_id}/read -> `read` statuses for everything the phone has not read yet;
- GET /_phone/media/{media_id} -> the bytes of a file the business sent (for the page).

Controls (attributes of FakeState in-process, or POST /_control with the same names):
`fail_rate` (a fraction of sends answered 500 or 429/130429), `status_delay` (seconds before
each status webhook), `fail_next` (Graph error codes the next sends are refused with, one
each), `closed_windows` (wa_ids whose sends are accepted and then fail with 131047, as Meta
does when the 24-hour window has closed), `auto_statuses`, `webhook_url`, `app_secret`.
"""
import base64
import hashlib
import hmac
import json
import queue
import random
import re
import threading
import time
import uuid
from dataclasses import dataclass, field

import requests
from flask import Flask, Response, jsonify, request
from werkzeug.serving import make_server

VERSION_PREFIX = re.compile(r"^/v\d+(\.\d+)?(?=/)")
PLACEHOLDER = re.compile(r"\{\{\s*(\d+)\s*\}\}")
DEFAULT_TEMPLATES = [
    {"name": "hello_again", "language": "en_US", "category": "UTILITY", "status": "APPROVED",
     "components": [{"type": "BODY", "text": "Hello {{1}}, this is {{2}} from our team following up on your "
                                             "question. Reply to continue the conversation."}]},
    {"name": "chat_closed_notice", "language": "en_US", "category": "UTILITY", "status": "APPROVED",
     "components": [{"type": "HEADER", "format": "TEXT", "text": "Support"},
                    {"type": "BODY", "text": "We are still here if you need us. Reply to reopen your chat."}]},
    {"name": "spring_sale", "language": "en_US", "category": "MARKETING", "status": "REJECTED",
     "components": [{"type": "BODY", "text": "Everything is 20% off!"}]},
]


@dataclass
class FakeState:
    """What the fake knows: its account, what it was sent, and how it should misbehave."""
    phone_number_id: str = "109876543210"
    display_phone_number: str = "+1 555-010-0000"
    verified_name: str = "Demo Shop"
    waba_id: str = "102030405060"
    app_secret: str = "fake-app-secret"
    access_token: str | None = None            # None: any Bearer token is taken
    webhook_url: str | None = None
    templates: list = field(default_factory=lambda: json.loads(json.dumps(DEFAULT_TEMPLATES)))
    fail_rate: float = 0.0
    status_delay: float = 0.0
    media_delay: float = 0.0                   # seconds before a file's bytes are served
    fail_next: list = field(default_factory=list)
    closed_windows: set = field(default_factory=set)
    auto_statuses: bool = True
    webhook_retry_seconds: float = 30.0

    def __post_init__(self):
        self.lock = threading.Lock()
        self.sent = []               # records of what the business sent, in order (n from 1)
        self.typing = []             # message ids marked read with a typing indicator
        self.media = {}              # media id -> (bytes, mime type, filename)
        self.webhooks = []           # (body, status) of every webhook posted
        self.outbox = queue.Queue()  # status webhooks waiting to be posted
        self.poster = None

    def next_id(self, prefix):
        return f"{prefix}.{uuid.uuid4().hex[:24].upper()}"

    def record(self, to, kind, **fields):
        with self.lock:
            entry = {"n": len(self.sent) + 1, "id": self.next_id("wamid.OUT"), "to": to, "type": kind,
                     "text": "", "buttons": [], "list": False, "media_url": None, "filename": None,
                     "template": None, "status": "accepted", "error": None, **fields}
            self.sent.append(entry)
            return entry

    # -- webhooks --

    def envelope(self, value):
        return {"object": "whatsapp_business_account", "entry": [{"id": self.waba_id, "changes": [{
            "field": "messages", "value": {"messaging_product": "whatsapp",
                                           "metadata": {"display_phone_number": digits(self.display_phone_number),
                                                        "phone_number_id": self.phone_number_id},
                                           **value}}]}]}

    def signed(self, payload):
        body = json.dumps(payload).encode()
        signature = hmac.new(self.app_secret.encode(), body, hashlib.sha256).hexdigest()
        return body, {"Content-Type": "application/json", "X-Hub-Signature-256": f"sha256={signature}"}

    def post_webhook(self, payload):
        """POST a webhook now; its HTTP status (0: not reachable)."""
        if not self.webhook_url:
            return 0
        body, headers = self.signed(payload)
        try:
            status = requests.post(self.webhook_url, data=body, headers=headers, timeout=10).status_code
        except requests.RequestException:
            status = 0
        self.webhooks.append((payload, status))
        return status

    def status_later(self, entry, status, delay, errors=None):
        """A status webhook for a sent message, after `delay` seconds, retried as Meta retries."""
        item = {"id": entry["id"], "status": status, "timestamp": str(int(time.time())), "recipient_id": entry["to"]}
        if status in ("sent", "delivered"):
            item["pricing"] = {"billable": False, "pricing_model": "PMP", "type": "free_customer_service",
                               "category": "service"}
        if errors:
            item["errors"] = errors
        self.outbox.put((time.monotonic() + delay, entry, status, self.envelope({"statuses": [item]})))
        with self.lock:
            if self.poster is None or not self.poster.is_alive():
                self.poster = threading.Thread(target=self.post_statuses, daemon=True)
                self.poster.start()

    def post_statuses(self):
        while True:
            not_before, entry, status, payload = self.outbox.get()
            time.sleep(max(0.0, not_before - time.monotonic()))
            entry["status"] = status if entry["status"] != "read" or status == "failed" else entry["status"]
            deadline, pause = time.monotonic() + self.webhook_retry_seconds, 0.1
            while self.webhook_url and self.post_webhook(payload) != 200 and time.monotonic() < deadline:
                time.sleep(pause)
                pause = min(pause * 2, 2.0)


def digits(number):
    return re.sub(r"\D", "", number)


def graph_error(code, message, http_status=400, details=None):
    response = jsonify({"error": {"message": message, "type": "OAuthException", "code": code,
                                  "error_data": {"messaging_product": "whatsapp", "details": details or message},
                                  "fbtrace_id": uuid.uuid4().hex[:12]}})
    response.status_code = http_status
    return response


class Refused(Exception):
    def __init__(self, code, message, http_status=400):
        super().__init__(message)
        self.code, self.message, self.http_status = code, message, http_status


class StripVersion:
    """/v21.0/{id}/messages and /{id}/messages are the same call."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        environ["PATH_INFO"] = VERSION_PREFIX.sub("", environ.get("PATH_INFO", ""), count=1)
        return self.app(environ, start_response)


def create_app(state):
    """The fake as a WSGI app over `state` (a FakeState)."""
    app = Flask("fake_whatsapp")
    app.wsgi_app = StripVersion(app.wsgi_app)

    @app.errorhandler(Refused)
    def refused(error):
        return graph_error(error.code, error.message, error.http_status)

    def require_token():
        given = request.headers.get("Authorization", "")
        if not given.startswith("Bearer ") or not given[7:] or (state.access_token and given[7:] != state.access_token):
            raise Refused(190, "Invalid OAuth access token - Cannot parse access token", 401)

    def own_number(phone_number_id):
        if phone_number_id != state.phone_number_id:
            raise Refused(100, f"Unsupported post request. Object with ID '{phone_number_id}' does not exist.")

    @app.post("/<phone_number_id>/messages")
    def send(phone_number_id):
        require_token()
        own_number(phone_number_id)
        body = request.get_json(silent=True) or {}
        if body.get("messaging_product") != "whatsapp":
            raise Refused(100, "The parameter messaging_product is required.")
        if body.get("status") == "read":
            state.typing.append({"message_id": body.get("message_id"), "typing": body.get("typing_indicator")})
            return jsonify({"success": True})
        if state.fail_next:
            code = state.fail_next.pop(0)
            raise Refused(code, f"Failure {code} asked for by the test", 429 if code == 130429 else 400)
        if state.fail_rate and random.random() < state.fail_rate:
            if random.random() < 0.5:
                return graph_error(131000, "Something went wrong", 500)
            return graph_error(130429, "Rate limit hit", 429)
        entry = state.record(str(body.get("to") or ""), body.get("type"), **content_of(state, body))
        if not entry["to"]:
            raise Refused(100, "The parameter to is required.")
        if state.auto_statuses:
            if entry["to"] in state.closed_windows:
                state.status_later(entry, "failed", state.status_delay, errors=[{
                    "code": 131047, "title": "Re-engagement message", "message": "Re-engagement message",
                    "error_data": {"details": "Message failed to send because more than 24 hours have passed "
                                              "since the customer last replied to this number."}}])
            else:
                state.status_later(entry, "sent", state.status_delay)
                state.status_later(entry, "delivered", state.status_delay)
        return jsonify({"messaging_product": "whatsapp", "contacts": [{"input": entry["to"], "wa_id": entry["to"]}],
                        "messages": [{"id": entry["id"], "message_status": "accepted"}]})

    @app.post("/<phone_number_id>/media")
    def upload(phone_number_id):
        require_token()
        own_number(phone_number_id)
        upload = request.files.get("file")
        if request.form.get("messaging_product") != "whatsapp" or upload is None:
            raise Refused(100, "Upload needs messaging_product=whatsapp and a file.")
        media_id = str(random.randrange(10**15, 10**16))
        data = upload.read()
        state.media[media_id] = (data, request.form.get("type") or upload.mimetype, upload.filename)
        return jsonify({"id": media_id})

    @app.get("/<object_id>")
    def describe(object_id):
        require_token()
        if object_id == state.phone_number_id:
            return jsonify({"display_phone_number": state.display_phone_number, "verified_name": state.verified_name,
                            "id": state.phone_number_id})
        if object_id in state.media:
            data, mime_type, _ = state.media[object_id]
            return jsonify({"messaging_product": "whatsapp", "id": object_id, "mime_type": mime_type,
                            "sha256": hashlib.sha256(data).hexdigest(), "file_size": len(data),
                            "url": f"{request.host_url.rstrip('/')}{request.script_root}/_media/{object_id}"})
        raise Refused(100, f"Unsupported get request. Object with ID '{object_id}' does not exist.")

    @app.get("/_media/<media_id>")
    def media_bytes(media_id):
        require_token()
        if media_id not in state.media:
            return "Not found", 404
        data, mime_type, _ = state.media[media_id]
        time.sleep(state.media_delay)
        return Response(data, mimetype=mime_type)

    @app.get("/<waba_id>/message_templates")
    def templates(waba_id):
        require_token()
        if waba_id != state.waba_id:
            raise Refused(100, f"Unsupported get request. Object with ID '{waba_id}' does not exist.")
        wanted = request.args.get("status")
        found = [dict(t, id=str(100 + n)) for n, t in enumerate(state.templates)
                 if not wanted or t["status"] in wanted.split(",")]
        return jsonify({"data": found, "paging": {"cursors": {"before": "MAZDZD", "after": "MjQZD"}}})

    # ---- the phone ----

    @app.post("/_phone/<wa_id>/send")
    def phone_send(wa_id):
        given = request.get_json(silent=True) or {}
        if not state.webhook_url:
            return jsonify({"error": "No webhook URL is set (POST /_control {webhook_url})."}), 409
        message = phone_message(state, wa_id, given)
        name = given.get("name") or f"Customer {wa_id[-4:]}"
        status = state.post_webhook(state.envelope({
            "contacts": [{"profile": {"name": name}, "wa_id": wa_id}], "messages": [message]}))
        return jsonify({"id": message["id"], "webhook_status": status}), 200 if status == 200 else 502

    @app.get("/_phone/<wa_id>/messages")
    def phone_messages(wa_id):
        after = request.args.get("after", 0, type=int)
        with state.lock:
            found = [dict(entry, media_url=entry["media_url"] and f"{request.script_root}{entry['media_url']}")
                     for entry in state.sent if entry["to"] == wa_id and entry["n"] > after]
        return jsonify({"messages": found})

    @app.post("/_phone/<wa_id>/read")
    def phone_read(wa_id):
        unread = [entry for entry in state.sent if entry["to"] == wa_id and entry["status"] in ("sent", "delivered")]
        for entry in unread:
            entry["status"] = "read"
            state.status_later(entry, "read", 0)
        return jsonify({"read": len(unread)})

    @app.get("/_phone/media/<media_id>")
    def phone_media(media_id):
        if media_id not in state.media:
            return "Not found", 404
        data, mime_type, _ = state.media[media_id]
        return Response(data, mimetype=mime_type)

    @app.route("/_control", methods=["GET", "POST"])
    def control():
        if request.method == "POST":
            for name, value in (request.get_json(silent=True) or {}).items():
                if name in ("fail_rate", "status_delay", "media_delay", "fail_next", "auto_statuses", "webhook_url", "app_secret"):
                    setattr(state, name, value)
                elif name == "closed_windows":
                    state.closed_windows = set(value)
        return jsonify({"phone_number_id": state.phone_number_id, "waba_id": state.waba_id,
                        "webhook_url": state.webhook_url, "fail_rate": state.fail_rate,
                        "closed_windows": sorted(state.closed_windows), "sent": state.sent})

    return app


def content_of(state, body):
    """What the phone shows of a send, after checking it as Meta does (Refused otherwise)."""
    kind = body.get("type")
    content = body.get(kind) if isinstance(body.get(kind), dict) else None
    if content is None:
        raise Refused(100, f"Param {kind} is required for type {kind}.")
    if kind == "text":
        text = content.get("body") or ""
        if not text.strip() or len(text) > 4096:
            raise Refused(131009, "Parameter value is not valid: text.body must be 1 to 4096 characters.")
        return {"text": text}
    if kind == "interactive":
        return interactive_content(content)
    if kind in ("image", "document", "audio", "video"):
        media_id = content.get("id")
        if media_id not in state.media:
            raise Refused(131053, "Media upload error: unknown media id.")
        if len(content.get("caption") or "") > 1024:
            raise Refused(131009, "Parameter value is not valid: caption is longer than 1024 characters.")
        return {"text": content.get("caption") or "", "media_url": f"/_phone/media/{media_id}",
                "filename": content.get("filename") or state.media[media_id][2]}
    if kind == "template":
        return template_content(state, content)
    raise Refused(100, f"Invalid parameter: type {kind} is not supported by the fake.")


def interactive_content(content):
    text = (content.get("body") or {}).get("text") or ""
    if not text or len(text) > 1024:
        raise Refused(131009, "Parameter value is not valid: body.text must be 1 to 1024 characters.")
    action = content.get("action") or {}
    if content.get("type") == "button":
        buttons = [b.get("reply") or {} for b in action.get("buttons") or ()]
        titles = [b.get("title") or "" for b in buttons]
        if not 1 <= len(buttons) <= 3 or any(not t or len(t) > 20 for t in titles) or len(set(titles)) < len(titles):
            raise Refused(131009, "Parameter value is not valid: 1 to 3 buttons, unique titles of 1 to 20 characters.")
        return {"text": text, "buttons": [{"id": b["id"], "title": b["title"]} for b in buttons]}
    if content.get("type") == "list":
        rows = [row for section in action.get("sections") or () for row in section.get("rows") or ()]
        if not action.get("button") or not 1 <= len(rows) <= 10 or any(len(r.get("title") or "") > 24 for r in rows):
            raise Refused(131009, "Parameter value is not valid: a list of 1 to 10 rows, titles up to 24 characters.")
        return {"text": text, "list": True, "buttons": [{"id": r["id"], "title": r["title"]} for r in rows]}
    raise Refused(131009, "Parameter value is not valid: interactive type.")


def template_content(state, content):
    name, language = content.get("name"), (content.get("language") or {}).get("code")
    template = next((t for t in state.templates if t["name"] == name and t["language"] == language
                     and t["status"] == "APPROVED"), None)
    if template is None:
        raise Refused(132001, "Template name does not exist in the translation")
    body = next((c["text"] for c in template["components"] if c["type"] == "BODY"), "")
    params = [p.get("text") for c in content.get("components") or () if c.get("type") == "body"
              for p in c.get("parameters") or ()]
    if len(params) != len(set(PLACEHOLDER.findall(body))):
        raise Refused(132000, "Number of parameters does not match the expected number of params")
    text = PLACEHOLDER.sub(lambda m: params[int(m.group(1)) - 1], body)
    return {"text": text, "template": {"name": name, "language": language, "params": params}}


def phone_message(state, wa_id, given):
    """The `messages[0]` of the webhook for what the phone sends (research §1.4 shapes)."""
    message = {"from": wa_id, "id": state.next_id("wamid.IN"), "timestamp": str(int(time.time()))}
    if "raw" in given:
        return {**message, **given["raw"]}
    if given.get("button_id"):
        replied = last_with_button(state, wa_id, given["button_id"])
        title = given.get("title") or next((b["title"] for b in (replied or {}).get("buttons", ())
                                            if b["id"] == given["button_id"]), given["button_id"])
        if replied is not None:
            message["context"] = {"from": digits(state.display_phone_number), "id": replied["id"]}
        if replied is not None and replied["template"]:
            return {**message, "type": "button", "button": {"payload": given["button_id"], "text": title}}
        kind = "list_reply" if replied is not None and replied["list"] else "button_reply"
        return {**message, "type": "interactive",
                "interactive": {"type": kind, kind: {"id": given["button_id"], "title": title}}}
    for kind in ("image", "document", "audio", "video"):
        if given.get(kind):
            data = base64.b64decode(given[kind])
            media_id = str(random.randrange(10**15, 10**16))
            state.media[media_id] = (data, given.get("mime_type") or "application/octet-stream", given.get("filename"))
            item = {"mime_type": state.media[media_id][1], "id": media_id,
                    "sha256": base64.b64encode(hashlib.sha256(data).digest()).decode()}
            if given.get("caption") and kind != "audio":
                item["caption"] = given["caption"]
            if kind == "document":
                item["filename"] = given.get("filename") or "file"
            return {**message, "type": kind, kind: item}
    return {**message, "type": "text", "text": {"body": given.get("text") or ""}}


def last_with_button(state, wa_id, button_id):
    for entry in reversed(state.sent):
        if entry["to"] == wa_id and any(b["id"] == button_id for b in entry["buttons"]):
            return entry
    return None


class FakeWhatsApp:
    """The fake on a free local port, in a thread: `api_base` is what an account's --api-base takes."""

    def __init__(self, **settings):
        from tests.support.server import free_port
        self.state = FakeState(**settings)
        self.server = make_server("127.0.0.1", free_port(), create_app(self.state), threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.api_base = f"{self.url}/v21.0"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def send_from_phone(self, wa_id, **message):
        """The customer sends: {text} | {button_id[, title]} | {image: base64, mime_type, caption} | {raw}."""
        return requests.post(f"{self.url}/_phone/{wa_id}/send", json=message, timeout=10).json()

    def phone_messages(self, wa_id, after=0):
        return requests.get(f"{self.url}/_phone/{wa_id}/messages", params={"after": after}, timeout=10).json()["messages"]

    def read_on_phone(self, wa_id):
        return requests.post(f"{self.url}/_phone/{wa_id}/read", timeout=10).json()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
