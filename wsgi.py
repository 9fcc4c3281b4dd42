"""Production entry: `python wsgi.py` serves the app with Socket.IO on HOST:PORT.

The async library patches the standard library before anything else is imported;
which one is the SOCKETIO_ASYNC_MODE setting (eventlet by default), never guessed.
"""
import os  # noqa: I001  (stdlib only, before the async library patches the rest)

ASYNC_MODE = os.environ.setdefault("SOCKETIO_ASYNC_MODE", "eventlet")
if ASYNC_MODE == "eventlet":
    import warnings
    # eventlet is deprecated upstream (see the README); silence exactly that notice.
    warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated\.")
    import eventlet
    eventlet.monkey_patch()
    # psycopg's C wait function blocks the whole event loop on every query under
    # eventlet (it only detects gevent); its select() one waits cooperatively.
    os.environ.setdefault("PSYCOPG_WAIT_FUNC", "wait_select")
elif ASYNC_MODE == "gevent":
    from gevent import monkey
    monkey.patch_all()

import gc  # noqa: E402
import logging  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402

from chat import create_app  # noqa: E402
from chat.extensions import socketio  # noqa: E402
from chat.jobs import start_scheduler  # noqa: E402
from chat.loop_monitor import watch_event_loop  # noqa: E402
from chat.message_store import writer_is_idle  # noqa: E402
from chat.sessions import start_message_writer  # noqa: E402

app = create_app()
log = logging.getLogger("wsgi")


def tune_garbage_collector():
    """Objects alive after start-up never need scanning again, and fewer full
    collections mean fewer long pauses under load. A young generation of 5,000 (not
    the default 700) halves the collections; 50,000 made each one hold the event loop
    for 40-100 ms (see docs/benchmarks.md)."""
    if os.environ.get("GC_TUNING", "1") == "1":
        gc.collect()
        gc.freeze()
        gc.set_threshold(5_000, 20, 100)


def listening_socket(host, port):
    """Accepted sockets inherit TCP_NODELAY: small frames and responses written in
    pieces go out at once instead of waiting ~40 ms for the peer's delayed ACK."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    listener.bind((host, port))
    listener.listen(2048)
    return listener


def serve(host, port):
    access_log = os.environ.get("ACCESS_LOG", "1") == "1"
    if ASYNC_MODE == "eventlet":
        import eventlet.wsgi
        eventlet.wsgi.server(listening_socket(host, port), app, log_output=access_log,
                             max_size=int(os.environ.get("MAX_CONNECTIONS", "10000")))
    elif ASYNC_MODE == "gevent":
        from gevent import pywsgi
        # WebSocket support comes from simple-websocket, as under socketio.run.
        pywsgi.WSGIServer(listening_socket(host, port), app, log="default" if access_log else None).serve_forever()
    else:
        socketio.run(app, host=host, port=port, log_output=access_log, allow_unsafe_werkzeug=False)


def stop_gracefully():
    """On SIGTERM: store, publish and acknowledge the messages already received (for at
    most SHUTDOWN_GRACE_SECONDS), then exit. A job sweep cut short is a rolled-back
    transaction, redone at the next tick. Every message is committed before it is
    acknowledged, so nothing acknowledged is lost; clients reconnect (to this process
    when it is back, or to another one) and resend what was not acknowledged."""
    def finish():
        log.info("shutting down")
        deadline = time.monotonic() + float(os.environ.get("SHUTDOWN_GRACE_SECONDS", "5"))
        while not writer_is_idle() and time.monotonic() < deadline:
            time.sleep(0.01)
        log.info("stopped")
        logging.shutdown()
        os._exit(0)

    def handler(signum, frame):
        # Signal handlers run inside the event loop: hand the work to a new green thread.
        if ASYNC_MODE == "eventlet":
            eventlet.spawn_n(finish)
        elif ASYNC_MODE == "gevent":
            import gevent
            gevent.spawn(finish)
        else:
            threading.Thread(target=finish, daemon=True).start()
    signal.signal(signal.SIGTERM, handler)


if __name__ == "__main__":
    start_scheduler(app)
    start_message_writer(app)
    stall_ms = int(os.environ.get("LOOP_STALL_WARNING_MS", "100"))
    if ASYNC_MODE in ("eventlet", "gevent") and stall_ms > 0:
        watch_event_loop(socketio, stall_ms)
    stop_gracefully()
    tune_garbage_collector()
    serve(os.environ.get("HOST", "127.0.0.1"), int(os.environ.get("PORT", "5000")))
