"""Every agent changes its own display name and password."""
from playwright.sync_api import expect

from tests.browser.pages import expect_live, log_in, unique_name
from tests.support import flask_cli, login


def new_agent(server, name):
    email = name.lower().replace(" ", "-") + "@example.com"
    created = flask_cli(server.env, "chat", "create-agent", "--email", email, "--name", name,
                        "--password", "first-password")
    assert created.returncode == 0, created.stderr
    return email


def test_an_agent_changes_its_name_and_password_and_its_other_logins_end(server, new_page):
    name = unique_name("Rosa")
    email = new_agent(server, name)
    elsewhere = login(server, email, "first-password")           # another browser, logged in
    page = new_page()
    log_in(page, server, email, "first-password")
    page.get_by_role("link", name=name).click()
    expect(page).to_have_url(server.url + "/account")

    page.get_by_label("Display name").fill("Rosa from Support")
    page.get_by_role("button", name="Save name").click()
    expect(page.locator(".flash")).to_have_text("Your display name is now Rosa from Support.")
    expect(page.locator(".who")).to_contain_text("Rosa from Support")

    page.get_by_label("Current password").fill("not-my-password")
    page.get_by_label("New password", exact=True).fill("second-password")
    page.get_by_label("New password again").fill("second-password")
    page.get_by_role("button", name="Change password").click()
    expect(page.locator(".field-error")).to_have_text(["That is not your current password."])

    page.get_by_label("Current password").fill("first-password")
    page.get_by_label("New password", exact=True).fill("short")
    page.get_by_label("New password again").fill("short")
    page.get_by_role("button", name="Change password").click()
    expect(page.locator(".field-error")).to_have_text(["A password needs 8 to 200 characters."])

    page.get_by_label("Current password").fill("first-password")
    page.get_by_label("New password", exact=True).fill("second-password")
    page.get_by_label("New password again").fill("second-password")
    page.get_by_role("button", name="Change password").click()
    expect(page.locator(".flash")).to_have_text("Your password has been changed; your other logins have ended.")

    assert elsewhere.get(server.url + "/dashboard", allow_redirects=False, timeout=5).status_code == 302
    page.get_by_role("link", name="← Back to the dashboard").click()
    expect_live(page)                                            # this browser stays logged in
    assert login(server, email, "second-password").get(server.url + "/dashboard", timeout=5).status_code == 200
