"""What every socket event handler shares: acknowledgements and per-socket state."""
import functools
import logging

from flask import request
from flask_socketio import ConnectionRefusedError, emit
from sqlalchemy.exc import DBAPIError

from ..extensions import db, socketio
from ..errors import ChatError
from ..validation import require_object

log = logging.getLogger(__name__)

# What a handler needs to know about its socket, set at connect: {(namespace, sid): {...}}
_sockets = {}


class LoginEnded(ChatError):
    """The socket's login was revoked: the event is refused and the socket closed."""

    def __init__(self):
        super().__init__("login_required", "Log in again.")


def remember_socket(namespace, **state):
    _sockets[(namespace, request.sid)] = state


def socket_state(namespace):
    return _sockets.get((namespace, request.sid))


def forget_socket(namespace):
    return _sockets.pop((namespace, request.sid), None)


def acknowledged(namespace):
    """Wrap an event handler: validate the payload is an object, turn refusals
    into `{ok: false, error}` acks plus an `error` event, never a traceback."""
    def decorate(handler):
        @functools.wraps(handler)
        def wrapper(payload=None, *_extra):
            state = socket_state(namespace)
            try:
                if state is None:
                    raise ChatError("not_connected", "Connect before sending events.")
                payload = require_object(payload)
                try:
                    result = handler(state, payload)
                except DBAPIError as error:
                    if not error.connection_invalidated:
                        raise
                    # The database dropped the connection (a restart, a failover); the pool
                    # has discarded it. Every event is safe to run twice (client_id).
                    db.session.rollback()
                    log.warning("event %s retried on a new database connection", handler.__name__)
                    result = handler(state, payload)
                return {"ok": True, **(result or {})}
            except ChatError as error:
                db.session.rollback()
                emit("error", error.to_dict())
                if isinstance(error, LoginEnded):
                    close_after_reply(request.sid, namespace)
                return {"ok": False, "error": error.to_dict()}
            except Exception:
                db.session.rollback()
                log.exception("event %s failed (sid %s)", handler.__name__, request.sid)
                error = {"code": "internal_error", "message": "Something went wrong; try again."}
                emit("error", error)
                return {"ok": False, "error": error}
        return wrapper
    return decorate


def close_after_reply(sid, namespace):
    """Disconnect the socket once this handler's acknowledgement has gone out (a task
    starts after the handler returns under eventlet and gevent)."""
    socketio.start_background_task(socketio.server.disconnect, sid, namespace=namespace)


def refuse(code, message):
    """Refuse a connection; the client sees `{message, data: {code}}`."""
    return ConnectionRefusedError(message, {"code": code})


def sockets_of(namespace):
    """(sid, state) of every socket of `namespace` open in this process."""
    return [(sid, state) for (ns, sid), state in list(_sockets.items()) if ns == namespace]


def unknown_event(event, *_args):
    """Any event the namespace does not know gets a clear refusal, not silence."""
    error = {"code": "unknown_event", "message": f"Unknown event {str(event)[:40]!r}."}
    emit("error", error)
    return {"ok": False, "error": error}
