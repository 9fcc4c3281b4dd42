"""The session list highlights exactly one session: the open chat, or else the first one."""
import uuid

from playwright.sync_api import expect

from tests.browser.pages import log_in, open_chat, open_widget, session_item, start_widget_chat
from tests.support import connect_agent, login, start_chat

HIGHLIGHT = ("session-selected", "bg-blue-100")


def highlighted(dashboard):
    return dashboard.locator("#sessionList .session-item.session-selected.bg-blue-100")


def expect_highlight_on(dashboard, item):
    """`item` and only it is highlighted, and its chat is the one open."""
    expect(highlighted(dashboard)).to_have_count(1)
    expect(dashboard.locator("#sessionList .session-item.session-selected")).to_have_count(1)
    expect(dashboard.locator("#sessionList .session-item.bg-blue-100")).to_have_count(1)
    for name in HIGHLIGHT:
        expect(item).to_contain_class(name)
    expect(open_chat(dashboard, item.get_attribute("data-session-id"))).to_be_visible()


def expect_first_highlighted_and_open(dashboard):
    """Whatever session is first in the list is the highlighted, open one."""
    dashboard.wait_for_function("""() => {
        const items = document.querySelectorAll("#sessionList .session-item");
        const marked = document.querySelectorAll("#sessionList .session-item.session-selected.bg-blue-100");
        const chat = document.getElementById("chat");
        return items.length > 0 && marked.length === 1 && marked[0] === items[0]
            && chat !== null && chat.dataset.sessionId === items[0].dataset.sessionId;
    }""")
    expect_highlight_on(dashboard, dashboard.locator("#sessionList .session-item").first)


def test_the_first_session_is_highlighted_and_opened_and_a_click_moves_the_highlight(server, new_page):
    tag = uuid.uuid4().hex[:6]
    for name in (f"Ava {tag}", f"Ben {tag}"):
        start_chat(server, name=name)
    dashboard = new_page()
    log_in(dashboard, server)
    expect_first_highlighted_and_open(dashboard)

    ben = session_item(dashboard, f"Ben {tag}")
    ben.click()
    expect_highlight_on(dashboard, ben)
    ava = session_item(dashboard, f"Ava {tag}")
    ava.click()
    expect_highlight_on(dashboard, ava)
    expect(ben).not_to_contain_class("session-selected")


def test_a_live_refresh_keeps_the_open_chat_highlighted_while_it_is_listed(server, new_page, clients):
    """A new visitor refreshes the list: the open chat keeps the highlight.
    When another agent takes it off the list, the first session is highlighted and opened."""
    tag = uuid.uuid4().hex[:6]
    for name in (f"Cleo {tag}", f"Dan {tag}"):
        start_chat(server, name=name)
    dashboard = new_page()
    log_in(dashboard, server)
    expect_first_highlighted_and_open(dashboard)
    dan = session_item(dashboard, f"Dan {tag}")
    dan.click()
    expect_highlight_on(dashboard, dan)

    widget = open_widget(new_page(), server)
    start_widget_chat(widget, f"Eve {tag}")
    expect(session_item(dashboard, f"Eve {tag}")).to_be_visible()
    expect_highlight_on(dashboard, dan)
    expect(dashboard.locator(".chat-title")).to_have_text(f"Dan {tag}")

    other_agent = connect_agent(server, login(server, "second@example.com", "second-password"))
    clients.append(other_agent)
    assert other_agent.call("claim_session", {"session_id": dan.get_attribute("data-session-id")})["ok"]
    expect(dan).to_have_count(0)
    expect_first_highlighted_and_open(dashboard)
