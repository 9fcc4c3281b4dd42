"""WhatsApp Cloud API (Graph) over plain HTTP: the few calls the channel makes, what our
messages look like as Graph send bodies, and what each Graph error means for the outbox
(the issue-16 research notes, WhatsApp §1.7-§1.9). Every call has a 10 s timeout; a failure is a SendError
whose `retry` tells the outbox whether the same send may succeed later."""
import base64
import hashlib
import re

import requests

from . import SendError

DEFAULT_API_BASE = "https://graph.facebook.com/v21.0"
TIMEOUT_SECONDS = 10
MAX_TEXT = 4096
MAX_BODY = 1024          # an interactive message's body, a media caption
MAX_BUTTONS = 3
MAX_BUTTON_TITLE = 20
MAX_LIST_ROWS = 10
MAX_ROW_TITLE = 24
MAX_TEMPLATE_PAGES = 10
# Graph error codes a later attempt may get past: throughput, pair rate, "unknown" and
# "service unavailable", the app's and the business account's call rate.
RETRY_CODES = {130429, 131056, 131000, 131016, 135000, 4, 80007}
RE_ENGAGEMENT = 131047
WINDOW_CLOSED_TEXT = ("The customer last wrote more than 24 hours ago; WhatsApp only allows an "
                      "approved template now.")
SENTENCES = {
    RE_ENGAGEMENT: WINDOW_CLOSED_TEXT,
    131026: "WhatsApp could not deliver this message to the customer's phone (not on WhatsApp, or an old app).",
    131050: "The customer has stopped marketing messages from this business.",
    131048: "WhatsApp is limiting this number for spam; messages are held back.",
    131049: "WhatsApp held this message back to keep the customer's experience healthy.",
    131051: "WhatsApp does not support this kind of message.",
    131052: "WhatsApp could not download the customer's file.",
    131053: "WhatsApp could not take the file we uploaded.",
    132000: "The template's parameters do not match the approved template.",
    132001: "This template does not exist in this language, or is not approved.",
    132015: "This template is paused by WhatsApp for low quality.",
    132016: "This template is disabled by WhatsApp.",
    190: "WhatsApp refused the account's access token; an admin must connect WhatsApp again.",
    0: "WhatsApp refused the account's access token; an admin must connect WhatsApp again.",
    10: "The access token lacks the permission to send WhatsApp messages; an admin must connect WhatsApp again.",
}
PLACEHOLDER = re.compile(r"\{\{\s*(\d+)\s*\}\}")


def api_base(account):
    return (account.api_base or DEFAULT_API_BASE).rstrip("/")


def sentence_for(code, title=None, details=None):
    """A Graph error as a sentence for the agent."""
    try:
        known = SENTENCES.get(int(code))
    except (TypeError, ValueError):
        known = None
    if known:
        return known
    said = details or title or "no reason given"
    return f"WhatsApp refused this message: {said}"[:300]


def error_from(code, title=None, details=None, http_status=None, retry_after=None):
    """The SendError for a Graph error code (or an HTTP status with no code)."""
    try:
        number = int(code)
    except (TypeError, ValueError):
        number = None
    retry = number in RETRY_CODES or http_status == 429 or (http_status or 0) >= 500
    if retry:
        text = "WhatsApp is busy; the message will be sent again shortly."
    else:
        text = sentence_for(number, title, details)
    return SendError(number if number is not None else f"http_{http_status}", text, retry=retry,
                     retry_after=retry_after, needs_template=number == RE_ENGAGEMENT)


def call(account, method, path, **options):
    """One Graph request with the account's token: the JSON answer, or SendError."""
    url = path if path.startswith(("http://", "https://")) else f"{api_base(account)}/{path.lstrip('/')}"
    headers = {"Authorization": f"Bearer {account.access_token}"}
    try:
        response = requests.request(method, url, headers=headers, timeout=TIMEOUT_SECONDS, **options)
    except (requests.ConnectionError, requests.Timeout) as error:
        raise SendError("unreachable", "WhatsApp could not be reached; the message will be sent again.",
                        retry=True) from error
    if response.status_code >= 400:
        raise error_of(response)
    try:
        return response.json()
    except ValueError:
        raise SendError("bad_answer", "WhatsApp answered with something that is not JSON.", retry=True) from None


def error_of(response):
    try:
        error = response.json().get("error") or {}
    except (ValueError, AttributeError):
        error = {}
    retry_after = response.headers.get("Retry-After")
    return error_from(error.get("code"), error.get("message"), (error.get("error_data") or {}).get("details"),
                      http_status=response.status_code,
                      retry_after=float(retry_after) if retry_after and retry_after.isdigit() else None)


# ---- our messages as Graph send bodies ----

def envelope(to, kind, content):
    return {"messaging_product": "whatsapp", "recipient_type": "individual", "to": to, "type": kind, kind: content}


def text_parts(text):
    """Text of any length as messages of at most MAX_TEXT characters, cut at a line or a space."""
    parts = []
    while len(text) > MAX_TEXT:
        cut = max(text.rfind("\n", 0, MAX_TEXT), text.rfind(" ", 0, MAX_TEXT))
        cut = cut if cut > MAX_TEXT // 2 else MAX_TEXT
        parts.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    return parts + [text] if text else parts


def with_links(text, links, origin=""):
    """A message's links as "Title: url" lines under its text (WhatsApp shows no link buttons).
    A link to a page of ours (a help article's path) is made absolute with `origin`; without
    one, only its title is written (a bare path means nothing on a phone)."""
    lines = []
    for link in links or ():
        url, title = link.get("url") or "", link.get("title") or ""
        if url.startswith("/") and not url.startswith("//"):
            url = origin + url if origin else ""
        if url or title:
            lines.append(f"{title}: {url}" if title and url else title or url)
    return "\n".join([text] + lines if text else lines)


def buttons_body(to, text, buttons):
    """Quick replies: up to 3 as reply buttons, more as a list (titles cut to WhatsApp's sizes)."""
    if len(buttons) <= MAX_BUTTONS:
        return envelope(to, "interactive", {
            "type": "button", "body": {"text": text},
            "action": {"buttons": [{"type": "reply", "reply": {"id": b["id"], "title": b["title"][:MAX_BUTTON_TITLE]}}
                                   for b in buttons]}})
    return envelope(to, "interactive", {
        "type": "list", "body": {"text": text},
        "action": {"button": "Choose", "sections": [{"title": "Options", "rows": [
            {"id": b["id"], "title": b["title"][:MAX_ROW_TITLE]} for b in buttons[:MAX_LIST_ROWS]]}]}})


def template_body(to, template):
    """An approved template with its body parameters."""
    content = {"name": template["name"], "language": {"code": template["language"]}}
    params = template.get("params") or []
    if params:
        content["components"] = [{"type": "body", "parameters": [{"type": "text", "text": p} for p in params]}]
    return envelope(to, "template", content)


def media_body(to, kind, media_id, caption=None, filename=None):
    content = {"id": media_id}
    if caption and kind != "audio":
        content["caption"] = caption[:MAX_BODY]
    if kind == "document" and filename:
        content["filename"] = filename
    return envelope(to, kind, content)


def upload(account, data, content_type, filename):
    """A file for sending: its media id."""
    answer = call(account, "POST", f"{account.external_id}/media",
                  data={"messaging_product": "whatsapp", "type": content_type},
                  files={"file": (filename, data, content_type)})
    return answer["id"]


def send_body(account, body):
    """POST one message; the wamid WhatsApp accepted it as."""
    answer = call(account, "POST", f"{account.external_id}/messages", json=body)
    try:
        return answer["messages"][0]["id"]
    except (KeyError, IndexError, TypeError):
        raise SendError("bad_answer", "WhatsApp accepted the message without saying its id.", retry=False) from None


# ---- files the customer sent ----

def fetch_media(account, media_id, limit):
    """(bytes, content_type, sha256 WhatsApp gave) of a customer's file, at most `limit` bytes."""
    found = call(account, "GET", media_id)
    if (found.get("file_size") or 0) > limit:
        raise SendError("too_large", "The customer's file is larger than this site accepts.")
    try:
        response = requests.get(found["url"], headers={"Authorization": f"Bearer {account.access_token}"},
                                timeout=TIMEOUT_SECONDS, stream=True)
    except (requests.ConnectionError, requests.Timeout) as error:
        raise SendError("unreachable", "WhatsApp could not be reached for the customer's file.", retry=True) from error
    except KeyError:
        raise SendError("bad_answer", "WhatsApp did not say where the customer's file is.") from None
    with response:
        if response.status_code >= 400:
            raise error_of(response)
        data = bytearray()
        for chunk in response.iter_content(256 * 1024):
            data += chunk
            if len(data) > limit:
                raise SendError("too_large", "The customer's file is larger than this site accepts.")
    return bytes(data), found.get("mime_type"), found.get("sha256")


def matches_sha256(data, expected):
    """WhatsApp's sha256 of a file: hex in some answers, base64 in others; either must match."""
    if not expected:
        return True
    digest = hashlib.sha256(data).digest()
    return expected.strip().lower() == digest.hex() or expected.strip() == base64.b64encode(digest).decode()


# ---- the account and its templates ----

def describe(api_base_url, phone_number_id, access_token):
    """{external_id, display_name} of a phone number id, as Graph describes it."""
    account = _Credentials(api_base_url, phone_number_id, access_token)
    found = call(account, "GET", f"{phone_number_id}", params={"fields": "display_phone_number,verified_name"})
    number, name = found.get("display_phone_number"), found.get("verified_name")
    display = f"{name} ({number})" if name and number else (name or number or phone_number_id)
    return {"external_id": str(phone_number_id), "display_name": display[:120]}


class _Credentials:
    """Enough of a ChannelAccount for a call before the account exists."""

    def __init__(self, api_base_url, external_id, access_token):
        self.api_base, self.external_id, self.access_token = api_base_url, external_id, access_token


def approved_templates(account):
    """The business account's approved templates, as ChannelAccount.templates keeps them."""
    found, url, pages = [], f"{account.business_account_id}/message_templates", 0
    params = {"status": "APPROVED", "limit": 100}
    while url and pages < MAX_TEMPLATE_PAGES:
        answer = call(account, "GET", url, params=params)
        found.extend(template_of(item) for item in answer.get("data") or () if item.get("status", "APPROVED") == "APPROVED")
        url, params, pages = (answer.get("paging") or {}).get("next"), None, pages + 1
    return [template for template in found if template is not None]


def template_of(item):
    body = next((c.get("text") or "" for c in item.get("components") or () if c.get("type", "").upper() == "BODY"), "")
    if not item.get("name") or not item.get("language"):
        return None
    return {"name": item["name"], "language": item["language"], "category": item.get("category"),
            "body": body, "params": len(set(PLACEHOLDER.findall(body)))}


def filled(body, params):
    """A template's body with its {{n}} replaced by the parameters given."""
    return PLACEHOLDER.sub(lambda m: params[int(m.group(1)) - 1] if 0 < int(m.group(1)) <= len(params)
                           else m.group(0), body)
