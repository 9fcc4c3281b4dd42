"""A widget's browser over the conversations API (seed 003): it keeps the visitor token it is
given, as the widget frame does, and the site's identity secret as the site's server has it."""
import hashlib
import hmac
import re

import requests

from tests.support.http import login


class Browser:
    """One browser's widget frame: its visitor token, sent in X-Visitor-Token."""

    def __init__(self, server, site_key="demo", token=None):
        self.server, self.site_key, self.token = server, site_key, token

    def headers(self):
        return {"X-Visitor-Token": self.token} if self.token else {}

    def call(self, method, path, **options):
        return requests.request(method, self.server.api(path), headers=self.headers(), timeout=10, **options)

    def start(self, **fields):
        """A new conversation; the first one gives this browser its token."""
        response = self.call("POST", "/conversations", json={"site_key": self.site_key, **fields})
        assert response.status_code == 201, response.text
        started = response.json()
        self.token = started.get("visitor_token", self.token)
        return started

    def conversations(self):
        response = self.call("GET", f"/conversations?site_key={self.site_key}")
        assert response.status_code == 200, response.text
        return response.json()["conversations"]

    def titles(self):
        return [conversation["title"] for conversation in self.conversations()]

    def identify(self, user_id, user_hash, **fields):
        body = {"site_key": self.site_key, "user_id": user_id, "user_hash": user_hash, **fields}
        response = self.call("POST", "/identify", json=body)
        if response.status_code == 200:
            self.token = response.json()["visitor_token"]
        return response


def identity_secret(server, site_key="demo"):
    """The site's identity secret, read where its admin finds it (/admin/sites/<key>)."""
    http = login(server, "admin@example.com", "demo-password")
    page = http.get(f"{server.url}/admin/sites/{site_key}", timeout=10).text
    return re.search(r'id="identity".*?<code class="snippet-code">([0-9a-f]{64})</code>', page, re.S).group(1)


def user_hash(secret, user_id):
    """What the site's own server computes for ChatWidget.setUser."""
    return hmac.new(secret.encode(), user_id.encode(), hashlib.sha256).hexdigest()
