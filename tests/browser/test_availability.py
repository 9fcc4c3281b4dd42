"""Before a chat starts, the widget says whether the team is there to answer."""
from playwright.sync_api import expect

from tests.browser.pages import open_widget
from tests.support import add_site_and_agent


def test_with_an_agent_online_the_widget_says_when_to_expect_a_reply(server, visitor_page, agent_page):
    widget = open_widget(visitor_page, server)
    expect(widget.locator("#availability")).to_have_text("We typically reply in a few minutes")
    expect(widget.locator("#connectionStatus")).to_be_hidden()        # no "Offline" before a chat


def test_with_nobody_online_for_the_site_the_widget_says_the_team_is_away(own_server, new_page):
    server = own_server()       # the shared server may still have a supervisor's tab from another test
    add_site_and_agent(server, "quietshop", "quiet@example.com", "quiet-password")
    page = new_page()
    page.goto(server.url + "/widget/frame?site=quietshop")
    expect(page.locator("#availability")).to_have_text("We're away right now; leave a message and we'll reply")
