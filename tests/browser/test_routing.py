"""Routing in the browser: a waiting visitor sees its place in line move up; an admin sets an
agent's capacity on the team page and a site's routing on its page."""
import re

from playwright.sync_api import expect

from tests.browser.pages import log_in, start_widget_chat, unique_name
from tests.support import connect_agent, login, start_chat
from tests.test_routing import new_team


def open_frame(page, server, site_key):
    """The widget's frame page of a site, on its own (as the loader frames it)."""
    page.goto(f"{server.url}/widget/frame?site={site_key}")
    return page


def test_a_waiting_visitor_sees_its_place_in_line_move_up_until_an_agent_comes(server, visitor_page, clients):
    key, [(email, name)] = new_team(server, "manual", [5])
    ahead = start_chat(server, site_key=key)
    widget = open_frame(visitor_page, server, key)
    start_widget_chat(widget, unique_name("Quinn"))
    place = widget.locator("#queuePosition")
    expect(place).to_have_text("You are number 2 in line")          # no claims yet: no estimate

    agent = connect_agent(server, login(server, email, "agent-password"))
    clients.append(agent)
    assert agent.call("claim_session", {"session_id": ahead["session_id"]})["ok"]
    # One claim so far, after a wait of a second or two: an estimate of a minute, or none once waited longer.
    expect(place).to_have_text(re.compile(r"^You are next in line(, about 1 minute)?$"))

    mine = widget.evaluate("JSON.parse(localStorage.getItem('cc_chat_session')).session_id")
    assert agent.call("claim_session", {"session_id": mine})["ok"]
    expect(widget.locator("#messages .message-system .message-text").last).to_have_text(f"{name} has joined the chat")
    expect(place).to_be_hidden()
    expect(widget.locator("#waitingNote")).to_be_hidden()


def test_an_admin_sets_an_agents_capacity_and_a_sites_routing(server, new_page):
    key, [(email, _)] = new_team(server, "manual", [5])
    admin = new_page()
    log_in(admin, server, "admin@example.com", "demo-password")
    admin.goto(server.url + "/admin/team")
    row = admin.locator(f'tr[data-email="{email}"]')
    capacity = row.get_by_label(f"Capacity of {email}")
    expect(capacity).to_have_value("5")
    capacity.fill("0")
    row.get_by_role("button", name="Save").click()                  # the browser holds it back (1 to 50)
    assert capacity.evaluate("field => field.validity.rangeUnderflow")
    capacity.fill("3")
    row.get_by_role("button", name="Save").click()
    expect(admin.locator(".flash")).to_contain_text("is saved.")
    expect(admin.locator(f'tr[data-email="{email}"]').get_by_label(f"Capacity of {email}")).to_have_value("3")
    expect(admin.locator('tr[data-email="supervisor@example.com"]')).to_contain_text("not capped as supervisor")

    admin.goto(f"{server.url}/admin/sites/{key}")
    routing = admin.get_by_label("Routing")
    expect(routing).to_have_value("manual")
    routing.select_option("auto")
    admin.get_by_role("button", name="Save", exact=True).click()
    expect(admin.locator(".flash")).to_contain_text("is saved.")
    expect(admin.get_by_label("Routing")).to_have_value("auto")
