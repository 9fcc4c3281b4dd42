"""Rate limits for socket events and the widget's REST calls.

Per socket and per chat: fixed windows kept in this process's memory, enough to stop
one noisy client without touching anybody else's (with several processes each counts
its own). Per address (wrong session keys): Flask-Limiter's storage, shared by every
process when RATELIMIT_STORAGE_URI is Redis.
"""
import functools
import math
import threading
import time

from flask import current_app
from flask_limiter.util import get_remote_address
from limits import parse

from .. import sessions
from ..extensions import limiter
from ..errors import ChatError

_lock = threading.Lock()
_windows = {}           # key -> (window_end, count)
PRUNE_ABOVE = 10000
TOO_FAST = "You are sending too fast; wait a moment."


@functools.cache
def parsed(limit_text):
    return parse(limit_text)


def check(setting, key, message=TOO_FAST):
    """Count one event for `key` under the limit named by `setting`, or refuse it."""
    limit = parsed(current_app.config[setting])
    now = time.monotonic()
    with _lock:
        if len(_windows) > PRUNE_ABOVE:
            for stale in [k for k, (end, _) in _windows.items() if end <= now]:
                del _windows[stale]
        end, count = _windows.get(key, (0.0, 0))
        if now >= end:
            end, count = now + limit.get_expiry(), 0
        if count >= limit.amount:
            raise ChatError("rate_limited", message, retry_after=math.ceil(end - now))
        _windows[key] = (end, count + 1)


def count_read(key):
    """One read (sync, replay, REST poll or status) under READ_LIMIT_PER_SESSION."""
    check("READ_LIMIT_PER_SESSION", key, "Too many requests; wait a moment.")


def forget(prefix):
    """Drop a closed socket's counters."""
    with _lock:
        for key in [key for key in _windows if key[0] == prefix]:
            del _windows[key]


def _key_failures():
    return parse(current_app.config["KEY_FAILURE_LIMIT_PER_IP"]), ("key_failures", get_remote_address())


def find_session_by_key(session_id, session_key, visitor_token=None):
    """The visitor's session if the key (or the visitor's token) opens it. An address that gave
    too many wrong keys (or unknown ids) is refused for the rest of the window, even with a right key."""
    limit, identifiers = _key_failures()
    if not limiter.limiter.test(limit, *identifiers):
        reset = limiter.limiter.get_window_stats(limit, *identifiers).reset_time
        raise ChatError("rate_limited", "Too many failed attempts; wait a minute and try again.",
                        retry_after=math.ceil(reset - time.time()))
    try:
        return sessions.find_session_for_visitor(session_id, session_key, visitor_token)
    except ChatError:
        limiter.limiter.hit(limit, *identifiers)
        raise
