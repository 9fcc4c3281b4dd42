"""Password hashes: right and wrong passwords, and, under eventlet and gevent, a check that
leaves the event loop to the other green threads while it runs."""
import json
import subprocess
import sys

import pytest

from chat.passwords import hash_password, password_matches
from tests.support import ROOT


def test_a_password_matches_its_own_hash_only():
    stored = hash_password("right-password")
    assert password_matches(stored, "right-password")
    assert not password_matches(stored, "wrong-password")
    assert not password_matches(hash_password("another-password"), "right-password")


def test_the_same_password_hashes_differently_each_time():
    assert hash_password("right-password") != hash_password("right-password")


# In a process of its own, patched as wsgi.py patches the server's: the check of a password
# (replaced by a wait on a real lock) is pending when the main green thread releases the
# lock. On the loop it would hold every green thread until its wait gave up (False).
UNDER_ASYNC_LIBRARY = """
import _thread, json, sys
held = _thread.allocate_lock()        # a real lock, taken before anything is patched
held.acquire()
if sys.argv[1] == "eventlet":
    import eventlet
    eventlet.monkey_patch()
    spawn, pause, result = eventlet.spawn, eventlet.sleep, lambda green: green.wait()
else:
    from gevent import monkey
    monkey.patch_all()
    import gevent
    spawn, pause, result = gevent.spawn, gevent.sleep, lambda green: green.get()
from chat import passwords
stored = passwords.hash_password("right-password")
answers = [passwords.password_matches(stored, "right-password"), passwords.password_matches(stored, "wrong")]
passwords.check_password_hash = lambda stored, password: held.acquire(timeout=10)
checking = spawn(passwords.password_matches, stored, "right-password")
pause(0)                              # the check starts, then waits
held.release()                        # runs only if the check left the loop
print(json.dumps({"answers": answers, "other_green_thread_ran_during_the_check": result(checking)}))
"""


@pytest.mark.parametrize("library", ["eventlet", "gevent"])
def test_a_password_check_leaves_the_event_loop_to_the_other_green_threads(library):
    out = subprocess.run([sys.executable, "-W", "ignore::DeprecationWarning", "-c", UNDER_ASYNC_LIBRARY, library],
                         cwd=ROOT, capture_output=True, text=True, timeout=120, check=True)
    assert json.loads(out.stdout.splitlines()[-1]) == {
        "answers": [True, False], "other_green_thread_ran_during_the_check": True}
