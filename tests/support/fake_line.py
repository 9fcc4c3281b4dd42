"""A local stand-in for the LINE Messaging API, for tests and the development phone page
(CHAT_ENV=development mounts `create_app` under /dev/fake/line). It answers what chat/channels/
line.py calls, shaped as LINE's documentation shows (research §2), and plays customers' phones:

- the API (Bearer channel access token): POST /v2/bot/message/reply (single-use reply tokens that
  the phone's events carry, good for `reply_token_seconds`), POST /v2/bot/message/push (with
  X-Line-Retry-Key: a key already accepted answers 409 and is not delivered twice), GET
  /v2/bot/message/{id}/content (and /content/transcoding), GET /v2/bot/profile/{userId}, GET
  /v2/bot/info, POST /v2/bot/chat/loading/start;
- the phone: POST /_phone/{user_id}/send {"text"} | {"image": base64, "mime_type", "caption"?} |
  {"postback": data} (optional "name": the profile's display name; a caption is a text event
  after the image, LINE images having none) builds the webhook events from
  tests/fixtures/line/, signs it with the channel secret and POSTs it to the webhook URL;
  GET /_phone/{user_id}/messages?after=N lists what the business sent that phone
  [{n, id, type, text, buttons, media_url, status, via, sender}]; POST /_phone/{user_id}/read marks
  them read (LINE tells the business nothing); POST /_phone/{user_id}/follow {"unblocked"} and
  /_phone/{user_id}/unfollow;
- controls: `fail_rate` (that share of sends answered 500 or 429 at random), `fail_next` (the
  statuses the next sends get, in order), `accept_then_fail` (sends taken and delivered, then
  answered 500 as if the answer were lost); POST /_control sets them over HTTP.

A phone id that is not a LINE user id ("U" and 32 hex digits) stands for the one `user_id_of` makes.
"""
import base64
import copy
import hashlib
import hmac
import json
import random
import re
import threading
import time
import uuid
from pathlib import Path

import requests
from flask import Flask, jsonify, request
from werkzeug.serving import make_server

from tests.support.server import free_port

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "line"
BOT_USER_ID = "U0123456789abcdef0123456789abcdef"
USER_ID = re.compile(r"^U[0-9a-f]{32}$")
AUTH_FAILED = "Authentication failed. Confirm that the access token in the authorization header is valid."


def user_id_of(phone_id):
    """A LINE-shaped user id for any phone id the development page picks."""
    return phone_id if USER_ID.match(phone_id) else "U" + hashlib.md5(phone_id.encode()).hexdigest()


def signature(secret, body):
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def fixture_event(name):
    return copy.deepcopy(json.loads((FIXTURES / f"{name}.json").read_text())["events"][0])


class FakeLineState:
    """What the fake knows and records; tests read and set it directly."""

    def __init__(self, channel_secret="fake-line-channel-secret", access_token="fake-line-access-token",
                 webhook_url=None, bot_user_id=BOT_USER_ID, display_name="Demo Shop", reply_token_seconds=60):
        self.channel_secret, self.access_token, self.webhook_url = channel_secret, access_token, webhook_url
        self.bot_user_id, self.display_name, self.reply_token_seconds = bot_user_id, display_name, reply_token_seconds
        self.lock = threading.RLock()
        self.random = random.Random(16)
        self.fail_rate = 0.0
        self.fail_next = []            # HTTP statuses for the next sends, in order
        self.accept_then_fail = 0      # sends delivered, then answered 500
        self.calls = []                # every API request: {"method", "path", "body", "retry_key"}
        self.sent = []                 # sends LINE accepted: {"via", "to", "messages", "retry_key"}
        self.retry_keys = set()
        self.reply_tokens = {}         # token -> [user_id, issued (monotonic), used]
        self.contents = {}             # content id -> (bytes, content type)
        self.profiles = {}             # user id -> display name
        self.loading = []              # {"chatId", "loadingSeconds"}
        self.phones = {}               # user id -> [what the business sent that phone]
        self.webhooks = []             # {"body", "signature", "status"} posted to the webhook

    def sends(self, via=None, to=None):
        with self.lock:
            return [send for send in self.sent if (via is None or send["via"] == via) and (to is None or send["to"] == to)]

    def deliver(self, via, to, objects, retry_key=None):
        """A send LINE accepted: recorded, and each of its messages shown on the phone."""
        with self.lock:
            self.sent.append({"via": via, "to": to, "messages": objects, "retry_key": retry_key})
            thread = self.phones.setdefault(to, [])
            ids = []
            for item in objects:
                message_id = str(self.random.randrange(10 ** 17, 10 ** 18))
                ids.append(message_id)
                quick = (item.get("quickReply") or {}).get("items") or []
                thread.append({
                    "n": len(thread) + 1, "id": message_id, "type": item["type"], "text": item.get("text"),
                    "buttons": [{"id": entry["action"].get("data"), "title": entry["action"].get("label")}
                                for entry in quick],
                    "media_url": item.get("originalContentUrl"), "preview_url": item.get("previewImageUrl"),
                    "status": "sent", "via": via, "sender": (item.get("sender") or {}).get("name")})
            return ids

    def injected_failure(self):
        """The status a send is answered with instead of being taken, or None."""
        with self.lock:
            if self.fail_next:
                return self.fail_next.pop(0)
            if self.fail_rate and self.random.random() < self.fail_rate:
                return self.random.choice((500, 429))
            return None

    def new_reply_token(self, user_id):
        token = uuid.uuid4().hex
        with self.lock:
            self.reply_tokens[token] = [user_id, time.monotonic(), False]
        return token

    def use_reply_token(self, token):
        """The user a reply token was issued for, once, while it is fresh; else None."""
        with self.lock:
            found = self.reply_tokens.get(token)
            if (found is None or found[2] or time.monotonic() - found[1] > self.reply_token_seconds):
                return None
            found[2] = True
            return found[0]

    def expire_reply_tokens(self):
        with self.lock:
            for found in self.reply_tokens.values():
                found[1] -= self.reply_token_seconds + 1


def problems_of(objects):
    """What LINE would refuse in a request's messages (a few of its rules)."""
    if not isinstance(objects, list) or not 1 <= len(objects) <= 5:
        return ["messages: 1 to 5 messages"]
    problems = []
    for n, item in enumerate(objects):
        where = f"messages[{n}]"
        if not isinstance(item, dict) or item.get("type") not in ("text", "image"):
            problems.append(f"{where}.type: text or image")
            continue
        if item["type"] == "text" and not 1 <= len(item.get("text") or "") <= 5000:
            problems.append(f"{where}.text: 1 to 5000 characters")
        if item["type"] == "image":
            for key in ("originalContentUrl", "previewImageUrl"):
                if not str(item.get(key) or "").startswith(("https://", "http://")):
                    problems.append(f"{where}.{key}: an https URL")
        items = (item.get("quickReply") or {}).get("items")
        if items is not None and not 1 <= len(items) <= 13:
            problems.append(f"{where}.quickReply.items: 1 to 13 items")
        for entry in items or []:
            action = entry.get("action") or {}
            if action.get("type") != "postback" or not 1 <= len(action.get("label") or "") <= 20 \
                    or not 1 <= len(action.get("data") or "") <= 300:
                problems.append(f"{where}.quickReply: postback actions with a label (1-20) and data (1-300)")
        name = (item.get("sender") or {}).get("name")
        if name is not None and (not 1 <= len(name) <= 20 or "line" in name.lower()):
            problems.append(f"{where}.sender.name: 1 to 20 characters, without LINE")
    return problems


def refusal(status, message, details=None):
    body = {"message": message}
    if details:
        body["details"] = [{"message": text, "property": text.split(":")[0]} for text in details]
    return jsonify(body), status


def create_app(state):
    """The fake as a WSGI app over `state` (a FakeLineState)."""
    app = Flask(__name__)

    @app.before_request
    def check_token():
        if request.path.startswith("/v2/"):
            with state.lock:
                state.calls.append({"method": request.method, "path": request.path,
                                    "body": request.get_json(silent=True),
                                    "retry_key": request.headers.get("X-Line-Retry-Key")})
            if request.headers.get("Authorization") != f"Bearer {state.access_token}":
                return refusal(401, AUTH_FAILED)
        return None

    def failed_send():
        status = state.injected_failure()
        if status == 429:
            return refusal(429, "Too many requests")
        if status:
            return refusal(status, "An error occurred in the backend server.")
        return None

    @app.post("/v2/bot/message/reply")
    def reply():
        body = request.get_json(silent=True) or {}
        problems = problems_of(body.get("messages"))
        if problems:
            return refusal(400, "The request body has 1 error(s)", problems)
        injected = failed_send()
        if injected:
            return injected
        user_id = state.use_reply_token(body.get("replyToken"))
        if user_id is None:
            return refusal(400, "Invalid reply token")
        ids = state.deliver("reply", user_id, body["messages"])
        return answer_sent(ids)

    @app.post("/v2/bot/message/push")
    def push():
        body = request.get_json(silent=True) or {}
        retry_key = request.headers.get("X-Line-Retry-Key")
        problems = problems_of(body.get("messages"))
        if not isinstance(body.get("to"), str) or not USER_ID.match(body["to"]):
            problems.append("to: a user id")
        if retry_key is not None:
            try:
                uuid.UUID(retry_key)
            except ValueError:
                problems.append("X-Line-Retry-Key: a UUID")
        if problems:
            return refusal(400, "The request body has 1 error(s)", problems)
        with state.lock:
            if retry_key in state.retry_keys:
                response, status = refusal(409, "The retry key is already accepted")
                response.headers["X-Line-Accepted-Request-Id"] = str(uuid.uuid5(uuid.NAMESPACE_URL, retry_key))
                return response, status
            injected = failed_send()
            if injected:
                return injected
            if retry_key is not None:
                state.retry_keys.add(retry_key)
            ids = state.deliver("push", body["to"], body["messages"], retry_key)
        return answer_sent(ids)

    def answer_sent(ids):
        with state.lock:
            if state.accept_then_fail:
                state.accept_then_fail -= 1
                return refusal(500, "An error occurred in the backend server.")
        return jsonify({"sentMessages": [{"id": message_id, "quoteToken": uuid.uuid4().hex} for message_id in ids]})

    @app.get("/v2/bot/message/<content_id>/content")
    def content(content_id):
        found = state.contents.get(content_id)
        if found is None:
            return refusal(404, "Not found")
        return found[0], 200, {"Content-Type": found[1]}

    @app.get("/v2/bot/message/<content_id>/content/transcoding")
    def transcoding(content_id):
        return (jsonify({"status": "succeeded"}) if content_id in state.contents else refusal(404, "Not found"))

    @app.get("/v2/bot/profile/<user_id>")
    def profile(user_id):
        if not USER_ID.match(user_id):
            return refusal(404, "Not found")
        return jsonify({"userId": user_id, "displayName": state.profiles.get(user_id, f"LINE user {user_id[-4:]}"),
                        "language": "en"})

    @app.get("/v2/bot/info")
    def info():
        return jsonify({"userId": state.bot_user_id, "basicId": "@123abcde", "displayName": state.display_name,
                        "chatMode": "chat", "markAsReadMode": "manual"})

    @app.post("/v2/bot/chat/loading/start")
    def loading():
        body = request.get_json(silent=True) or {}
        seconds = body.get("loadingSeconds", 20)
        if not isinstance(seconds, int) or seconds % 5 or not 5 <= seconds <= 60:
            return refusal(400, "The request body has 1 error(s)", ["loadingSeconds: 5 to 60, a multiple of 5"])
        with state.lock:
            state.loading.append(body)
        return jsonify({}), 202

    # ---- the phone ----

    @app.post("/_phone/<phone_id>/send")
    def phone_send(phone_id):
        user_id, body = user_id_of(phone_id), request.get_json(silent=True) or {}
        if isinstance(body.get("name"), str) and body["name"].strip():
            state.profiles[user_id] = body["name"].strip()[:40]
        if isinstance(body.get("postback"), str) and body["postback"]:
            event = fixture_event("postback")
            event["postback"] = {"data": body["postback"]}
        elif isinstance(body.get("image"), str):
            try:
                data = base64.b64decode(body["image"], validate=True)
            except ValueError:
                return refusal(400, "image: base64")
            event = fixture_event("image")
            event["message"]["id"] = str(state.random.randrange(10 ** 17, 10 ** 18))
            event["message"].pop("imageSet", None)
            state.contents[event["message"]["id"]] = (data, body.get("mime_type") or "image/jpeg")
            if isinstance(body.get("caption"), str) and body["caption"].strip():
                # LINE images have no caption: the customer sends the words after it, in the same webhook.
                event["replyToken"] = state.new_reply_token(user_id)
                return post_event(user_id, event, text_event(state, user_id, body["caption"]))
        elif isinstance(body.get("text"), str) and body["text"]:
            event = text_event(state, user_id, body["text"])
        else:
            return refusal(400, 'Send {"text"}, {"image": base64} or {"postback": data}.')
        event["replyToken"] = state.new_reply_token(user_id)
        return post_event(user_id, event)

    @app.post("/_phone/<phone_id>/follow")
    def phone_follow(phone_id):
        body = request.get_json(silent=True) or {}
        user_id = user_id_of(phone_id)
        if isinstance(body.get("name"), str) and body["name"].strip():
            state.profiles[user_id] = body["name"].strip()[:40]
        event = fixture_event("follow")
        event["follow"] = {"isUnblocked": bool(body.get("unblocked"))}
        event["replyToken"] = state.new_reply_token(user_id)
        return post_event(user_id, event)

    @app.post("/_phone/<phone_id>/unfollow")
    def phone_unfollow(phone_id):
        return post_event(user_id_of(phone_id), fixture_event("unfollow"))

    def post_event(user_id, *events):
        for event in events:
            event.update(webhookEventId=new_event_id(), timestamp=int(time.time() * 1000))
            event["source"] = {"type": "user", "userId": user_id}
        body = json.dumps({"destination": state.bot_user_id, "events": list(events)}).encode()
        return jsonify(post_webhook(state, body) | {"event_id": events[0]["webhookEventId"]})

    @app.get("/_phone/<phone_id>/messages")
    def phone_messages(phone_id):
        after = request.args.get("after", 0, type=int)
        with state.lock:
            thread = [dict(item) for item in state.phones.get(user_id_of(phone_id), []) if item["n"] > after]
        return jsonify({"user_id": user_id_of(phone_id), "messages": thread})

    @app.post("/_phone/<phone_id>/read")
    def phone_read(phone_id):
        with state.lock:
            thread = state.phones.get(user_id_of(phone_id), [])
            for item in thread:
                item["status"] = "read"
        return jsonify({"read": len(thread)})

    @app.post("/_control")
    def control():
        body = request.get_json(silent=True) or {}
        with state.lock:
            if isinstance(body.get("fail_rate"), (int, float)) and 0 <= body["fail_rate"] <= 1:
                state.fail_rate = float(body["fail_rate"])
            if isinstance(body.get("fail_next"), list):
                state.fail_next = [int(status) for status in body["fail_next"]]
            if isinstance(body.get("accept_then_fail"), int):
                state.accept_then_fail = body["accept_then_fail"]
        return jsonify({"fail_rate": state.fail_rate, "fail_next": state.fail_next,
                        "accept_then_fail": state.accept_then_fail})

    return app


def text_event(state, user_id, text):
    event = fixture_event("text")
    event["message"].update(id=str(state.random.randrange(10 ** 17, 10 ** 18)), text=text)
    event["replyToken"] = state.new_reply_token(user_id)
    return event


def new_event_id():
    """A webhookEventId: LINE's are ULIDs (26 characters of Crockford base32)."""
    alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    return "01" + "".join(random.choice(alphabet) for _ in range(24))


def post_webhook(state, body, sign_with=None):
    """POST a webhook body to the chat server as LINE would; what it answered."""
    signed = signature(sign_with or state.channel_secret, body)
    try:
        response = requests.post(state.webhook_url, data=body, timeout=10,
                                  headers={"Content-Type": "application/json", "X-Line-Signature": signed})
        status = response.status_code
    except requests.RequestException as error:
        status = f"unreachable: {type(error).__name__}"
    with state.lock:
        state.webhooks.append({"body": body, "signature": signed, "status": status})
    return {"webhook_status": status}


class FakeLine:
    """The fake LINE API on a free local port, in a thread, with a phone helper for tests."""

    def __init__(self, **settings):
        self.state = FakeLineState(**settings)
        self.server = make_server("127.0.0.1", free_port(), create_app(self.state), threaded=True)
        self.base_url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def phone(self, phone_id, action="send", **body):
        """What the fake's phone surface answered to `action` (send, follow, unfollow, read)."""
        response = requests.post(f"{self.base_url}/_phone/{phone_id}/{action}", json=body, timeout=15)
        assert response.status_code == 200, response.text
        return response.json()

    def phone_messages(self, phone_id, after=0):
        response = requests.get(f"{self.base_url}/_phone/{phone_id}/messages?after={after}", timeout=5)
        return response.json()["messages"]

    def redeliver_last(self):
        """Post the last webhook again, as LINE's redelivery does (isRedelivery true)."""
        with self.state.lock:
            body = json.loads(self.state.webhooks[-1]["body"])
        for event in body["events"]:
            event["deliveryContext"] = {"isRedelivery": True}
        return post_webhook(self.state, json.dumps(body).encode())

    def close(self):
        self.server.shutdown()
        self.server.server_close()
