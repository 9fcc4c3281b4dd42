"""Which browser origins may talk to the app: its own, and each site's list."""
import os
import time

from flask import current_app, request

from .extensions import db
from .models import Site

_cache = {"origins": frozenset(), "loaded_at": float("-inf")}
CACHE_SECONDS = 10      # how long another process may still use an older list (chat/sites.py)


def origin_of_environ(environ):
    """The app's own origin as seen by a request (or APP_ORIGIN when set)."""
    configured = current_app.config["APP_ORIGIN"]
    if configured:
        return configured
    return f"{environ.get('wsgi.url_scheme', 'http')}://{environ.get('HTTP_HOST', '')}"


def public_origin(config):
    """Where people and providers reach this server from outside (the links a phone is sent, the
    webhooks the fakes post): APP_ORIGIN, or in development where bin/run serves (the loopback
    address and wsgi.py's PORT); None when neither is known."""
    if config["APP_ORIGIN"]:
        return config["APP_ORIGIN"]
    if config["CHAT_ENV"] == "development":
        return f"http://127.0.0.1:{os.environ.get('PORT', '5000')}"
    return None


def own_origin():
    return origin_of_environ(request.environ)


def request_origin():
    return request.headers.get("Origin")


def is_own_origin(origin):
    """Missing Origin means a same-origin GET or a non-browser client."""
    return origin is None or origin == own_origin()


def site_allows_origin(site, origin):
    """The widget frame (the app's own origin) or an origin the site lists."""
    if origin is None or origin == own_origin():
        return True
    return origin in site.origin_list


def any_site_origins():
    """Every origin some site lists, cached for a few seconds."""
    if time.monotonic() - _cache["loaded_at"] > CACHE_SECONDS:
        rows = db.session.execute(db.select(Site.allowed_origins)).scalars()
        _cache["origins"] = frozenset(o for row in rows for o in row.split() if o != "self")
        _cache["loaded_at"] = time.monotonic()
    return _cache["origins"]


def forget_site_origins():
    """A site's origins changed: this process reads them again at the next check."""
    _cache["loaded_at"] = float("-inf")


def make_socket_origin_check(app):
    """Engine.IO's first gate; each namespace then checks its own rule."""
    def is_allowed(origin, environ):
        with app.app_context():
            return origin == origin_of_environ(environ) or origin in any_site_origins()
    return is_allowed
