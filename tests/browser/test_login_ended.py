"""A dashboard whose login ends elsewhere lands on the login page, saying why."""
from playwright.sync_api import expect

from tests.browser.pages import log_in, unique_name, wait_until_dashboard_loaded
from tests.support import flask_cli, login, logout


def test_a_dashboard_whose_login_ended_lands_on_the_login_page_saying_why(server, new_page):
    email = unique_name("ended").lower().replace(" ", "-") + "@example.com"
    created = flask_cli(server.env, "chat", "create-agent", "--email", email, "--name", "Ended Agent",
                        "--password", "ended-password")
    assert created.returncode == 0, created.stderr
    dashboard = new_page()
    log_in(dashboard, server, email, "ended-password")
    wait_until_dashboard_loaded(dashboard)
    expect(dashboard.locator("#connectionStatus")).to_have_text("Live")

    logout(server, login(server, email, "ended-password"))       # from another browser: every login ends

    expect(dashboard).to_have_url(f"{server.url}/login?ended=1")
    expect(dashboard.locator(".flash")).to_have_text(
        "Your login has ended: you logged out in another window, or an administrator "
        "changed or disabled your account. Log in again to continue.")
