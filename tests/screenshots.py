"""Screenshots for the README: a throwaway live server, Chromium, a short conversation.

Run through `bin/screenshots [FOLDER]` (default docs/screenshots/).
"""
import io
import os
import sys
import tempfile
import uuid
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

from tests.browser.pages import (
    CHAT_MESSAGES, CONTEXT_OPTIONS, PHONE_OPTIONS, accept_chat, launch_chromium, log_in, mine_item, open_session,
    open_widget, send_message, start_widget_chat, waiting_item,
)
from tests.support import ROOT, LiveServer, connect_visitor, start_chat

VISITOR = "Maria Lopez"
CONVERSATION = [
    ("visitor", "Hi! I ordered the walnut side table last week. Can I still change the delivery address?"),
    ("agent", "Hi Maria, of course. It hasn't shipped yet, so I can update it for you."),
    ("visitor", "Great, it's 12 Harbour Street, Leeds. Thank you!"),
    ("agent", "Done! You'll get a new confirmation email in a few minutes."),
]
OTHER_VISITORS = [("Jonas Weber", "Do you ship to Austria?"),
                  ("Priya N.", "Is the oak shelf back in stock?")]


FILES_VISITOR = "Tom Baker"


def picture(colour, image_format="JPEG"):
    """A photo-like picture: a plank texture of one colour."""
    from PIL import Image, ImageDraw
    image = Image.new("RGB", (800, 560), colour)
    draw = ImageDraw.Draw(image)
    for x in range(0, 800, 70):
        draw.line([(x, 0), (x + 40, 560)], fill=tuple(max(0, c - 40) for c in colour), width=6)
    out = io.BytesIO()
    image.save(out, image_format)
    return out.getvalue()


def one_page_pdf():
    from tests.browser.test_attachments import pdf_bytes
    return pdf_bytes()


def add_waiting_visitors(server):
    """A couple of other visitors in the queue, so the dashboard's list looks lived in: each asks
    the demo's bot for an expert, then writes (an agent is online, so the bot hands them over)."""
    for name, text in OTHER_VISITORS:
        client = connect_visitor(server, start_chat(server, name=name))
        for payload in ({"text": "Talk to an expert", "button_id": "bot:expert"}, {"text": text}):
            reply = client.call("send_message", {**payload, "client_id": uuid.uuid4().hex})
            assert reply["ok"], reply
        client.wait_for("session_status", lambda status: status["in_line"])
        client.disconnect()


def last_message(scope, text):
    expect(scope.locator(CHAT_MESSAGES + " .message-text").last).to_have_text(text)


def ask_the_bot(widget):
    """The demo's bot answers a question with the article it came from."""
    send_message(widget, "How long does shipping take?")
    expect(widget.locator("#messages .message-bot:not(.pending) .message-links a").first).to_be_visible()


def take_screenshots(server, folder):
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            def new_page(options=CONTEXT_OPTIONS):
                return browser.new_context(**options).new_page()

            login_page = new_page()
            login_page.goto(server.url + "/login")
            login_page.screenshot(path=folder / "login.png")

            agent = new_page()
            log_in(agent, server)
            add_waiting_visitors(server)
            for name, options in (("widget-bot.png", CONTEXT_OPTIONS), ("widget-bot-phone.png", PHONE_OPTIONS)):
                asking = new_page(options)      # the bot answers first, with its sources
                start_widget_chat(open_widget(asking, server), "Ana")
                ask_the_bot(asking.frame_locator("#cc-chat-frame"))
                asking.screenshot(path=folder / name)
                asking.context.close()
            visitor = new_page()
            widget = open_widget(visitor, server)
            start_widget_chat(widget, VISITOR, "maria@example.com")
            ask_the_bot(widget)
            widget.get_by_role("button", name="Talk to an expert").last.click()
            open_session(agent, waiting_item(agent, VISITOR))
            accept_chat(agent)
            for sender, text in CONVERSATION:
                send_message(widget if sender == "visitor" else agent, text)
                last_message(widget, text)
            last_message(agent, CONVERSATION[-1][1])

            widget.locator("#messageInput").press_sequentially("Perfect, thanks so much")
            expect(agent.locator("#typingIndicator")).to_have_text(f"{VISITOR} is typing…")
            visitor.screenshot(path=folder / "demo-widget.png")
            agent.screenshot(path=folder / "dashboard.png")

            phone = new_page(PHONE_OPTIONS)     # the same agent on a phone: the list, then the chat
            log_in(phone, server)
            phone.screenshot(path=folder / "dashboard-phone-list.png")
            open_session(phone, mine_item(phone, VISITOR))
            last_message(phone, CONVERSATION[-1][1])
            phone.screenshot(path=folder / "dashboard-phone-chat.png")

            admin = new_page()                  # the admin's page of the demo site: its tag, its settings
            log_in(admin, server, "admin@example.com", "demo-password")
            admin.goto(server.url + "/admin/sites/demo")
            admin.screenshot(path=folder / "admin-site.png", full_page=True)

            admin.goto(server.url + "/admin/articles")      # the knowledge base: the list, an article previewed
            admin.screenshot(path=folder / "admin-articles.png", full_page=True)
            admin.get_by_role("link", name="How long does shipping take?", exact=True).click()
            admin.get_by_role("button", name="Preview").click()
            expect(admin.locator("#preview .article-body")).to_be_visible()
            admin.set_viewport_size({"width": 1280, "height": 1700})     # the form and its preview
            admin.evaluate("window.scrollTo(0, 0)")
            admin.screenshot(path=folder / "article-editor.png")
            help_path = admin.locator(".article-editor").get_by_role("link").filter(has_text="/help/demo/").get_attribute("href")
            for name, options in (("help-article.png", CONTEXT_OPTIONS), ("help-article-phone.png", PHONE_OPTIONS)):
                reader = new_page(options)      # what the bot links visitors to
                reader.goto(server.url + help_path)
                reader.screenshot(path=folder / name, full_page=True)

            supervisor = new_page()             # every open chat, the team, the conversation in a pane
            log_in(supervisor, server, "supervisor@example.com", "demo-password")
            supervisor.goto(server.url + "/supervisor")
            expect(supervisor.locator("#connectionStatus")).to_have_text("Live")
            supervisor.locator("#chatRows tr").filter(has_text=VISITOR).get_by_role("button", name="Open").click()
            expect(supervisor.locator("#panes .pane .message-text").filter(has_text="Done!")).to_be_visible()
            supervisor.screenshot(path=folder / "supervisor.png")

            agent.locator("#messageInput").press_sequentially("/")     # the canned-reply picker
            expect(agent.get_by_role("listbox", name="Canned replies").get_by_role("option").first).to_be_visible()
            agent.screenshot(path=folder / "dashboard-canned.png")

            files_from = new_page()             # files both ways: a photo and a PDF, a picture back
            widget = open_widget(files_from, server)
            start_widget_chat(widget, FILES_VISITOR)
            send_message(widget, "I'd like to talk to someone about a damaged delivery")
            widget.get_by_role("button", name="Talk to an expert").last.click()
            agent.locator("#messageInput").fill("")
            open_session(agent, waiting_item(agent, FILES_VISITOR))
            accept_chat(agent)
            widget.locator("#composer .attach-input").set_input_files(files=[
                {"name": "scratched tabletop.jpg", "mimeType": "image/jpeg", "buffer": picture((150, 105, 70))},
                {"name": "order-58213.pdf", "mimeType": "application/pdf", "buffer": one_page_pdf()}])
            expect(widget.locator(".upload-chip .upload-state")).to_have_text(["Ready", "Ready"])
            send_message(widget, "The table arrived scratched, here is a photo and my order")
            agent.locator("#composer .attach-input").set_input_files(files=[
                {"name": "return label.png", "mimeType": "image/png", "buffer": picture((235, 235, 245), "PNG")}])
            expect(agent.locator(".upload-chip .upload-state")).to_have_text(["Ready"])
            send_message(agent, "Sorry about that! Here is a return label; a new one ships tomorrow.")
            for scope in (widget, agent):
                images = scope.locator("#messages .message:not(.pending) .attachment-image img")
                expect(images).to_have_count(2)
                for index in range(2):      # loaded (decode() fails when a redrawn message swaps the image)
                    expect(images.nth(index)).not_to_have_js_property("naturalWidth", 0)
                scope.locator("#messages").evaluate("box => { box.scrollTop = box.scrollHeight; }")
            files_from.screenshot(path=folder / "widget-files.png")
            agent.screenshot(path=folder / "dashboard-files.png")

            for name, options in (("widget-conversations.png", CONTEXT_OPTIONS),
                                  ("widget-conversations-phone.png", PHONE_OPTIONS)):
                tabs = new_page(options)        # two conversations of one visitor, the second renamed
                widget = open_widget(tabs, server)
                start_widget_chat(widget, "Noor")
                send_message(widget, "Where is my parcel? It left the warehouse on Monday")
                expect(widget.locator("#messages .message.mine:not(.pending) .message-text")).to_have_text(
                    ["Where is my parcel? It left the warehouse on Monday"])    # stored (the bot answers it)
                widget.get_by_role("button", name="New conversation", exact=True).click()
                expect(widget.locator("#conversationTabs .conversation-tab")).to_have_count(2)
                ask_the_bot(widget)
                widget.get_by_role("button", name="Rename conversation").click()
                widget.locator(".tab-rename-field").fill("Shipping times")
                widget.locator(".tab-rename-field").press("Enter")
                expect(widget.locator(".conversation-tab .tab-text")).to_have_text(
                    ["Shipping times", "Where is my parcel? It left the…"])
                tabs.screenshot(path=folder / name)
                tabs.context.close()
        finally:
            browser.close()


def main(argv):
    folder = Path(argv[0]) if argv else ROOT / "docs" / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    os.environ.pop("TEST_DATABASE_URL", None)   # always a throwaway SQLite file
    with tempfile.TemporaryDirectory(prefix="chat-screenshots-") as workdir:
        server = LiveServer(workdir)
        server.prepare_database(as_seeded=True)     # the team and the bot as a new install has them
        server.start()
        try:
            take_screenshots(server, folder)
        finally:
            server.stop()
    for name in ("demo-widget.png", "dashboard.png", "dashboard-phone-list.png", "dashboard-phone-chat.png",
                 "login.png", "admin-site.png", "admin-articles.png", "article-editor.png", "help-article.png",
                 "help-article-phone.png", "dashboard-canned.png", "supervisor.png", "widget-files.png",
                 "dashboard-files.png", "widget-conversations.png", "widget-conversations-phone.png"):
        print(folder / name)


if __name__ == "__main__":
    main(sys.argv[1:])
