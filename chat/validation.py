"""Checks of the shape and size of what clients send, at the edge."""
import re

from flask import current_app

from .errors import ChatError

CLIENT_ID_PATTERN = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
EMAIL_PATTERN = re.compile(r"^[^@\s<>\"']{1,64}@[^@\s<>\"']{1,189}\.[A-Za-z]{2,}$")
MAX_NAME_LENGTH = 80
MAX_URL_LENGTH = 2000
MAX_SEQ = 2**31 - 1          # the seq column is a 32-bit integer


def invalid(message):
    return ChatError("invalid_payload", message)


def require_object(payload):
    if not isinstance(payload, dict):
        raise invalid("Expected a JSON object.")
    return payload


def string_field(payload, name, max_length, required=False):
    """A stripped string no longer than max_length; None when optional and absent."""
    value = payload.get(name)
    if value is None or value == "":
        if required:
            raise invalid(f"'{name}' is required.")
        return None
    if not isinstance(value, str):
        raise invalid(f"'{name}' must be a string.")
    value = value.strip()
    if required and not value:
        raise invalid(f"'{name}' must not be empty.")
    if len(value) > max_length:
        raise invalid(f"'{name}' is longer than {max_length} characters.")
    return value or None


def message_text(payload):
    return string_field(payload, "text", current_app.config["MAX_MESSAGE_LENGTH"], required=True)


def client_id(payload):
    value = payload.get("client_id")
    if not isinstance(value, str) or not CLIENT_ID_PATTERN.match(value):
        raise invalid("'client_id' must be 1-64 letters, digits or _.:-")
    return value


def session_id(payload, required=True):
    value = payload.get("session_id")
    if value is None and not required:
        return None
    if not isinstance(value, str) or not 1 <= len(value) <= 36:
        raise invalid("'session_id' must be a session id string.")
    return value


def last_seq(payload, name="last_seq"):
    value = payload.get(name, 0)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_SEQ:
        raise invalid(f"'{name}' must be a whole number from 0 to {MAX_SEQ}.")
    return value


def seq_argument(args, name):
    """A seq from a query string (digits only, 0 when absent), bounded like `last_seq`."""
    text = args.get(name, "0")
    if not (text.isascii() and text.isdigit() and len(text) <= len(str(MAX_SEQ))):
        raise invalid(f"'{name}' must be a whole number from 0 to {MAX_SEQ}.")
    return last_seq({name: int(text)}, name)


def flag(payload, name):
    value = payload.get(name)
    if not isinstance(value, bool):
        raise invalid(f"'{name}' must be true or false.")
    return value


def visitor_name(payload):
    return string_field(payload, "name", MAX_NAME_LENGTH)


def visitor_email(payload):
    value = string_field(payload, "email", 254)
    if value is not None and not EMAIL_PATTERN.match(value):
        raise invalid("'email' is not an email address.")
    return value


def page_url(payload):
    value = string_field(payload, "page_url", MAX_URL_LENGTH)
    if value is not None and not re.match(r"^https?://", value):
        raise invalid("'page_url' must be an http(s) URL.")
    return value
