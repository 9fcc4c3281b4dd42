"""A message whose real-time event never arrived (an overloaded queue between processes
drops events) still shows up on both sides, without a reload. The page's clock is
fast-forwarded past the widget's heartbeat and the dashboard's periodic check."""
from tests.browser.pages import expect_messages, log_in, send_message, unique_name
from tests.browser.test_reconnect import start_accepted_chat
from tests.support import store_message_unannounced


def test_a_message_whose_event_was_lost_appears_after_the_next_check(server, new_page):
    visitor, agent_page = new_page(), new_page()
    for page in (visitor, agent_page):
        page.clock.install()                        # before the pages set their timers
    log_in(agent_page, server)
    widget = start_accepted_chat(server, visitor, agent_page, unique_name("Lena"))
    send_message(widget, "Is anyone there?")
    expect_messages(agent_page, ["Is anyone there?"])
    session_id = agent_page.locator("#chat").get_attribute("data-session-id")

    store_message_unannounced(server, session_id, "Yes, I am here.", sender_type="agent")
    store_message_unannounced(server, session_id, "(sent from my phone)", sender_type="visitor")
    expect_messages(widget, ["Is anyone there?"])
    visitor.clock.run_for(31_000)                   # past the widget's 30 s heartbeat
    expect_messages(widget, ["Is anyone there?", "Yes, I am here.", "(sent from my phone)"])
    agent_page.clock.run_for(31_000)                # past the dashboard's 30 s check
    expect_messages(agent_page, ["Is anyone there?", "Yes, I am here.", "(sent from my phone)"])
