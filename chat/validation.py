"""Checks of the shape and size of what clients send, at the edge. Each refusal is a
sentence a person can read (the widget shows it as is); the code stays `invalid_payload`."""
import re
from datetime import date
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app
from werkzeug.routing import IntegerConverter

from .errors import ChatError

CLIENT_ID_PATTERN = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
EMAIL_PATTERN = re.compile(r"^[^@\s<>\"']{1,64}@[^@\s<>\"']{1,189}\.[A-Za-z]{2,}$")
MAX_NAME_LENGTH = 80
MAX_URL_LENGTH = 2000
MAX_SEQ = 2**31 - 1          # the seq column is a 32-bit integer
MAX_ROW_ID = 2**31 - 1       # and so are the ids of agents, canned replies and the like
TIME_ZONE_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+){0,2}$")

# How a refusal names a text field: (what to enter, the subject of its length limit);
# any other field is "the <name>".
FIELD_WORDS = {
    "site_key": ("a site key", "Site keys"),
    "text": ("a message", "Messages"),
    "name": ("your name", "Names"),
    "shortcut": ("a shortcut", "Shortcuts"),
    "reply": ("the reply's text", "Canned replies"),
    "email": ("your email address", "Email addresses"),
    "page_url": ("the page address", "Page addresses"),
    "note": ("a note", "Notes"),
    "title": ("a title", "Titles"),
    "user_id": ("the user's id", "User ids"),
    "user_hash": ("the user's hash", "User hashes"),
}


class RowId(IntegerConverter):
    """`<id:name>` in a route: a row id from 1 to MAX_ROW_ID; any other number is no such page
    (404), never one the database cannot take (on SQLite a 500). Registered by create_app."""

    def __init__(self, map):
        super().__init__(map, min=1, max=MAX_ROW_ID)


def invalid(message):
    return ChatError("invalid_payload", message)


def require_object(payload):
    if not isinstance(payload, dict):
        raise invalid("This request could not be read (it must be a JSON object).")
    return payload


def string_field(payload, name, max_length, required=False):
    """A stripped string no longer than max_length; None when optional and absent."""
    words = name.replace("_", " ")
    what, subject = FIELD_WORDS.get(name, (f"the {words}", f"The {words}"))
    value = payload.get(name)
    if value is None or value == "":
        if required:
            raise invalid(f"Please enter {what}.")
        return None
    if not isinstance(value, str):
        raise invalid(f"Please enter {what} as text.")
    value = value.strip()
    if required and not value:
        raise invalid(f"Please enter {what}.")
    if len(value) > max_length:
        raise invalid(f"{subject} can be up to {max_length:,} characters.")
    return value or None


def message_text(payload, required=True):
    """A message's text; it may be empty ("") only when not `required` (a message of files)."""
    return string_field(payload, "text", current_app.config["MAX_MESSAGE_LENGTH"], required=required) or ""


def note(payload):
    """An optional private note (a transfer's note for the next person)."""
    return string_field(payload, "note", current_app.config["MAX_MESSAGE_LENGTH"])


def optional_flag(payload, name):
    """A true/false field that may be left out (false)."""
    return False if payload.get(name) is None else flag(payload, name)


def agent_id(payload, name):
    """An agent's id, or None when the field is null or absent."""
    value = payload.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ROW_ID:
        raise invalid(f"This could not be done ({name} must be an agent's id or null).")
    return value


def client_id(payload):
    value = payload.get("client_id")
    if not isinstance(value, str) or not CLIENT_ID_PATTERN.match(value):
        raise invalid("This message could not be sent (its client_id must be 1 to 64 letters, "
                      "digits or _ . : -).")
    return value


BUTTON_ID_PATTERN = re.compile(r"^[A-Za-z0-9_:-]{1,256}$")


def button_id(payload):
    """The id of the quick-reply button the visitor pressed, or None for a typed message."""
    value = payload.get("button_id")
    if value is None:
        return None
    if not isinstance(value, str) or not BUTTON_ID_PATTERN.match(value):
        raise invalid("This button could not be sent (its id must be 1 to 256 letters, digits or _ : -).")
    return value


ATTACHMENT_ID_PATTERN = re.compile(r"^[A-Za-z0-9-]{1,36}$")


def attachment_ids(payload, name="attachments", most=10, required=False):
    """A list of 1 to `most` distinct attachment ids; None when absent and not required."""
    value = payload.get(name)
    if value is None and not required:
        return None
    if (not isinstance(value, list) or not 1 <= len(value) <= most
            or not all(isinstance(each, str) and ATTACHMENT_ID_PATTERN.match(each) for each in value)
            or len(set(value)) != len(value)):
        raise invalid(f"These files could not be sent ({name} must be a list of 1 to {most} different "
                      "attachment ids).")
    return value


def session_id(payload, required=True):
    value = payload.get("session_id")
    if value is None and not required:
        return None
    if not isinstance(value, str) or not 1 <= len(value) <= 36:
        raise invalid("This chat could not be found (its session_id is not valid).")
    return value


def last_seq(payload, name="last_seq"):
    value = payload.get(name, 0)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_SEQ:
        raise invalid(seq_refusal(name))
    return value


def seq_argument(args, name):
    """A seq from a query string (digits only, 0 when absent), bounded like `last_seq`."""
    text = args.get(name, "0")
    if not (text.isascii() and text.isdigit() and len(text) <= len(str(MAX_SEQ))):
        raise invalid(seq_refusal(name))
    return last_seq({name: int(text)}, name)


def seq_refusal(name):
    return f"That is not a message position ({name} must be a whole number from 0 to {MAX_SEQ:,})."


DAY_PATTERN = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# A day of a filter or a report: the day after it (the end of a range) and the week before it
# (a report's default start) must be dates too, and no chat is older than 1970.
FIRST_YEAR, LAST_YEAR = 1970, 9998


def day(value, which):
    """A UTC day written YYYY-MM-DD, in the years FIRST_YEAR to LAST_YEAR; `which` ("start",
    "end") names it in the refusal. History's filters and the reports' range both read theirs here."""
    if isinstance(value, str) and DAY_PATTERN.fullmatch(value):
        try:
            parsed = date.fromisoformat(value)
        except ValueError:
            parsed = None
        if parsed is not None and FIRST_YEAR <= parsed.year <= LAST_YEAR:
            return parsed
    raise invalid(f"The {which} date must be a date like 2026-01-31, in the years {FIRST_YEAR} to {LAST_YEAR}.")


def flag(payload, name):
    value = payload.get(name)
    if not isinstance(value, bool):
        raise invalid(f"This could not be sent ({name} must be true or false).")
    return value


def time_zone(payload):
    """An IANA time zone name the visitor's browser reports, or None: an unknown zone is
    dropped, not refused (a chat must start even from an odd browser)."""
    value = payload.get("time_zone")
    if not isinstance(value, str) or not 1 <= len(value) <= 64 or not TIME_ZONE_PATTERN.match(value):
        return None
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return value


def visitor_name(payload):
    return string_field(payload, "name", MAX_NAME_LENGTH)


def visitor_email(payload):
    value = string_field(payload, "email", 254)
    if value is not None and not EMAIL_PATTERN.match(value):
        raise invalid("Please enter a valid email address.")
    return value


def page_url(payload):
    value = string_field(payload, "page_url", MAX_URL_LENGTH)
    if value is not None and not re.match(r"^https?://", value):
        raise invalid("The page address must start with http:// or https://.")
    return value
