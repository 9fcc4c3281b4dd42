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
    from chat import websocket_mask
    websocket_mask.install()
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
from chat.knowledge_search import search_engine  # noqa: E402
from chat.jobs import start_scheduler  # noqa: E402
from chat.loop_monitor import watch_event_loop, watch_garbage_collections  # noqa: E402
from chat.message_store import writer_is_idle  # noqa: E402
from chat.messages import start_writer as start_message_writer  # noqa: E402
from chat.channels.sender import sender_is_idle, start_sender as start_outbox_sender, stop_sender  # noqa: E402

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


class ConnectionsPerAddress:
    """Open connections per client address (the TCP peer), refused above `cap` (0: no cap).
    Counted as each connection is accepted, before it may send a byte, so one address
    cannot hold the connections every other client needs."""

    REFUSAL = b"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"

    def __init__(self, cap):
        self.cap, self.open, self.warned = cap, {}, {}

    def admit(self, address):
        count = self.open.get(address, 0)
        if self.cap and count >= self.cap:
            self.warn_once_a_minute(address, count)
            return False
        self.open[address] = count + 1
        return True

    def release(self, address):
        count = self.open.pop(address) - 1
        if count:
            self.open[address] = count

    def warn_once_a_minute(self, address, count):
        now = time.monotonic()
        if now - self.warned.get(address, -60.0) >= 60:
            if len(self.warned) > 10_000:
                self.warned.clear()
            self.warned[address] = now
            log.warning("refusing connections from %s: it holds %d (MAX_CONNECTIONS_PER_ADDRESS; behind a "
                        "proxy, set TRUSTED_PROXIES and cap per address in the proxy)", address, count)

    def refuse(self, sock):
        try:
            sock.sendall(self.REFUSAL)
        except OSError:
            pass
        sock.close()


def per_address_cap():
    """Behind a trusted proxy every client arrives from the proxy's address: counting it
    would cap everyone together, so the proxy caps per address there (limit_conn)."""
    cap = app.config["MAX_CONNECTIONS_PER_ADDRESS"]
    if cap and app.config["TRUSTED_PROXIES"] > 0:
        log.info("MAX_CONNECTIONS_PER_ADDRESS is not applied behind a trusted proxy; "
                 "cap connections per address in the proxy (nginx limit_conn)")
        return 0
    return cap


def max_connections():
    return int(os.environ.get("MAX_CONNECTIONS", "10000"))


def headers_too_slow():
    return TimeoutError("request line and headers not received in time")


def shut_down(sock):
    """End a connection at once, whoever else holds a handle on it (chat/engineio_guard.py)."""
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except (AttributeError, OSError):        # already closed
        pass


def offer_abort(environ, abort):
    """A WebSocket has its TCP connection to itself (a polling request's may carry another
    tab's requests next), so only a WebSocket's may be cut by the application."""
    if environ.get("HTTP_UPGRADE", "").lower() == "websocket":
        environ["chat.abort_connection"] = abort


def closing_when_asked(wsgi_app, handler):
    """A response with `Connection: close` closes the connection before the server waits
    for (and discards) a request body the application did not read."""
    def application(environ, start_response):
        def start(status, headers, exc_info=None):
            if any(name.lower() == "connection" and value.lower() == "close" for name, value in headers):
                handler.close_connection = 1
                headers = [(name, value) for name, value in headers if name.lower() != "connection"]
            return start_response(status, headers, exc_info)
        return wsgi_app(environ, start)
    return application


def eventlet_server(listener, access_log, header_timeout, connections):
    """eventlet.wsgi with a deadline on each request line and its headers (and on an idle
    keep-alive connection), none on what follows: a long-poll and a quiet WebSocket
    wait as long as Engine.IO lets them. Over-cap connections are refused at accept."""
    import eventlet.wsgi

    class DeadlineProtocol(eventlet.wsgi.HttpProtocol):
        def handle_one_request(self):
            self.header_deadline = eventlet.Timeout(header_timeout, headers_too_slow())
            try:
                super().handle_one_request()
            finally:
                self.header_deadline.cancel()

        def handle_one_response(self):
            self.header_deadline.cancel()
            self.application = closing_when_asked(self.server.app, self)
            offer_abort(self.environ, lambda: shut_down(self.connection))
            super().handle_one_response()

    class CappedPool:
        def __init__(self, size):
            self.pool = eventlet.GreenPool(size)

        def spawn(self, process_request, connection):
            (address, _port), sock = connection[0], connection[1]
            if not connections.admit(address):
                return eventlet.spawn(connections.refuse, sock)
            return self.pool.spawn(self.serve, process_request, connection, address)

        def serve(self, process_request, connection, address):
            try:
                process_request(connection)
            finally:
                connections.release(address)

        def waitall(self):
            return self.pool.waitall()

    # debug=False: no traceback in a 500's body (eventlet sends one by default), and no
    # "accepted" line per connection in the log.
    eventlet.wsgi.server(listener, app, log_output=access_log, protocol=DeadlineProtocol, debug=False,
                         custom_pool=CappedPool(max_connections()))


def gevent_server(listener, access_log, header_timeout, connections):
    """gevent's pywsgi with the same deadline on headers and the same per-address cap."""
    import gevent
    from gevent import pool, pywsgi

    class DeadlineHandler(pywsgi.WSGIHandler):
        def handle_one_request(self):
            self.header_deadline = gevent.Timeout.start_new(header_timeout, headers_too_slow())
            try:
                return super().handle_one_request()
            finally:
                self.header_deadline.close()

        def handle_one_response(self):
            self.header_deadline.close()
            offer_abort(self.environ, lambda: shut_down(self.__dict__.get("socket")))
            return super().handle_one_response()

        def _handle_client_error(self, error):
            if isinstance(error, TimeoutError):
                return None                     # headers too slow: close, without a traceback
            return super()._handle_client_error(error)

        def run_application(self):
            super().run_application()
            if self.close_connection:
                # pywsgi would otherwise read (and wait for) the unread body before closing.
                self.wsgi_input.content_length = self.wsgi_input.position
                self.wsgi_input.chunked_input = False

    class CappedServer(pywsgi.WSGIServer):
        def handle(self, sock, address):
            if not connections.admit(address[0]):
                return connections.refuse(sock)
            try:
                super().handle(sock, address)
            finally:
                connections.release(address[0])

    # WebSocket support comes from simple-websocket, as under socketio.run.
    CappedServer(listener, app, handler_class=DeadlineHandler, log="default" if access_log else None,
                 spawn=pool.Pool(max_connections())).serve_forever()


def serve(host, port):
    access_log = os.environ.get("ACCESS_LOG", "1") == "1"
    header_timeout = app.config["HEADER_TIMEOUT_SECONDS"]
    connections = ConnectionsPerAddress(per_address_cap())
    if ASYNC_MODE == "eventlet":
        eventlet_server(listening_socket(host, port), access_log, header_timeout, connections)
    elif ASYNC_MODE == "gevent":
        gevent_server(listening_socket(host, port), access_log, header_timeout, connections)
    else:
        # Development and CLI only: werkzeug's server has neither the deadline nor the cap.
        socketio.run(app, host=host, port=port, log_output=access_log, allow_unsafe_werkzeug=False)


def stop_gracefully():
    """On SIGTERM: store, publish and acknowledge the messages already received, and let the
    sends to phones in flight finish (for at most SHUTDOWN_GRACE_SECONDS), then exit. A job
    sweep cut short is a rolled-back transaction, redone at the next tick. Every message is committed before it is
    acknowledged, so nothing acknowledged is lost; clients reconnect (to this process
    when it is back, or to another one) and resend what was not acknowledged."""
    def finish():
        log.info("shutting down")
        deadline = time.monotonic() + float(os.environ.get("SHUTDOWN_GRACE_SECONDS", "5"))
        stop_sender()           # no new sends to phones; one cut short is sent again (channels/sender.py)
        while not (writer_is_idle() and sender_is_idle()) and time.monotonic() < deadline:
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
    start_outbox_sender(app)
    stall_ms = int(os.environ.get("LOOP_STALL_WARNING_MS", "100"))
    if ASYNC_MODE in ("eventlet", "gevent") and stall_ms > 0:
        watch_event_loop(socketio, stall_ms)
        watch_garbage_collections(stall_ms)
    stop_gracefully()
    with app.app_context():
        search_engine(app)              # made before the loop runs (~30 ms of CPU on PostgreSQL)
    tune_garbage_collector()
    serve(os.environ.get("HOST", "127.0.0.1"), int(os.environ.get("PORT", "5000")))
