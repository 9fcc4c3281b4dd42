"""Engine.IO connections that cost the server without using the chat are closed.

- A connection that has joined no Socket.IO namespace for NAMESPACE_JOIN_TIMEOUT_SECONDS
  (a bare WebSocket upgrade, a connect that keeps being refused) is closed.
- A malformed Socket.IO packet is logged in one line, not a traceback, and the
  connection is closed at the MALFORMED_PACKET_LIMIT-th.
- A long-polling POST larger than the Engine.IO buffer gets a 413 and its connection
  closes (Engine.IO itself waited forever for a poll that would collect its CLOSE);
  a second long-poll on a session that has one waiting gets a 400.
"""
import logging
import os
import time
from urllib.parse import parse_qs

from socketio import packet as sio_packet

log = logging.getLogger(__name__)

CONNECT, ACK, EVENT, BINARY_EVENT, BINARY_ACK = (
    sio_packet.CONNECT, sio_packet.ACK, sio_packet.EVENT, sio_packet.BINARY_EVENT, sio_packet.BINARY_ACK)
CLIENT_PACKET_TYPES = {CONNECT, sio_packet.DISCONNECT, EVENT, ACK, BINARY_EVENT, BINARY_ACK}


class MalformedPacket(ValueError):
    """A packet no Socket.IO client sends: bad JSON, an unknown type, an event that is
    not `[name, ...args]`."""


def packet_class_refusing_malformed(base):
    class CheckedPacket(base):
        def decode(self, encoded_packet):
            try:
                attachments = super().decode(encoded_packet)
            except (ValueError, TypeError, RecursionError) as error:
                raise MalformedPacket(f"undecodable packet ({type(error).__name__})") from None
            refuse_malformed(self)
            return attachments
    return CheckedPacket


def refuse_malformed(pkt):
    if pkt.packet_type not in CLIENT_PACKET_TYPES:
        raise MalformedPacket(f"unknown packet type {str(pkt.packet_type)[:10]!r}")
    if pkt.packet_type in (EVENT, BINARY_EVENT):
        if not (isinstance(pkt.data, list) and pkt.data and isinstance(pkt.data[0], str)):
            raise MalformedPacket("an event that is not [name, ...arguments]")
    elif pkt.packet_type in (ACK, BINARY_ACK):
        if not isinstance(pkt.data, list):
            raise MalformedPacket("an acknowledgement that is not a list")
    elif pkt.packet_type == CONNECT and pkt.data is not None and not isinstance(pkt.data, dict):
        raise MalformedPacket("connect data that is not an object")


def raised_by_socketio(error):
    """python-socketio's own refusals of a packet (an unexpected binary attachment...)."""
    frame = error.__traceback__
    while frame.tb_next is not None:
        frame = frame.tb_next
    return f"{os.sep}socketio{os.sep}" in frame.tb_frame.f_code.co_filename


class OneLineErrors(logging.Filter):
    """Engine.IO logs a traceback for a polling POST it cannot decode (more than 16 packets,
    a bad frame): a client's mistake, worth one line."""
    MESSAGES = frozenset({"post request handler error"})

    def filter(self, record):
        if record.exc_info and record.exc_info[1] is not None and record.getMessage() in self.MESSAGES:
            error = record.exc_info[1]
            record.msg, record.args = "%s: %s: %s", (record.getMessage(), type(error).__name__, str(error)[:120])
            record.exc_info = record.exc_text = None
        return True


class EngineIOGuard:
    def __init__(self, sio_server, join_timeout, malformed_limit):
        self.sio, self.eio = sio_server, sio_server.eio
        self.join_timeout, self.malformed_limit = join_timeout, malformed_limit
        self.without_namespace = {}           # eio sid -> monotonic time it was first seen so
        self.malformed = {}                   # eio sid -> malformed packets received
        self.sweeper = None

    def install(self):
        handlers = self.eio.handlers
        on_connect, on_message, on_disconnect = handlers["connect"], handlers["message"], handlers["disconnect"]

        def connect(eio_sid, environ):
            self.without_namespace[eio_sid] = time.monotonic()
            if self.sweeper is None and self.join_timeout > 0:
                self.sweeper = self.eio.start_background_task(self.sweep_forever)
            return on_connect(eio_sid, environ)

        def message(eio_sid, data):
            if eio_sid not in self.eio.sockets:
                return                        # closed here; frames already in flight are dropped
            try:
                on_message(eio_sid, data)
            except ValueError as error:
                if not isinstance(error, MalformedPacket) and not raised_by_socketio(error):
                    raise                     # a handler's bug keeps its traceback
                self.count_malformed(eio_sid, error)

        def disconnect(eio_sid, *reason):
            self.without_namespace.pop(eio_sid, None)
            self.malformed.pop(eio_sid, None)
            if reason and reason[0] == self.eio.reason.PING_TIMEOUT:
                self.abort_after_grace(eio_sid)
            return on_disconnect(eio_sid, *reason)

        handlers.update(connect=connect, message=message, disconnect=disconnect)
        self.sio.packet_class = packet_class_refusing_malformed(self.sio.packet_class)
        self.eio.disconnect = self.disconnect_without_waiting
        websocket_class = (self.eio._async or {}).get("websocket")
        if websocket_class is not None:      # a copy: the driver's dict is shared by every server
            self.eio._async = dict(self.eio._async, websocket=self.closing_on_bad_frames(websocket_class))
        if not any(isinstance(f, OneLineErrors) for f in self.eio.logger.filters):
            self.eio.logger.addFilter(OneLineErrors())

    def closing_on_bad_frames(self, websocket_class):
        """An Engine.IO frame that cannot be decoded ('x', an empty frame) escapes Engine.IO's
        WebSocket handler: the server logged a traceback for it. One line, and the socket closes."""
        def websocket(handler, server):
            def handle(ws):
                try:
                    return handler(ws)
                except (ValueError, TypeError, IndexError) as error:
                    sid = getattr(getattr(handler, "__self__", None), "sid", None)
                    log.warning("malformed Engine.IO frame from %s, closing: %s", sid, str(error)[:120])
                    if sid:
                        self.close(sid)
                    return []
            return websocket_class(handle, server)
        return websocket

    def count_malformed(self, eio_sid, error):
        count = self.malformed[eio_sid] = self.malformed.get(eio_sid, 0) + 1
        closing = count >= self.malformed_limit
        log.warning("malformed Socket.IO packet from %s (%d of %d%s): %s", eio_sid, count,
                    self.malformed_limit, ", closing" if closing else "", str(error)[:120])
        if closing:
            self.close(eio_sid)

    def has_namespace(self, eio_sid):
        manager = self.sio.manager
        return any(manager.sid_from_eio_sid(eio_sid, namespace) for namespace in list(manager.get_namespaces()))

    def sweep_forever(self):
        interval = min(1.0, self.join_timeout / 2)
        while True:
            self.eio.sleep(interval)
            try:
                self.close_connections_without_namespace()
            except Exception:                 # never let the sweeper die
                log.exception("namespace sweep failed")

    def close_connections_without_namespace(self):
        now = time.monotonic()
        for eio_sid in list(self.eio.sockets):
            if self.has_namespace(eio_sid):
                self.without_namespace.pop(eio_sid, None)
            elif now - self.without_namespace.setdefault(eio_sid, now) > self.join_timeout:
                log.debug("closing %s: no namespace joined within %ss", eio_sid, self.join_timeout)
                self.close(eio_sid)

    def close(self, eio_sid):
        self.without_namespace.pop(eio_sid, None)
        self.abort_after_grace(eio_sid)
        self.disconnect_without_waiting(eio_sid)

    def abort_after_grace(self, eio_sid):
        """A client that never answers the WebSocket close frame holds its connection
        under gevent (simple-websocket reads until the peer speaks): a second after the
        close, wsgi.py's `chat.abort_connection` shuts the TCP connection down."""
        abort = (self.sio.environ.get(eio_sid) or {}).get("chat.abort_connection")
        if abort is not None:
            self.eio.start_background_task(self.abort_later, abort)

    def abort_later(self, abort):
        self.eio.sleep(1)
        abort()

    def disconnect_without_waiting(self, sid=None):
        """Engine.IO's own disconnect waits until a poll collects the CLOSE packet, which
        holds the request that called it forever when the client sends no poll."""
        sockets = [sid] if sid is not None else list(self.eio.sockets)
        for each in sockets:
            engine_socket = self.eio.sockets.pop(each, None)
            if engine_socket is not None:
                engine_socket.close(wait=False, reason=self.eio.reason.SERVER_DISCONNECT)


class PollingGuard:
    """WSGI middleware in front of Engine.IO's long-polling requests.

    A POST above the Engine.IO buffer gets a 413 and `Connection: close` before anything
    reads its body (wsgi.py makes both servers honour the header, so a body that never
    comes holds nothing). A second GET on a session while one is waiting gets a 400 at
    once: Engine.IO would answer one of them and leave the other unanswered."""

    def __init__(self, wsgi_app, guard, path="/socket.io"):
        self.wsgi_app, self.guard, self.path = wsgi_app, guard, path
        self.waiting_polls = set()

    def __call__(self, environ, start_response):
        if not environ.get("PATH_INFO", "").startswith(self.path) or "sid=" not in environ.get("QUERY_STRING", ""):
            return self.wsgi_app(environ, start_response)
        method, sid = environ.get("REQUEST_METHOD"), query_sid(environ)
        if method == "POST" and content_length(environ) > self.guard.eio.max_http_buffer_size:
            log.warning("polling POST of %s bytes refused (sid %s)", environ.get("CONTENT_LENGTH"), sid)
            if sid:
                self.guard.close(sid)
            return answer(start_response, "413 Payload Too Large", b"Payload too large", close=True)
        if method == "GET" and environ.get("HTTP_UPGRADE", "").lower() != "websocket":
            if sid in self.waiting_polls:
                return answer(start_response, "400 Bad Request", b"One poll at a time")
            self.waiting_polls.add(sid)
            try:
                return self.wsgi_app(environ, start_response)
            finally:
                self.waiting_polls.discard(sid)
        return self.wsgi_app(environ, start_response)


def answer(start_response, status, body, close=False):
    headers = [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))]
    start_response(status, headers + ([("Connection", "close")] if close else []))
    return [body]


def content_length(environ):
    try:
        return int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def query_sid(environ):
    return parse_qs(environ.get("QUERY_STRING", "")).get("sid", [None])[0]


def guard_engineio(app, socketio):
    guard = EngineIOGuard(socketio.server, app.config["NAMESPACE_JOIN_TIMEOUT_SECONDS"],
                          app.config["MALFORMED_PACKET_LIMIT"])
    guard.install()
    app.wsgi_app = PollingGuard(app.wsgi_app, guard)
    return guard
