"""A small per-socket (and per-session) rate limiter for socket events.

Fixed windows kept in this process's memory: enough to stop one noisy socket
without touching anybody else's.
"""
import threading
import time

from flask import current_app
from limits import parse

from ..sessions import ChatError

_lock = threading.Lock()
_windows = {}           # key -> (window_end, count)
PRUNE_ABOVE = 10000


def check(setting, key):
    """Count one event for `key` under the limit named by `setting`, or refuse it."""
    limit = parse(current_app.config[setting])
    now = time.monotonic()
    with _lock:
        if len(_windows) > PRUNE_ABOVE:
            for stale in [k for k, (end, _) in _windows.items() if end <= now]:
                del _windows[stale]
        end, count = _windows.get(key, (0.0, 0))
        if now >= end:
            end, count = now + limit.get_expiry(), 0
        if count >= limit.amount:
            raise ChatError("rate_limited", "You are sending too fast; wait a moment.")
        _windows[key] = (end, count + 1)


def forget(prefix):
    """Drop a closed socket's counters."""
    with _lock:
        for key in [key for key in _windows if key[0] == prefix]:
            del _windows[key]
