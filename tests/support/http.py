"""What a widget and an agent's browser do over HTTP: start a chat, read its messages,
log in through the real form."""
import re

import requests
from flask import g


def start_chat(server, **fields):
    body = {"site_key": "demo", **fields}
    response = requests.post(server.api("/start"), json=body, timeout=5)
    assert response.status_code == 201, response.text
    return response.json()


def message_pages(server, chat):
    """A chat's messages as the visitor reads them over the REST polling endpoint: page
    after page, while the server says there is more."""
    after = 0
    while True:
        response = requests.get(server.api(f"/messages/{chat['session_id']}?after={after}"), timeout=5,
                                headers={"X-Session-Key": chat["session_key"]})
        assert response.status_code == 200, response.text
        page = response.json()
        yield page["messages"]
        if not page["has_more"]:
            return
        after = page["messages"][-1]["seq"]


def stored_messages(server, chat):
    """Every message of a chat, as the visitor reads them over the REST polling endpoint."""
    return [message for page in message_pages(server, chat) for message in page]


def csrf_token(page):
    """The CSRF token in an HTML page: the login form's hidden field, or the meta tag on
    every page of a logged-in agent."""
    return re.search(r'name="csrf[_-]token" (?:type="hidden" value|content)="([^"]+)"', page).group(1)


def fresh(client):
    """A Flask test client whose next request loads its own user and CSRF token: the unit tests'
    app context outlives each request, and Flask-Login and Flask-WTF keep both in `g`."""
    g.pop("_login_user", None)
    g.pop("csrf_token", None)
    return client


def logged_in_client(app, email, password):
    """A Flask test client of `app` logged in as `email`, and the CSRF token its POSTs carry."""
    client = app.test_client()
    token = csrf_token(fresh(client).get("/login").text)
    answer = fresh(client).post("/login", data={"email": email, "password": password, "csrf_token": token})
    assert answer.status_code == 302, answer.text
    return client, csrf_token(fresh(client).get("/dashboard").text)


def submit_login(server, http, email, password, next_path=None):
    """Fill in and post the real login form (CSRF token and all); the response.
    `next_path` goes into the URL as it is, unquoted, the way a crafted link would send it."""
    token = csrf_token(http.get(server.url + "/login", timeout=5).text)
    url = server.url + "/login" + (f"?next={next_path}" if next_path else "")
    # A browser sends the page as Referer; over HTTPS, Flask-WTF requires it to match the host.
    return http.post(url, allow_redirects=False, timeout=5, headers={"Referer": server.url + "/login"},
                     data={"email": email, "password": password, "csrf_token": token})


def login(server, email="demo@example.com", password="demo-password", http=None):
    """A requests session (a new one unless given) logged in through the real form."""
    http = http or requests.Session()
    response = submit_login(server, http, email, password)
    assert response.status_code == 302, response.text
    return http


def submit_logout(server, http, headers=None):
    """Post the dashboard's logout form with the token of the page; the response."""
    token = csrf_token(http.get(server.url + "/dashboard", timeout=5).text)
    return http.post(server.url + "/logout", data={"csrf_token": token}, headers=headers,
                     allow_redirects=False, timeout=5)


def logout(server, http):
    """Log the agent of `http` out through the dashboard's form."""
    response = submit_logout(server, http)
    assert response.status_code == 302, response.text
