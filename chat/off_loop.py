"""Blocking work (a password hash, decoding and re-encoding an image, a file read) run in an OS
thread of the async library wsgi.py patched in, so the event loop stays free for every other
socket of the process; with no async library patched in (the flask CLI, unit tests, threading
mode) it simply runs in the caller's thread."""
import sys


def run(function, *args):
    """function(*args) in an OS thread when an async library is patched in; the calling green
    thread waits, the others run. Its exception, if any, is raised here."""
    eventlet_patcher = sys.modules.get("eventlet.patcher")
    if eventlet_patcher is not None and eventlet_patcher.is_monkey_patched("thread"):
        from eventlet import tpool
        return tpool.execute(function, *args)
    gevent_monkey = sys.modules.get("gevent.monkey")
    if gevent_monkey is not None and gevent_monkey.is_module_patched("threading"):
        import gevent
        return gevent.get_hub().threadpool.apply(function, args)
    return function(*args)
