"""A message the server refuses says why, readably, and can be sent again with Retry."""
import time

from playwright.sync_api import expect

from tests.browser.pages import open_widget, send_message, start_widget_chat

CONTRAST = """element => {
  const channel = value => { value /= 255; return value <= 0.03928 ? value / 12.92 : ((value + 0.055) / 1.055) ** 2.4; };
  const luminance = color => { const [r, g, b] = color.match(/\\d+/g).map(Number);
                               return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b); };
  let box = element;
  while (getComputedStyle(box).backgroundColor === "rgba(0, 0, 0, 0)") box = box.parentElement;
  const [light, dark] = [luminance(getComputedStyle(element).color),
                         luminance(getComputedStyle(box).backgroundColor)].sort((a, b) => b - a);
  return (light + 0.05) / (dark + 0.05);
}"""


def test_a_refused_message_shows_its_reason_readably_and_retry_sends_it(own_server, new_page):
    server = own_server(MESSAGE_LIMIT_PER_SOCKET="2 per 3 second")
    page = new_page()
    widget = open_widget(page, server)
    start_widget_chat(widget, "Rex")
    for text in ("one", "two", "three"):
        send_message(widget, text)
    refused = widget.locator("#messages .message.failed")
    expect(refused.locator(".message-text")).to_have_text("three")
    reason = refused.locator(".message-time")
    expect(reason).to_contain_text("You are sending too fast; wait a moment.")
    assert reason.evaluate(CONTRAST) >= 4.5

    # Retry until the 3-second window has passed: each refusal leaves a new Retry button.
    expect(refused.get_by_role("button", name="Retry")).to_be_visible()
    stored = widget.locator("#messages .message.mine:not(.pending) .message-text")
    deadline = time.monotonic() + 10
    while not stored.filter(has_text="three").count() and time.monotonic() < deadline:
        button = widget.locator("#messages .message.failed").get_by_role("button", name="Retry")
        if button.count():
            button.click()
        expect(widget.locator("#messages .message.pending:not(.failed)")).to_have_count(0)
    expect(stored).to_have_text(["one", "two", "three"])
    expect(widget.locator("#messages .message.failed")).to_have_count(0)
