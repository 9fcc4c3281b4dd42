"""Password hashes, computed without holding the event loop.

A hash costs ~100 ms of CPU and 32 MiB by design (werkzeug's scrypt). hashlib computes it
in C with the GIL released, so in an OS thread it leaves the eventlet or gevent loop free
for every other socket of the process; with no async library patched in (the flask CLI,
unit tests) it simply runs in the caller's thread.
"""
import threading

from werkzeug.security import check_password_hash, generate_password_hash

from . import off_loop

# Hashes computed at once by a process; more logins wait their turn (without holding the
# loop: wsgi.py has patched threading before this module is imported). Bounds the memory
# and the threads a burst of logins takes.
HASHES_AT_ONCE = threading.BoundedSemaphore(4)


def hash_password(password):
    """A new salted hash of `password`, to store."""
    return off_the_loop(generate_password_hash, password)


def password_matches(stored_hash, password):
    """Whether `password` is the one `stored_hash` was made from."""
    return off_the_loop(check_password_hash, stored_hash, password)


def off_the_loop(function, *args):
    """function(*args) in an OS thread of the async library wsgi.py patched in, if any
    (chat/off_loop.py), at most HASHES_AT_ONCE at a time."""
    with HASHES_AT_ONCE:
        return off_loop.run(function, *args)
