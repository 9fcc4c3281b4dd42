"""A network that lets neither WebSocket nor Socket.IO's long-polling through: the widget
falls back to the REST polling endpoints and the conversation goes on."""
from tests.browser.pages import (
    accept_chat, expect_live, expect_messages, open_session, open_widget, send_message, start_widget_chat,
    unique_name, waiting_item,
)


def test_the_widget_converses_over_rest_when_socket_io_is_blocked(server, new_page, agent_page):
    visitor_page = new_page()
    blocked = []
    visitor_page.context.route("**/socket.io/**", lambda route: (blocked.append(route.request.url), route.abort()))
    name = unique_name("Blocked")
    widget = open_widget(visitor_page, server)
    start_widget_chat(widget, name)                 # "Live" once REST polling answers
    assert blocked, "the widget never tried Socket.IO"

    send_message(widget, "Can you read me?")
    item = waiting_item(agent_page, name)
    open_session(agent_page, item)
    accept_chat(agent_page)
    expect_messages(agent_page, ["Can you read me?"])
    send_message(agent_page, "Loud and clear.")
    expect_messages(widget, ["Can you read me?", "Loud and clear."])
    expect_live(widget)
