"""Socket.IO events reuse their connection's session and skip URL routing; pages do not."""
from flask import request, session


def test_a_socket_event_reuses_the_saved_session_and_skips_routing(app):
    saved = {"_user_id": "7"}
    with app.test_request_context("/socket.io/", headers={"Cookie": "session=forged"}):
        request.environ["saved_session"] = saved
        assert app.session_interface.open_session(app, request) is saved
        assert app.create_url_adapter(request) is None


def test_a_page_request_opens_its_cookie_session_and_is_routed(app):
    with app.test_request_context("/login"):
        assert dict(session) == {}
        assert request.endpoint == "auth.login"
