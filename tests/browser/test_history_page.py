"""The History page: an agent finds a past chat by a word from its messages, reads its
transcript (system messages, a note marked as a note) and exports the list as CSV."""
import csv
import re
import uuid

from playwright.sync_api import expect

from tests.browser.pages import log_in, send_message, start_accepted_chat, unique_name
from tests.support import add_note


def test_an_agent_finds_a_chat_by_a_word_reads_its_transcript_and_exports_it(server, visitor_page, agent_page):
    word = "parcel" + uuid.uuid4().hex[:6]
    name = unique_name("Hilda")
    widget = start_accepted_chat(server, visitor_page, agent_page, name)
    send_message(widget, f"Where is my {word}? <b>it's late</b>")
    expect(agent_page.locator("#messages .message-visitor .message-text").last).to_have_text(
        f"Where is my {word}? <b>it's late</b>")
    send_message(agent_page, "Let me check the tracking.")
    session_id = agent_page.locator("#chat").get_attribute("data-session-id")
    add_note(server, session_id, "demo@example.com", "Sent a replacement; follow up Monday.")

    agent_page.get_by_role("link", name="History").click()
    expect(agent_page.get_by_role("heading", name="History")).to_be_visible()
    agent_page.get_by_label("Words").fill(f"{word.upper()} late")
    agent_page.get_by_role("button", name="Search").click()
    expect(agent_page.locator("#historyTotal")).to_have_text("1 chat")
    row = agent_page.locator(f'.history-table tr[data-session-id="{session_id}"]')
    expect(row.locator(".history-visitor")).to_contain_text(name)
    expect(row.locator('[data-label="Agent"]')).to_have_text("Demo Agent")
    expect(row.locator('[data-label="Messages"]')).to_have_text("4")

    with agent_page.expect_download() as download_info:
        agent_page.get_by_role("link", name="Export CSV").click()
    download = download_info.value
    assert download.suggested_filename == "chat-history.csv"
    with open(download.path(), newline="") as exported:
        rows = list(csv.DictReader(exported))
    assert [(r["id"], r["visitor_name"], r["agent_name"]) for r in rows] == [(session_id, name, "Demo Agent")]

    row.get_by_role("link", name=name).click()
    expect(agent_page).to_have_url(re.compile(f"/history/{session_id}$"))
    messages = agent_page.locator("#messages .message")
    expect(messages.locator(".message-text")).to_have_text([
        "Demo Agent has joined the chat", f"Where is my {word}? <b>it's late</b>", "Let me check the tracking.",
        "Sent a replacement; follow up Monday."])
    expect(messages.nth(0)).to_have_class(re.compile(r"\bmessage-system\b"))
    note = messages.nth(3)
    expect(note).to_have_class(re.compile(r"\bnote\b"))
    expect(note.locator(".message-sender")).to_contain_text("Demo Agent")
    expect(note.locator(".note-label")).to_contain_text("Note")
    expect(messages.filter(has=agent_page.locator(".note-label"))).to_have_count(1)
    expect(agent_page.locator("#messages b")).to_have_count(0)
    expect(agent_page.locator("#messageInput")).to_have_count(0)


def test_another_agents_transcript_is_not_found_by_url(server, new_page, agent_page):
    word = "other" + uuid.uuid4().hex[:6]
    visitor, second = new_page(), new_page()
    log_in(second, server, "second@example.com", "second-password")
    widget = start_accepted_chat(server, visitor, second, unique_name("Olga"))
    send_message(widget, f"a {word}")
    expect(second.locator("#messages .message-visitor")).to_have_count(1)
    session_id = second.locator("#chat").get_attribute("data-session-id")

    response = agent_page.goto(f"{server.url}/history/{session_id}")
    assert response.status == 404
    agent_page.goto(f"{server.url}/history?search={word}")
    expect(agent_page.locator("#historyTotal")).to_have_text("0 chats")
    expect(agent_page.get_by_text("No chat matches.")).to_be_visible()
