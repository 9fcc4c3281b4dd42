"""Refusals: `ChatError` (a code and a sentence), and how each code is answered over HTTP
(JSON `{"error": {"code", "message"}}` with the right status under `/api/`, pages elsewhere)."""
from flask import jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException


class ChatError(Exception):
    """A refusal the client can show: a stable code and a sentence."""

    def __init__(self, code, message, retry_after=None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.retry_after = retry_after      # seconds, for a refusal that passes with time

    def to_dict(self):
        return {"code": self.code, "message": self.message}


def refused_page(title, message, status=403):
    """The page that tells a person what was not done, and why."""
    return render_template("refused.html", title=title, message=message), status


def session_not_found():
    """The same answer for a chat that does not exist and one the caller may not see."""
    return ChatError("session_not_found", "This chat could not be found.")


def session_closed():
    return ChatError("session_closed", "This chat has ended.")


STATUS_OF_CODE = {
    "session_not_found": 404,
    "site_not_found": 404,
    "session_closed": 409,
    "already_claimed": 409,
    "session_changed": 409,
    "at_capacity": 409,
    "not_assigned": 403,
    "forbidden": 403,
    "invalid_target": 400,
    "origin_not_allowed": 403,
    "login_required": 401,
    "invalid_payload": 400,
    "rate_limited": 429,
    "too_many_open_sessions": 429,
    "attachment_not_found": 404,
    "file_too_large": 413,
    "file_type_not_allowed": 415,
    "image_invalid": 400,
    "upload_limit": 429,
    "not_failed": 409,
    "window_closed": 409,
    "visitor_not_found": 404,
    "identity_not_verified": 403,
    "too_many_conversations": 429,
}


def json_error(code, message, status):
    response = jsonify({"error": {"code": code, "message": message}})
    response.status_code = status
    return response


def wants_json():
    return request.path.startswith("/api/")


def register_error_handlers(app):
    @app.errorhandler(ChatError)
    def chat_error(error):
        response = json_error(error.code, error.message, STATUS_OF_CODE.get(error.code, 400))
        if error.retry_after is not None:
            response.headers["Retry-After"] = str(max(1, int(error.retry_after)))
        return response

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        if wants_json():
            return json_error("csrf_failed", error.description, 400)
        return refused_page("The form expired", "The form expired or came from another site; "
                                                "please go back, reload it and try again.", 400)

    @app.errorhandler(429)
    def too_many_requests(error):
        message = "Too many attempts; please wait a minute and try again."
        if wants_json():
            return json_error("rate_limited", message, 429)
        return refused_page("Too many attempts", message, 429)

    @app.errorhandler(HTTPException)
    def http_error(error):
        if error.code == 413 and request.path.endswith("/attachments"):
            # MAX_CONTENT_LENGTH: an upload refused before its body is read.
            from .attachments import too_large
            return chat_error(too_large())
        if wants_json():
            code = (error.name or "error").lower().replace(" ", "_")
            return json_error(code, error.description, error.code)
        return error

    @app.errorhandler(Exception)
    def unexpected_error(error):
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        if wants_json():
            return json_error("internal_error", "Something went wrong; try again.", 500)
        return "Something went wrong; try again.", 500
