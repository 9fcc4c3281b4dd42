"""Lighter Flask request contexts for Socket.IO events.

Flask-SocketIO pushes a request context for every event, and Flask then opens the cookie
session (a signing serializer built, the cookie parsed and verified) and routes the URL
(`/socket.io/` matches no view, so a NotFound is raised and kept): together more CPU than
the handler that stores and publishes a message. After a connection's first event neither
is needed: Flask-SocketIO swaps in the session it saved then, and no handler builds URLs.
"""
from flask import Flask
from flask.sessions import SecureCookieSessionInterface


def is_socket_event(environ):
    """Flask-SocketIO keeps the connection's session in its environ from the first event on."""
    return "saved_session" in environ


class SessionOncePerSocket(SecureCookieSessionInterface):
    def open_session(self, app, request):
        if is_socket_event(request.environ):
            return request.environ["saved_session"]
        if not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class()     # no cookie, nothing to verify (webhooks, the widget's API)
        return super().open_session(app, request)


class ChatFlask(Flask):
    session_interface = SessionOncePerSocket()

    def create_url_adapter(self, request):
        """No URL routing for socket events (None tells the request context to skip it)."""
        if request is not None and is_socket_event(request.environ):
            return None
        return super().create_url_adapter(request)
