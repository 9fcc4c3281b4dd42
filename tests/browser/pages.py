"""Browser helpers for the browser tests and `bin/screenshots`: Chromium, the widget, the dashboard."""
import re
import uuid

from playwright.sync_api import expect

CHROMIUM = "/usr/bin/chromium"
# Debian's Chromium, kept off the network: no sync, no updates, no background fetches.
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
VIEWPORT = {"width": 1280, "height": 800}
# Every browser context: a desktop window, US English, a time zone that is not the server's UTC.
TIME_ZONE, UTC_OFFSET = "Asia/Kolkata", (5, 30)
CONTEXT_OPTIONS = {"viewport": VIEWPORT, "locale": "en-US", "timezone_id": TIME_ZONE}
# A phone: 375 px wide, a touch screen.
PHONE_OPTIONS = {**CONTEXT_OPTIONS, "viewport": {"width": 375, "height": 667}, "is_mobile": True, "has_touch": True}

# What a user can see: messages with a sender (not system lines nor notes), in page order.
CHAT_MESSAGES = "#messages .message:not(.message-system):not(.message-note)"


def unique_name(first):
    """A visitor name no other test uses (the live server's database is shared)."""
    return f"{first} {uuid.uuid4().hex[:6]}"


def launch_chromium(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)


def watch_dialogs(page):
    """Record every dialog (alert, confirm...) the page or its frames open, and accept it."""
    seen = []

    def record(dialog):
        seen.append((dialog.type, dialog.message))
        dialog.accept()

    page.on("dialog", record)
    return seen


# ---- the widget (the visitor's side) ----

def open_widget(page, server):
    """Load the demo page, open the widget from its launcher; returns the frame."""
    page.goto(server.url + "/demo")
    page.locator("#cc-chat-launcher").click()
    expect(page.locator("#cc-chat-frame")).to_be_visible()
    return page.frame_locator("#cc-chat-frame")


def start_widget_chat(widget, name, email=""):
    """Fill the widget's start form and wait until the chat is live."""
    widget.locator("#visitorName").fill(name)
    widget.locator("#visitorEmail").fill(email)
    widget.locator("#startButton").click()
    expect(widget.locator("#messageInput")).to_be_visible()
    expect_live(widget)


def start_accepted_chat(server, visitor, agent, name):
    """The visitor starts a chat in the widget and the agent accepts it; returns the widget frame."""
    widget = open_widget(visitor, server)
    start_widget_chat(widget, name)
    open_session(agent, waiting_item(agent, name))
    accept_chat(agent)
    return widget


def expect_live(scope):
    expect(scope.locator("#connectionStatus")).to_have_text("Live")


def send_message(scope, text):
    """Type `text` in the composer and press Enter (widget frame or dashboard page)."""
    box = scope.locator("#messageInput")
    box.fill(text)
    box.press("Enter")


def expect_messages(scope, texts):
    """Exactly these chat messages, in this order, each stored (none pending)."""
    expect(scope.locator(CHAT_MESSAGES + " .message-text")).to_have_text(texts)
    expect(scope.locator("#messages .message.pending")).to_have_count(0)


def shown_seqs(scope):
    return [int(seq) for seq in scope.locator("#messages .message[data-seq]").evaluate_all(
        "items => items.map(item => item.dataset.seq)")]


# ---- the dashboard (the agent's side) ----

def log_in(page, server, email="demo@example.com", password="demo-password"):
    """Log in through the /login form; lands on a live dashboard."""
    page.goto(server.url + "/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/dashboard$"))
    expect_live(page)
    wait_until_dashboard_loaded(page)


def wait_until_dashboard_loaded(dashboard):
    """The session list is in and, as on every load, its first session is highlighted and open."""
    dashboard.wait_for_function("""() => {
        const items = document.querySelectorAll("#sessionList .session-item");
        const chat = document.getElementById("chat");
        if (items.length === 0) return document.getElementById("waitingSessions") !== null;
        return items[0].classList.contains("session-selected")
            && chat !== null && chat.dataset.sessionId === items[0].dataset.sessionId;
    }""")


def session_item(dashboard, visitor_name):
    """The session list item of the visitor called `visitor_name`."""
    return _item_of(dashboard, "#sessionList", visitor_name)


def waiting_item(dashboard, visitor_name):
    return _item_of(dashboard, "#waitingSessions", visitor_name)


def mine_item(dashboard, visitor_name):
    return _item_of(dashboard, "#mySessions", visitor_name)


def _item_of(dashboard, group, visitor_name):
    exact_name = re.compile("^" + re.escape(visitor_name) + "$")
    return dashboard.locator(group + " .session-item").filter(
        has=dashboard.locator(".session-visitor", has_text=exact_name))


def open_session(dashboard, item):
    """Click a session list item; returns its session id once its chat window is shown."""
    session_id = item.get_attribute("data-session-id")
    item.click()
    expect(open_chat(dashboard, session_id)).to_be_visible()
    return session_id


def open_chat(dashboard, session_id):
    return dashboard.locator(f'#chat[data-session-id="{session_id}"]')


def accept_chat(dashboard):
    dashboard.locator("#acceptButton").click()
    expect(dashboard.locator("#chatStatus")).to_have_text("active")
    expect(dashboard.locator("#messageInput")).to_be_enabled()

