"""/reports on the live server: who may read it, its CSV files, a bad range."""
import csv
import io

import requests

from tests.support import login
from tests.support.report_fixture import FIRST_DAY, LAST_DAY, add_report_chats_to_server

RANGE = f"from={FIRST_DAY}&to={LAST_DAY}"


def rows_of(answer):
    return list(csv.reader(io.StringIO(answer.text)))


def test_an_agent_is_refused_the_reports_and_sees_no_link(server):
    agent = login(server)
    refused = agent.get(server.url + "/reports", timeout=5)
    assert refused.status_code == 403 and "Only a supervisor or an admin may read the reports." in refused.text
    assert agent.get(server.url + f"/reports/days.csv?{RANGE}", timeout=5).status_code == 403
    assert 'href="/reports"' not in agent.get(server.url + "/dashboard", timeout=5).text


def test_a_visitor_without_a_login_is_sent_to_the_login_page(server):
    answer = requests.get(server.url + "/reports", allow_redirects=False, timeout=5)
    assert answer.status_code == 302 and "/login" in answer.headers["Location"]


def test_each_table_of_the_fixture_downloads_as_csv(own_server):
    server = own_server()          # figures to the second: no other test's chats or actions in its database
    add_report_chats_to_server(server)
    supervisor = login(server, "supervisor@example.com")
    assert 'href="/reports"' in supervisor.get(server.url + "/dashboard", timeout=5).text
    days = supervisor.get(server.url + f"/reports/days.csv?{RANGE}", timeout=5)
    assert days.status_code == 200 and days.headers["Content-Type"].startswith("text/csv")
    assert 'filename="chats-days-2026-03-02-to-2026-03-03.csv"' in days.headers["Content-Disposition"]
    assert rows_of(days) == [
        ["day", "started", "handled", "abandoned", "restored", "restoration_rate", "waiting_median_s",
         "waiting_p90_s", "first_response_median_s", "first_response_p90_s", "duration_median_s", "duration_p90_s"],
        ["2026-03-02", "4", "3", "1", "2", "0.5000", "120", "120", "30", "60", "1200", "1800"],
        ["2026-03-03", "4", "1", "2", "1", "0.2500", "45", "45", "", "", "300", "600"],
    ]
    summary = rows_of(supervisor.get(server.url + f"/reports/summary.csv?{RANGE}", timeout=5))
    assert summary[1] == ["2026-03-02", "2026-03-03", "8", "4", "3", "3", "0.3750", "60", "120", "30", "60",
                          "600", "1800"]
    agents = rows_of(supervisor.get(server.url + f"/reports/agents.csv?{RANGE}", timeout=5))
    assert agents[1:] == [["Demo Agent", "2", "1", "60", "120", "30", "60", "660", "1200"],
                          ["Second Agent", "2", "2", "45", "120", "10", "10", "600", "600"]]
    abandoned = rows_of(supervisor.get(server.url + f"/reports/abandoned.csv?{RANGE}", timeout=5))
    assert abandoned == [["end_reason", "chats"], ["heartbeat_timeout", "1"], ["inactivity", "1"], ["visitor", "1"]]
    hours = rows_of(supervisor.get(server.url + f"/reports/hours.csv?{RANGE}", timeout=5))
    assert len(hours) == 25 and hours[10] == ["09:00", "2"] and hours[24] == ["23:00", "1"]


def test_a_bad_range_gets_a_sentence(server):
    supervisor = login(server, "admin@example.com")
    page = supervisor.get(server.url + "/reports?from=2026-03-05&to=2026-03-02", timeout=5)
    assert page.status_code == 400 and "The start date is after the end date." in page.text
    table = supervisor.get(server.url + "/reports/days.csv?from=2026-13-01&to=2026-03-02", timeout=5)
    assert table.status_code == 400
    assert table.json() == {"error": {"code": "invalid_payload", "message":
                                      "The start date must be a date like 2026-01-31, in the years 1970 to 9998."}}
    for dates in ("from=9999-12-30&to=9999-12-31", "to=0001-01-02"):       # no date past the calendar's ends
        page = supervisor.get(server.url + f"/reports?{dates}", timeout=5)
        assert page.status_code == 400 and "in the years 1970 to 9998" in page.text, dates
        table = supervisor.get(server.url + f"/reports/days.csv?{dates}", timeout=5)
        assert table.status_code == 400 and "in the years 1970 to 9998" in table.json()["error"]["message"], dates
    assert supervisor.get(server.url + f"/reports/secrets.csv?{RANGE}", timeout=5).status_code == 404
