"""The login rules: where a login may redirect to, what a failed login costs, and the
password checks on the live server (eventlet), where they run off the event loop."""
import pytest
import requests

from chat import passwords
from chat.auth import safe_next_url
from chat.cli import save_agent
from chat.extensions import db

from tests.support import csrf_token, login, submit_login


@pytest.mark.parametrize("target", [
    "/dashboard", "/dashboard/sessions/abc", "/dashboard/", "/dashboard?tab=mine&x=//y", "/",
])
def test_a_path_on_this_site_is_kept(app, target):
    with app.test_request_context():
        assert safe_next_url(target) == target


@pytest.mark.parametrize("target", [
    None, "", "dashboard", "//evil.example", "/\t/evil.example", "/\n/evil.example", "/\r\n/x",
    "/.//evil.example", "/..//evil.example", "/\\evil.example", "\\\\evil.example", "/ /evil.example",
    "https://evil.example/", "/x\x7f", "/" + "a" * 2001,
])
def test_anything_else_goes_to_the_dashboard(app, target):
    with app.test_request_context():
        assert safe_next_url(target) == "/dashboard"


@pytest.fixture
def password_checks(monkeypatch):
    """Counts every password hash the login checks, wherever it is checked."""
    calls = []
    real = passwords.check_password_hash

    def counting(stored, password):
        calls.append(password)
        return real(stored, password)
    monkeypatch.setattr(passwords, "check_password_hash", counting)
    return calls


@pytest.mark.parametrize("email", ["nobody@example.com", "off@example.com", "on@example.com"])
def test_every_failed_login_checks_one_password_hash(app, password_checks, email):
    """Unknown, disabled and known emails cost the same hash check, so timing tells nothing."""
    save_agent("on@example.com", "On", "agent", "right-password")
    save_agent("off@example.com", "Off", "agent", "right-password").active = False
    db.session.commit()
    client = app.test_client()
    token = csrf_token(client.get("/login").text)
    response = client.post("/login", data={"email": email, "password": "wrong-password", "csrf_token": token})
    assert response.status_code == 400 and b"Wrong email or password." in response.data
    assert password_checks == ["wrong-password"]


def test_on_the_live_server_a_wrong_password_and_an_unknown_email_get_the_same_refusal(server):
    refusals = [submit_login(server, requests.Session(), email, password)
                for email, password in (("demo@example.com", "wrong-password"), ("nobody@example.com", "demo-password"))]
    assert [response.status_code for response in refusals] == [400, 400]
    assert all("Wrong email or password." in response.text for response in refusals)
    dashboard = login(server).get(server.url + "/dashboard", allow_redirects=False, timeout=5)
    assert dashboard.status_code == 200
