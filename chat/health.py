"""/healthz: is this process able to serve (database and, when used, Redis)?"""
from flask import Blueprint, current_app, jsonify

from .extensions import db, socketio
from .message_queue import shared_redis

bp = Blueprint("health", __name__)


def database_status():
    try:
        db.session.execute(db.text("SELECT 1"))
        return "ok"
    except Exception as error:  # any failure means "not healthy", with the reason shown
        db.session.rollback()
        return f"error: {type(error).__name__}"


def redis_status():
    url = current_app.config["SOCKETIO_MESSAGE_QUEUE"]
    if not url:
        return "not used"
    try:
        shared_redis(url).ping()
        return "ok"
    except Exception as error:
        return f"error: {type(error).__name__}"


@bp.get("/healthz")
def healthz():
    """For load balancers: 200 when the database (and Redis, if used) answer, else 503.
    See docs/protocol.md, `/healthz`."""
    checks = {"database": database_status(), "redis": redis_status()}
    healthy = all(value in ("ok", "not used") for value in checks.values())
    return (jsonify(status="ok" if healthy else "error", async_mode=socketio.server.eio.async_mode, **checks),
            200 if healthy else 503)
