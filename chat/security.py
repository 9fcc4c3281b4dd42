"""Response headers and the same-origin rule for the dashboard's form posts."""
from flask import request

from .errors import refused_page
from .origins import own_origin, request_origin

PAGE_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
               "connect-src 'self' {sockets}; frame-src 'self'; object-src 'none'; base-uri 'none'; "
               "form-action 'self'; frame-ancestors {ancestors}")


def content_security_policy(frame_ancestors="'none'"):
    origin = own_origin()
    sockets = origin.replace("http://", "ws://", 1).replace("https://", "wss://", 1)
    return PAGE_POLICY.format(sockets=sockets, ancestors=frame_ancestors)


def frame_ancestors_for(site):
    """The widget frame may be embedded by the site's allowed origins only."""
    return " ".join("'self'" if origin == "self" else origin for origin in site.origin_list) or "'none'"


def register_security(app):
    @app.before_request
    def refuse_cross_site_posts():
        """Dashboard and login forms accept posts from the app's own pages only
        (the public API has its own per-site origin rule)."""
        if request.method in ("GET", "HEAD", "OPTIONS") or request.path.startswith("/api/v1/chat/public/"):
            return None
        origin = request_origin()
        if origin is not None and origin != own_origin():
            return refused_page("Refused", "This form was sent from another website, so it was not accepted.")
        return None

    @app.after_request
    def add_security_headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        if response.mimetype == "text/html" and "Content-Security-Policy" not in response.headers:
            response.headers["Content-Security-Policy"] = content_security_policy()
            response.headers["X-Frame-Options"] = "DENY"
        return response
