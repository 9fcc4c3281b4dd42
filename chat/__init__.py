"""A self-hosted live chat: widget, agent dashboard and real-time messages."""
import logging
import os
from pathlib import Path

from werkzeug.middleware.proxy_fix import ProxyFix

from .config import load_settings
from .extensions import csrf, db, limiter, login_manager, migrate, socketio
from .socket_context import ChatFlask

ROOT = Path(__file__).resolve().parent.parent


def create_app(test_config=None):
    """Build the app: settings, extensions, blueprints, socket handlers and CLI."""
    app = ChatFlask(__name__, instance_path=os.environ.get("INSTANCE_PATH", str(ROOT / "instance")),
                template_folder=str(ROOT / "templates"), static_folder=str(ROOT / "static"))
    os.makedirs(app.instance_path, exist_ok=True)
    app.config.update(load_settings(app.instance_path))
    if test_config:
        app.config.update(test_config)
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO"),
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("apscheduler").setLevel(logging.WARNING)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True)
    login_manager.init_app(app)
    from .security import register_security
    register_security(app)               # before CSRF: a foreign origin is refused before its token is checked
    csrf.init_app(app)
    limiter.init_app(app)

    from . import publish
    from .message_queue import PipelinedRedisManager
    from .origins import make_socket_origin_check
    queue_url = app.config["SOCKETIO_MESSAGE_QUEUE"]
    queue_options = {"message_queue": queue_url}
    if queue_url and queue_url.startswith(("redis://", "rediss://")):
        queue_options["client_manager"] = PipelinedRedisManager(
            queue_url, channel="flask-socketio", max_connections=app.config["REDIS_MAX_CONNECTIONS"])
    socketio.init_app(
        app,
        async_mode=app.config["SOCKETIO_ASYNC_MODE"],
        **queue_options,
        cors_allowed_origins=make_socket_origin_check(app),
        # Only the two namespaces exist: "/" (python-socketio's default) would let a bare
        # connection pass for a joined one and outlive NAMESPACE_JOIN_TIMEOUT_SECONDS.
        namespaces=[publish.VISITOR_NS, publish.AGENT_NS],
        max_http_buffer_size=app.config["MAX_MESSAGE_LENGTH"] * 4 + 1024,
        ping_interval=app.config["SOCKETIO_PING_INTERVAL"],
        ping_timeout=app.config["SOCKETIO_PING_TIMEOUT"],
    )
    from .engineio_guard import guard_engineio
    guard_engineio(app, socketio)
    trust_proxies(app)

    from . import account, admin, auth, cli, dashboard, health, public_api, reports_views, supervisor, widget
    from . import realtime  # noqa: F401  (socket handlers)
    from .errors import register_error_handlers
    for module in (auth, account, admin, dashboard, supervisor, health, public_api, reports_views, widget, cli):
        app.register_blueprint(module.bp)
    register_error_handlers(app)
    return app


def trust_proxies(app):
    """Behind TRUSTED_PROXIES proxies, take the client's address (X-Forwarded-For) and
    scheme (X-Forwarded-Proto) from what they set. It wraps Socket.IO's middleware (set up
    by socketio.init_app), so Engine.IO's origin check and the socket handlers see the
    same values as the pages. X-Forwarded-Host is not trusted: the documented nginx sets
    Host itself and passes a client's X-Forwarded-Host through untouched."""
    hops = app.config["TRUSTED_PROXIES"]
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=0)
