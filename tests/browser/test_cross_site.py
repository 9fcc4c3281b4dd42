"""Another website cannot act with an agent's login: here, it cannot log the agent out."""
import functools
import http.server
import threading

import pytest
from playwright.sync_api import expect

from tests.browser.pages import wait_until_dashboard_loaded
from tests.support import free_port

EVIL_PAGE = """<!doctype html><title>Win a prize</title>
<form id="f" method="post" action="{target}/logout"></form>
<script>document.getElementById("f").submit();</script>"""


@pytest.fixture
def evil_site(server, tmp_path):
    """A page on another site (localhost is not the same site as 127.0.0.1) that posts a form
    to the chat server's /logout as soon as it loads."""
    (tmp_path / "prize.html").write_text(EVIL_PAGE.format(target=server.url))
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    handler.log_message = lambda *args: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://localhost:{httpd.server_address[1]}/prize.html"
    httpd.shutdown()
    httpd.server_close()


def test_a_form_on_another_site_does_not_log_the_agent_out(server, agent_page, evil_site):
    with agent_page.expect_response(server.url + "/logout"):
        agent_page.goto(evil_site)
    agent_page.goto(server.url + "/dashboard")
    expect(agent_page).to_have_url(server.url + "/dashboard")
    wait_until_dashboard_loaded(agent_page)
    expect(agent_page.get_by_role("button", name="Log out")).to_be_visible()
