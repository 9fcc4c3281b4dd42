"""Browser fixtures: one Chromium per test run, a fresh context per visitor or agent per test."""
import pytest
from playwright.sync_api import expect, sync_playwright

from tests.browser.pages import CONTEXT_OPTIONS, launch_chromium, log_in, watch_dialogs
from tests.support import LiveServer, server_environment

expect.set_options(timeout=10_000)


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()


@pytest.fixture
def new_page(browser):
    """Open a page in a new browser context (its own cookies and localStorage).

    Each page records its dialogs in `page.dialogs`; an uncaught script error fails the test.
    """
    contexts, errors = [], []

    def open_page(context=None):
        if context is None:
            context = browser.new_context(**CONTEXT_OPTIONS)
            context.set_default_timeout(10_000)
            contexts.append(context)
        page = context.new_page()
        page.dialogs = watch_dialogs(page)
        page.on("pageerror", lambda error: errors.append(f"{page.url}: {error}"))
        open_page.pages.append(page)
        return page

    open_page.pages = []
    yield open_page
    for context in contexts:
        context.close()
    assert not errors, f"uncaught script errors: {errors}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed browser test's report carries what each of its pages showed (every frame's text)
    and the end of the live server's log: enough to tell a slow server from a wrong page."""
    outcome = yield
    report = outcome.get_result()
    if report.when != "call" or not report.failed:
        return
    opener = item.funcargs.get("new_page")
    for number, page in enumerate(getattr(opener, "pages", []), 1):
        report.sections.append((f"page {number}: {page_url(page)}", pages_text(page)))
    server = item.funcargs.get("server")
    if server is not None and server.log_path.exists():
        report.sections.append(("end of the live server's log", server.log_path.read_text(errors="replace")[-4000:]))


def page_url(page):
    return "closed" if page.is_closed() else page.url


def pages_text(page):
    if page.is_closed():
        return ""
    shown = []
    for frame in page.frames:
        try:
            text = frame.evaluate("() => document.body ? document.body.innerText : ''")
        except Exception as error:          # a frame that went away or never answered
            text = f"(not readable: {error})"
        shown.append(f"-- frame {frame.url}\n{text[-3000:]}")
    return "\n".join(shown)


@pytest.fixture
def visitor_page(new_page):
    return new_page()


@pytest.fixture
def agent_page(new_page, server):
    """A dashboard logged in as demo@example.com."""
    page = new_page()
    log_in(page, server)
    return page


@pytest.fixture(scope="session")
def quick_ping_server(server, tmp_path_factory):
    """A second server process on the same database that notices a silent client within
    ~3 s (a ping every second, 2 s to answer) instead of the default 45 s."""
    workdir = tmp_path_factory.mktemp("quick-ping")
    env = server_environment(workdir, {"DATABASE_URL": server.env["DATABASE_URL"],
                                       "SOCKETIO_PING_INTERVAL": "1", "SOCKETIO_PING_TIMEOUT": "2"})
    live = LiveServer(workdir, env=env)
    live.start()
    yield live
    live.stop()
