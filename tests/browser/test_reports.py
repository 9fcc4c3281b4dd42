"""A supervisor reads the figures of the report fixture on /reports."""
from playwright.sync_api import expect

from tests.browser.pages import log_in
from tests.support.report_fixture import FIRST_DAY, LAST_DAY, add_report_chats_to_server


def test_a_supervisor_sees_the_figures_of_the_fixture(server, new_page):
    add_report_chats_to_server(server)
    page = new_page()
    log_in(page, server, "supervisor@example.com", "demo-password")
    page.get_by_role("link", name="Reports", exact=True).click()
    expect(page.get_by_role("heading", name="Reports", exact=True)).to_be_visible()
    page.get_by_label("From").fill(FIRST_DAY)
    page.get_by_label("To", exact=True).fill(LAST_DAY)
    page.get_by_role("button", name="Show").click()

    expect(page.get_by_role("heading", name="2026-03-02 to 2026-03-03 (UTC)")).to_be_visible()
    summary = page.locator("#summary")
    expect(summary.locator("[data-figure=started]")).to_have_text("8")
    expect(summary.locator("[data-figure=handled]")).to_have_text("4")
    expect(summary.locator("[data-figure=abandoned]")).to_have_text("3")
    expect(summary.locator("[data-figure=restoration]")).to_have_text("37.5% (3 of 8)")
    expect(summary.locator("[data-figure=waiting]")).to_have_text("1 min 00 s median 2 min 00 s 90th percentile", use_inner_text=True)
    expect(summary.locator("[data-figure=response]")).to_have_text("30 s median 1 min 00 s 90th percentile", use_inner_text=True)
    expect(summary.locator("[data-figure=duration]")).to_have_text("10 min 00 s median 30 min 00 s 90th percentile", use_inner_text=True)
    expect(page.locator('#daysTable tr[data-day="2026-03-03"] td')).to_have_text(
        ["2026-03-03", "4", "1", "2", "1", "45 s", "45 s", "–", "–", "5 min 00 s", "10 min 00 s"])
    expect(page.locator("#agentsTable tbody tr").first.locator("td").first).to_have_text("Demo Agent")
    expect(page.locator("#abandonedTable tbody tr")).to_have_text(["heartbeat_timeout\t1", "inactivity\t1", "visitor\t1"], use_inner_text=True)
    for chart in ("chartDays", "chartWaiting", "chartHours", "chartAbandoned"):
        page.wait_for_function("id => Chart.getChart(id) && document.getElementById(id).width > 0", arg=chart)

    page.get_by_label("From").fill(LAST_DAY)
    page.get_by_label("To", exact=True).fill(FIRST_DAY)
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_role("alert")).to_have_text("The start date is after the end date.")
