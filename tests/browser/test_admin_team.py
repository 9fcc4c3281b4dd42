"""An admin manages the team from /admin/team; nobody else may."""
from playwright.sync_api import expect

from tests.browser.pages import expect_live, log_in, unique_name
from tests.support import login


def team_row(page, email):
    return page.locator(f'tr[data-email="{email}"]')


def test_an_admin_adds_changes_disables_and_resets_an_agent(server, new_page):
    admin = new_page()
    log_in(admin, server, "admin@example.com", "demo-password")
    admin.get_by_role("link", name="Admin", exact=True).click()
    admin.get_by_role("link", name="Team", exact=True).click()
    expect(admin.get_by_role("heading", name="Team")).to_be_visible()

    admin.get_by_label("Email").fill("not an email")
    admin.get_by_label("Name", exact=True).fill("Nia")
    admin.get_by_role("button", name="Add agent").click()
    expect(admin.locator("[role=alert].field-error")).to_have_text("Please enter a valid email address.")
    expect(admin.get_by_label("Name", exact=True)).to_have_value("Nia")            # nothing typed is lost

    email = unique_name("nia").lower().replace(" ", "-") + "@example.com"
    admin.get_by_label("Email").fill(email)
    admin.get_by_role("button", name="Add agent").click()
    password = admin.locator("#temporaryPassword").inner_text()
    agent = new_page()
    log_in(agent, server, email, password)                        # the new agent is in, live

    row = team_row(admin, email)
    row.get_by_label(f"Role of {email}").select_option("supervisor")
    row.get_by_role("button", name="Save").click()
    expect(admin.locator(".flash")).to_have_text("Nia is saved.")
    expect(agent).to_have_url(f"{server.url}/login?ended=1")        # a new role ends its login at once
    log_in(agent, server, email, password)
    expect(agent.locator(".who")).to_contain_text("supervisor")

    team_row(admin, email).get_by_role("button", name="Disable").click()
    expect(admin.locator(".flash")).to_contain_text("Nia is disabled")
    expect(team_row(admin, email).locator(".status")).to_have_text("disabled")
    expect(agent).to_have_url(f"{server.url}/login?ended=1")
    team_row(admin, email).get_by_role("button", name="Enable").click()
    team_row(admin, email).get_by_role("button", name="Reset password").click()
    new_password = admin.locator("#temporaryPassword").inner_text()
    assert new_password != password
    log_in(agent, server, email, new_password)
    expect_live(agent)


def test_only_admins_see_the_team_page(server):
    agent = login(server)
    refused = agent.get(server.url + "/admin/team", timeout=5)
    assert refused.status_code == 403 and "Only an admin may manage the team, the sites and the shared replies." in refused.text
    assert agent.get(server.url + "/admin/sites", timeout=5).status_code == 403
    assert 'href="/admin/team"' not in agent.get(server.url + "/dashboard", timeout=5).text
