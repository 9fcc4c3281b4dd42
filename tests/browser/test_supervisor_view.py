"""The supervisor view in a browser: three live chats side by side, who is viewing each, and the
supervisor's actions (reassign, join, end), each seen by the visitor and the agent."""
import re

import requests
from playwright.sync_api import expect

from tests.browser.pages import PHONE_OPTIONS, log_in, unique_name
from tests.support import connect_agent, connect_visitor, login, start_chat

SUPERVISOR = "Demo Supervisor"


def open_supervisor_view(page, server):
    log_in(page, server, "supervisor@example.com")
    page.get_by_role("link", name="Supervisor", exact=True).click()
    expect(page).to_have_url(re.compile(r"/supervisor$"))
    expect(page.locator("#connectionStatus")).to_have_text("Live")
    return page


def row(page, visitor_name):
    return page.locator("#chatRows tr").filter(has=page.locator(".row-visitor", has_text=visitor_name))


def pane(page, visitor_name):
    return page.locator("#panes .pane").filter(has=page.locator(".pane-visitor", has_text=visitor_name))


def open_pane(page, visitor_name):
    row(page, visitor_name).get_by_role("button", name="Open").click()
    shown = pane(page, visitor_name)
    expect(shown).to_be_visible()
    return shown


def pane_texts(shown):
    return shown.locator(".message:not(.message-system) .message-text")


def test_a_supervisor_watches_three_chats_sees_who_views_them_reassigns_joins_and_ends(server, new_page, clients):
    names = [unique_name(first) for first in ("Reassigned", "Joined", "Ended")]
    chats = [start_chat(server, name=name) for name in names]
    visitors = [connect_visitor(server, chat) for chat in chats]
    clients.extend(visitors)
    agent = connect_agent(server, login(server))          # Demo Agent, on its dashboard
    clients.append(agent)
    first, second, third = chats
    assert agent.call("claim_session", {"session_id": first["session_id"]})["ok"]
    for chat in (first, third):                             # as its dashboard opens them
        assert agent.call("join_session", {"session_id": chat["session_id"], "last_seq": 0})["ok"]
    assert visitors[0].call("send_message", {"text": "Where is my order?", "client_id": "o1"})["ok"]

    page = open_supervisor_view(new_page(), server)
    expect(row(page, names[0]).locator(".col-status")).to_have_text("active")
    expect(row(page, names[0]).locator(".col-agent .row-agent")).to_have_text("Demo Agent")
    expect(row(page, names[1]).locator(".col-status")).to_have_text("waiting")
    expect(row(page, names[1]).locator(".col-expiry")).to_have_text(re.compile(r"^2[01]h \d\dm$"))
    expect(row(page, names[1]).locator(".col-abandon")).to_have_text(re.compile(r"^\d+m \d\ds$"))
    panes = [open_pane(page, name) for name in names]
    expect(page.locator("#panes .pane")).to_have_count(3)
    for shown in panes:
        expect(shown).to_be_in_viewport()                   # side by side, all on screen

    # Live, each of them: a message arrives in its pane and its row.
    expect(pane_texts(panes[0])).to_have_text(["Where is my order?"])
    assert visitors[1].call("send_message", {"text": "Anyone there?", "client_id": "j1"})["ok"]
    expect(pane_texts(panes[1])).to_have_text(["Anyone there?"])
    expect(row(page, names[1]).locator(".row-preview")).to_have_text("Anyone there?")
    assert agent.call("send_message", {"session_id": first["session_id"], "text": "Checking now",
                                       "client_id": "r1"})["ok"]
    expect(pane_texts(panes[0])).to_have_text(["Where is my order?", "Checking now"])
    expect(row(page, names[0]).locator(".row-preview")).to_have_text("Checking now")

    # Who is viewing: the agent has the first and the third open.
    expect(panes[0].locator(".pane-viewers")).to_have_text("Also viewing: Demo Agent (agent)")
    expect(panes[2].locator(".pane-viewers")).to_have_text("Also viewing: Demo Agent (agent)")
    expect(panes[1].locator(".pane-viewers")).to_have_text("Nobody else is viewing")

    # Reassign the first back to the queue.
    panes[0].locator(".pane-transfer-to").select_option(label="Back to the queue")
    panes[0].get_by_role("button", name="Reassign").click()
    expect(panes[0].locator(".pane-status")).to_have_text("waiting")
    expect(row(page, names[0]).locator(".col-status")).to_have_text("waiting")
    expect(row(page, names[0]).locator(".col-agent .row-agent")).to_have_text("—")

    # Watching is silent: nothing reached the visitor of the second chat while it was open.
    assert visitors[1].call("heartbeat", {})["ok"]
    assert [m["text"] for m in visitors[1].messages()] == ["Anyone there?"]

    # Join the second: a participant, who may now reply.
    expect(panes[1].locator(".pane-input")).to_be_disabled()
    panes[1].get_by_role("button", name="Join", exact=True).click()
    expect(panes[1].locator(".message-system .message-text").last).to_have_text(f"{SUPERVISOR} has joined the chat")
    expect(panes[1].locator(".pane-input")).to_be_enabled()
    panes[1].locator(".pane-input").fill("Hello, I can help.")
    panes[1].locator(".pane-input").press("Enter")
    expect(pane_texts(panes[1])).to_have_text(["Anyone there?", "Hello, I can help."])
    visitors[1].wait_for("message", lambda m: m["text"] == "Hello, I can help.")
    expect(row(page, names[1]).locator(".col-agent .row-agent")).to_have_text(SUPERVISOR)

    # End the third.
    panes[2].get_by_role("button", name="End chat", exact=True).click()
    expect(panes[2].locator(".pane-status")).to_have_text("ended (agent)")
    expect(row(page, names[2])).to_have_count(0)
    visitors[2].wait_for("session_status", lambda s: s["status"] == "ended")
    assert ("confirm", "End this chat?") in page.dialogs


def test_a_fourth_chat_takes_the_place_of_the_oldest_pane(server, new_page, clients):
    names = [unique_name("Pane") for _ in range(4)]
    for name in names:
        start_chat(server, name=name)
    page = open_supervisor_view(new_page(), server)
    for name in names:
        open_pane(page, name)
    expect(page.locator("#panes .pane")).to_have_count(3)
    expect(pane(page, names[0])).to_have_count(0)
    expect(pane(page, names[3]).locator(".pane-notice")).to_contain_text(f"{names[0]} was closed to make room")


def test_the_list_filters_by_status_and_agent(server, new_page, clients):
    waiting, held = unique_name("Filter waiting"), unique_name("Filter held")
    start_chat(server, name=waiting)
    chat = start_chat(server, name=held)
    agent = connect_agent(server, login(server))
    clients.append(agent)
    assert agent.call("claim_session", {"session_id": chat["session_id"]})["ok"]
    page = open_supervisor_view(new_page(), server)
    expect(row(page, held)).to_be_visible()
    page.get_by_label("Status").select_option(label="Waiting")
    expect(row(page, held)).to_be_hidden()
    expect(row(page, waiting)).to_be_visible()
    page.get_by_label("Status").select_option(label="All open")
    page.get_by_label("Agent").select_option(label="Demo Agent")
    expect(row(page, waiting)).to_be_hidden()
    expect(row(page, held)).to_be_visible()
    expect(page.locator("#teamList .team-member").filter(has_text="Demo Agent")).to_contain_text("online")


def test_a_chat_that_starts_appears_in_its_place_without_reloading_the_list(server, new_page, clients):
    page = open_supervisor_view(new_page(), server)
    expect(page.locator("#noChats")).not_to_have_text("Loading…")
    page.evaluate("document.getElementById('chatRows').dataset.marker = 'kept'")
    name = unique_name("Newcomer")
    start_chat(server, name=name)
    expect(row(page, name).locator(".col-status")).to_have_text("waiting")
    expect(page.locator("#chatRows")).to_have_attribute("data-marker", "kept")


def hold_the_socket(page):
    """Keep the page's Socket.IO requests waiting (its first one is the polling handshake) until
    the returned function lets them go."""
    held = []

    def hold(route):
        if held is None:
            route.continue_()
        else:
            held.append(route)
    page.route("**/socket.io/**", hold)

    def release():
        nonlocal held
        waiting, held = held, None
        for route in waiting:
            route.continue_()
    return release


def test_the_list_shows_before_the_socket_connects_and_misses_nothing_that_happens_meanwhile(
        server, new_page, clients):
    listed, ends, writes = (unique_name(first) for first in ("Listed", "Ends", "Writes"))
    start_chat(server, name=listed)
    ending, writing = start_chat(server, name=ends), start_chat(server, name=writes)
    visitor = connect_visitor(server, writing)
    clients.append(visitor)
    page = new_page()
    log_in(page, server, "supervisor@example.com")
    release = hold_the_socket(page)
    page.goto(server.url + "/supervisor")

    # Drawn from the list as soon as it is read, while the socket is still connecting.
    expect(row(page, listed).locator(".col-status")).to_have_text("waiting")
    expect(page.locator("#connectionStatus")).to_have_text("Connecting")

    # Between that read and the socket joining: a chat starts, one ends, a visitor writes.
    newcomer = unique_name("Newcomer")
    start_chat(server, name=newcomer)
    assert requests.post(server.api("/end"), json={"session_id": ending["session_id"],
                                                   "session_key": ending["session_key"]}, timeout=5).ok
    assert visitor.call("send_message", {"text": "Still there?", "client_id": "w1"})["ok"]
    expect(row(page, ends)).to_be_visible()

    release()
    expect(page.locator("#connectionStatus")).to_have_text("Live")
    expect(row(page, newcomer).locator(".col-status")).to_have_text("waiting")
    expect(row(page, ends)).to_have_count(0)
    expect(row(page, writes).locator(".row-preview")).to_have_text("Still there?")
    expect(row(page, listed)).to_have_count(1)


def test_an_agent_is_refused_the_page(server, new_page):
    page = new_page()
    log_in(page, server)
    expect(page.get_by_role("link", name="Supervisor", exact=True)).to_have_count(0)
    response = page.goto(server.url + "/supervisor")
    assert response.status == 403
    expect(page.get_by_role("heading", name="Supervisors only")).to_be_visible()


def test_on_a_phone_the_list_the_team_and_a_pane_stack(server, browser, clients):
    context = browser.new_context(**PHONE_OPTIONS)
    try:
        page = context.new_page()
        name = unique_name("Phone")
        start_chat(server, name=name)
        open_supervisor_view(page, server)
        shown = open_pane(page, name)
        box = shown.bounding_box()
        assert box["width"] <= 375
        expect(shown.get_by_role("button", name="Join", exact=True)).to_be_visible()
    finally:
        context.close()


def test_a_note_written_in_a_pane_is_never_announced_to_the_visitor(server, new_page, clients):
    name = unique_name("Noted")
    chat = start_chat(server, name=name)
    visitor = connect_visitor(server, chat)
    clients.append(visitor)
    page = open_supervisor_view(new_page(), server)
    shown = open_pane(page, name)
    shown.get_by_role("button", name="Join", exact=True).click()
    box = shown.locator(".pane-input")
    expect(box).to_be_enabled()
    box.press_sequentially("Let me see")
    visitor.wait_for("typing", lambda event: event["is_typing"])            # a reply is announced
    shown.locator(".pane-note").check()
    visitor.wait_for("typing", lambda event: not event["is_typing"])
    heard = len(visitor.received("typing"))

    box.fill("")
    box.press_sequentially("Card ending 4242 was declined")
    box.press("Enter")
    expect(shown.locator(".message.note .message-text")).to_have_text(["Card ending 4242 was declined"])
    shown.get_by_role("button", name="End chat", exact=True).click()
    visitor.wait_for("session_status", lambda status: status["status"] == "ended")
    assert visitor.received("typing")[heard:] == []                          # the note never was


def test_the_list_says_who_views_each_chat(server, new_page, clients):
    name = unique_name("Vera")
    chat = start_chat(server, name=name)
    supervisor = open_supervisor_view(new_page(), server)
    viewing = row(supervisor, name).locator(".row-viewers")
    expect(viewing).to_have_text("")
    agent = connect_agent(server, login(server))
    clients.append(agent)
    assert agent.call("join_session", {"session_id": chat["session_id"], "last_seq": 0})["ok"]
    expect(viewing).to_have_text("Viewing: Demo Agent")
    supervisor.reload()                                  # and at load, from the overview
    expect(row(supervisor, name).locator(".row-viewers")).to_have_text("Viewing: Demo Agent")
    assert agent.call("leave_session", {"session_id": chat["session_id"]})["ok"]
    expect(row(supervisor, name).locator(".row-viewers")).to_have_text("")


def test_a_read_answered_before_an_agent_left_does_not_bring_the_agent_back(server, new_page, clients):
    """The list's read at the socket's connect was answered while the agent viewed the chat, and
    arrives after the event that the agent left: the event's news stays."""
    name = unique_name("Vic")
    chat = start_chat(server, name=name)
    agent = connect_agent(server, login(server))
    clients.append(agent)
    assert agent.call("join_session", {"session_id": chat["session_id"], "last_seq": 0})["ok"]
    supervisor = new_page()
    log_in(supervisor, server, "supervisor@example.com")
    reads = []                     # (route, the server's answer): answered now, delivered when the test says
    supervisor.route("**/supervisor/overview", lambda route: reads.append((route, route.fetch())))
    supervisor.goto(server.url + "/supervisor")
    expect(supervisor.locator("#connectionStatus")).to_have_text("Live")
    for _ in range(200):           # the read at load and the one at the socket's connect
        if len(reads) == 2:
            break
        supervisor.wait_for_timeout(50)
    assert len(reads) == 2
    route, answer = reads[0]
    route.fulfill(response=answer)
    viewing = row(supervisor, name).locator(".row-viewers")
    expect(viewing).to_have_text("Viewing: Demo Agent")
    assert agent.call("leave_session", {"session_id": chat["session_id"]})["ok"]
    expect(viewing).to_have_text("")
    route, answer = reads[1]
    route.fulfill(response=answer)
    expect(supervisor.locator("#supervisor")).to_have_attribute("data-shown-read", "2")
    expect(viewing).to_have_text("")
