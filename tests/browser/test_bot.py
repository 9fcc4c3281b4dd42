"""The bot in the browser, on a server with the demo as seeded (its bot on): a visitor asks how
long shipping takes, watches the answer stream in with a link to the article, asks for an
expert; an agent accepts and sees the bot's part of the chat, and the bot says nothing more."""
import pytest
from playwright.sync_api import expect

from tests.browser.pages import (
    CHAT_MESSAGES, accept_chat, log_in, open_session, open_widget, send_message, start_widget_chat, unique_name,
    waiting_item,
)
from tests.support import LiveServer, server_environment


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory):
    """The demo as a new user gets it: the bot on, the demo articles, the team."""
    workdir = tmp_path_factory.mktemp("demo")
    live = LiveServer(workdir, env=server_environment(workdir))
    live.prepare_database(as_seeded=True)
    live.start()
    yield live
    live.stop()


def bot_bubbles(widget):
    return widget.locator("#messages .message-bot:not(.pending)")


def test_ask_the_bot_watch_the_answer_stream_then_talk_to_an_expert(demo_server, new_page):
    agent = new_page()
    log_in(agent, demo_server)
    visitor = new_page()
    widget = open_widget(visitor, demo_server)
    name = unique_name("Nadia")
    start_widget_chat(widget, name)
    expect(bot_bubbles(widget).first.locator(".quick-reply").first).to_be_visible()
    expect(widget.locator("#waitingNote")).to_be_hidden()               # nobody is coming yet: the bot answers

    # The draft must be seen while it is written, before the stored answer replaces it.
    widget.locator("body").evaluate("""() => {
        window.seenDrafts = [];
        new MutationObserver(() => {
            document.querySelectorAll(".message.draft .message-text").forEach(d => window.seenDrafts.push(d.textContent));
        }).observe(document.getElementById("messages"), {childList: true, subtree: true, characterData: true});
    }""")
    send_message(widget, "how long does shipping take?")
    answer = bot_bubbles(widget).nth(1)
    expect(answer.locator(".message-text")).to_contain_text("ship")
    link = answer.locator(".message-links a").first
    expect(link).to_have_attribute("href", r"/help/demo/" + link.get_attribute("href").rsplit("/", 1)[1])
    expect(link).to_contain_text("hipping")
    drafts = widget.locator("body").evaluate("() => window.seenDrafts")
    final_text = answer.locator(".message-text").text_content()
    assert drafts and all(final_text.startswith(draft) for draft in drafts) and drafts[0] != final_text
    expect(widget.locator("#messages .message.draft")).to_have_count(0)
    # Only the latest message's buttons can be pressed.
    expect(bot_bubbles(widget).first.locator(".quick-replies")).to_be_hidden()

    answer.get_by_role("button", name="Talk to an expert").click()
    expect(widget.locator("#messages .message-system .message-text").last).to_have_text("Connecting you to an agent…")
    expect(widget.locator("#waitingNote")).to_be_visible()
    expect(widget.locator("#messages .quick-replies:visible")).to_have_count(0)

    open_session(agent, waiting_item(agent, name))
    accept_chat(agent)
    shown = agent.locator(CHAT_MESSAGES + " .message-text")
    expect(shown.first).to_contain_text(widget.locator("#messages .message-bot .message-text").first.text_content())
    expect(agent.locator("#messages .message-bot .message-links a").first).to_contain_text("hipping")
    expect(agent.locator("#messages .message-visitor .message-text")).to_have_text(
        ["how long does shipping take?", "Talk to an expert"])

    bots_before = bot_bubbles(widget).count()
    send_message(widget, "and what about returns?")
    expect(agent.locator("#messages .message-visitor .message-text").last).to_have_text("and what about returns?")
    send_message(agent, "Hi! I can help with returns.")
    expect(widget.locator("#messages .message-agent .message-text").last).to_have_text("Hi! I can help with returns.")
    assert bot_bubbles(widget).count() == bots_before                   # the bot stayed silent


def test_the_supervisor_view_tells_the_bots_chats_from_those_waiting_for_a_person(demo_server, new_page):
    agent = new_page()
    log_in(agent, demo_server)                      # someone online: the bot hands over
    with_bot, waiting = unique_name("Bianca"), unique_name("Walter")
    for name in (with_bot, waiting):
        widget = open_widget(new_page(), demo_server)
        start_widget_chat(widget, name)
        expect(bot_bubbles(widget).first).to_be_visible()
        if name == waiting:
            bot_bubbles(widget).first.get_by_role("button", name="Talk to Expert").click()
            expect(widget.locator("#waitingNote")).to_be_visible()
    supervisor = new_page()
    log_in(supervisor, demo_server, "supervisor@example.com")
    supervisor.goto(demo_server.url + "/supervisor")
    rows = supervisor.locator("#chatRows tr")
    expect(rows.filter(has_text=with_bot).locator(".col-status")).to_have_text("bot")
    expect(rows.filter(has_text=waiting).locator(".col-status")).to_have_text("waiting")
    supervisor.locator("#statusFilter").select_option(label="With the bot")
    expect(rows.filter(has_text=with_bot)).to_be_visible()
    expect(rows.filter(has_text=waiting)).to_be_hidden()
    supervisor.locator("#statusFilter").select_option(label="Waiting")
    expect(rows.filter(has_text=waiting)).to_be_visible()
    expect(rows.filter(has_text=with_bot)).to_be_hidden()
