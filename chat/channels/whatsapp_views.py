"""The agent's template picker for a WhatsApp chat whose 24-hour window has closed: the approved
templates (synced from WhatsApp when the list is older than an hour) and sending one, which
stores an agent message with its details and goes out through the outbox like any other.
See docs/protocol.md, `GET/POST /api/v1/agent/sessions/<id>/templates`."""
from datetime import timedelta

from flask import jsonify, request
from flask_login import current_user

from . import SendError
from . import whatsapp as wa
from . import whatsapp_api as api
from .. import access, messages, sessions, validation
from ..auth import api_login_required
from ..errors import ChatError
from ..extensions import csrf
from ..models import isoformat, utcnow

SYNC_AFTER = timedelta(hours=1)
MAX_PARAM = 1024


def whatsapp_chat(session_id):
    """The chat, if the agent may see it and it is a WhatsApp chat with a connected account."""
    chat = access.require_view(current_user, sessions.find_session(session_id))
    account = wa.account_of_site(chat.site_id) if chat.channel == wa.NAME else None
    if account is None:
        raise ChatError("invalid_target", "Templates are for WhatsApp chats of a connected account.")
    return chat, account


def window_of(chat):
    closes_at = wa.CHANNEL.window_closes_at(chat.visitor)
    return {"open": wa.window_is_open(chat.visitor), "closes_at": isoformat(closes_at)}


@wa.bp.get("/api/v1/agent/sessions/<session_id>/templates")
@api_login_required
def template_list(session_id):
    """{window: {open, closes_at}, templates: [{name, language, category, body, params}]}; a list
    older than an hour is synced first (when WhatsApp cannot be asked, the last list and `sync_error`)."""
    chat, account = whatsapp_chat(session_id)
    answer = {"window": window_of(chat)}
    if account.templates_synced_at is None or utcnow() - account.templates_synced_at > SYNC_AFTER:
        try:
            wa.sync_templates(account)
        except SendError as error:
            answer["sync_error"] = error.text
    answer["templates"] = wa.templates_of(account)
    return jsonify(answer)


@wa.bp.post("/api/v1/agent/sessions/<session_id>/templates")
@csrf.exempt            # checked below, after the login: a logged-out caller hears login_required
@api_login_required
def send_template(session_id):
    """{name, language, params, client_id} -> {message}: an agent message whose text is the
    template's body with its parameters, and extras {"template": {name, language, params}};
    the CSRF token in X-CSRFToken."""
    csrf.protect()
    payload = validation.require_object(request.get_json(silent=True))
    chat, account = whatsapp_chat(session_id)
    access.require_write(current_user, chat)
    name = validation.string_field(payload, "name", 512, required=True)
    language = validation.string_field(payload, "language", 15, required=True)
    template = wa.template_named(account, name, language)
    if template is None:
        raise validation.invalid("This template is not among the approved ones; reload the list.")
    params = template_params(payload.get("params"), template["params"])
    text = api.filled(template["body"], params) or name
    message = messages.post_agent(chat, current_user, text, validation.client_id(payload),
                                  template={"name": name, "language": language, "params": params})
    return jsonify({"message": message.to_dict()})


def template_params(given, count):
    """The parameters: exactly as many as the template has, each words of at most MAX_PARAM characters."""
    given = [] if given is None else given
    if not isinstance(given, list) or len(given) != count:
        raise validation.invalid(f"This template takes {count} parameter{'' if count == 1 else 's'}.")
    params = []
    for n, value in enumerate(given, 1):
        if not isinstance(value, str) or not value.strip():
            raise validation.invalid(f"Please fill in parameter {n}.")
        if len(value) > MAX_PARAM or "\n" in value or "\t" in value:
            raise validation.invalid(f"Parameter {n} must be one line of at most {MAX_PARAM:,} characters.")
        params.append(value.strip())
    return params

