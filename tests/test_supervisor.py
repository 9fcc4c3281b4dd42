"""The supervisor view: its first load (every open chat as a row, the team), the events that keep
each row up to date without reading the list again, and that a plain agent reaches none of it."""
from datetime import datetime, timedelta

import requests

from tests.support import connect_agent, connect_visitor, create_agent, login, start_chat

SUPERVISOR = ("supervisor@example.com", "demo-password")


def moment(iso):
    return datetime.fromisoformat(iso.replace("Z", "+00:00"))


def overview(server, http):
    response = http.get(server.url + "/supervisor/overview", timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def row_of(listing, chat):
    rows = [row for row in listing["chats"] if row["session_id"] == chat["session_id"]]
    return rows[0] if rows else None


def of_chat(chat, **fields):
    return lambda data: data.get("session_id") == chat["session_id"] and all(
        data.get(name) == value for name, value in fields.items())



# ---- the first load ----

def test_the_overview_lists_every_open_chat_with_what_its_clocks_count_from(server):
    waiting = start_chat(server, name="Overview waiting")
    claimed = start_chat(server, name="Overview claimed")
    ended = start_chat(server, name="Overview ended")
    agent = connect_agent(server, login(server))
    try:
        assert agent.call("claim_session", {"session_id": claimed["session_id"]})["ok"]
    finally:
        agent.disconnect()
    requests.post(server.api("/end"), json={"session_id": ended["session_id"],
                                            "session_key": ended["session_key"]}, timeout=5)
    visitor = connect_visitor(server, waiting)
    try:
        listing = overview(server, login(server, *SUPERVISOR))
    finally:
        visitor.disconnect()

    row = row_of(listing, waiting)
    assert row["status"] == "waiting" and row["visitor_name"] == "Overview waiting" and row["agent_id"] is None
    assert row["channel"] == "web" and row["site_name"] and row["visitor_online"] is True
    started = moment(row["started_at"])
    assert moment(row["queued_at"]) == started
    assert moment(row["expires_at"]) == started + timedelta(hours=22)
    # The inactivity rule counts from the last activity (the visitor's connect), the silent-visitor
    # rule from when the visitor was last heard from.
    assert timedelta(minutes=30) <= moment(row["abandon_inactive_at"]) - started < timedelta(minutes=31)
    assert timedelta(minutes=5) <= moment(row["abandon_silent_at"]) - started < timedelta(minutes=6)

    held = row_of(listing, claimed)
    assert held["status"] == "active" and held["agent_name"] == "Demo Agent"
    assert held["abandon_inactive_at"] is None and held["abandon_silent_at"] is None     # no sweep abandons it
    assert held["expires_at"] and held["claimed_at"]
    assert row_of(listing, ended) is None

    waits = [moment(r["queued_at"]) for r in listing["chats"]]
    assert waits == sorted(waits)                                   # longest waiting first


def test_the_overview_shows_the_team_with_presence_chats_held_and_capacity(server, clients):
    create_agent(server, "team-view@example.com", "Team View", "team-view-password")
    http = login(server, "team-view@example.com", "team-view-password")
    listing = overview(server, login(server, *SUPERVISOR))
    member = next(m for m in listing["team"] if m["name"] == "Team View")
    assert member == {"agent_id": member["agent_id"], "name": "Team View", "role": "agent", "presence": "offline",
                      "away_until": None, "max_chats": 5, "chats_held": 0}

    tab = connect_agent(server, http)
    clients.append(tab)
    chat = start_chat(server, name="Held by Team View")
    assert tab.call("claim_session", {"session_id": chat["session_id"]})["ok"]
    member = next(m for m in overview(server, login(server, *SUPERVISOR))["team"] if m["name"] == "Team View")
    assert member["presence"] == "online" and member["chats_held"] == 1


# ---- live updates ----

def test_the_supervisors_room_gets_a_row_per_status_change_and_a_preview_per_message(server, clients):
    supervisor = connect_agent(server, login(server, *SUPERVISOR))
    agent = connect_agent(server, login(server))
    clients.extend([supervisor, agent])
    chat = start_chat(server, name="Live rows")
    row = supervisor.wait_for("queue_update", of_chat(chat, status="waiting"))
    assert row["channel"] == "web" and row["abandon_inactive_at"] and row["expires_at"]

    visitor = connect_visitor(server, chat)
    clients.append(visitor)
    online = supervisor.wait_for("presence", of_chat(chat, visitor_online=True))
    assert online["abandon_inactive_at"]                      # a connect counts as activity
    assert visitor.call("send_message", {"text": "still queued", "client_id": "q1"})["ok"]
    preview = supervisor.wait_for("queue_update", of_chat(chat, last_message="still queued"))
    assert preview["abandon_inactive_at"] and "visitor_name" not in preview

    assert agent.call("claim_session", {"session_id": chat["session_id"]})["ok"]
    claimed = supervisor.wait_for("queue_update", of_chat(chat, status="active"))
    assert claimed["agent_name"] == "Demo Agent" and claimed["abandon_inactive_at"] is None

    # A message of an active chat: one `chat_activity` to the supervisors, none to a plain agent's
    # other lists (the holder's own list has its queue_update, as before).
    assert visitor.call("send_message", {"text": "now active", "client_id": "a1"})["ok"]
    activity = supervisor.wait_for("chat_activity", of_chat(chat, last_message="now active"))
    assert activity["status"] == "active" and activity["sender_type"] == "visitor"
    assert not supervisor.received("queue_update") or all(
        update.get("last_message") != "now active" for update in supervisor.received("queue_update"))
    assert agent.call("heartbeat", {})["ok"]
    assert agent.received("chat_activity") == []

    visitor.disconnect()
    gone = supervisor.wait_for("presence", of_chat(chat, visitor_online=False))
    assert gone["abandon_silent_at"]
    assert agent.call("end_session", {"session_id": chat["session_id"]})["ok"]
    supervisor.wait_for("queue_update", of_chat(chat, status="ended"))


def test_who_views_a_chat_is_on_its_row_at_load_and_by_event(server, clients):
    chat = start_chat(server, name="Viewed row")
    supervisor_http = login(server, *SUPERVISOR)
    supervisor = connect_agent(server, supervisor_http)
    agent = connect_agent(server, login(server))
    clients.extend([supervisor, agent])
    assert row_of(overview(server, supervisor_http), chat)["viewers"] == []
    assert agent.call("join_session", {"session_id": chat["session_id"], "last_seq": 0})["ok"]
    seen = supervisor.wait_for("viewers", of_chat(chat))         # the list's room, without the chat open
    assert [viewer["name"] for viewer in seen["viewers"]] == ["Demo Agent"]
    assert [viewer["name"] for viewer in row_of(overview(server, supervisor_http), chat)["viewers"]] == ["Demo Agent"]
    assert agent.call("leave_session", {"session_id": chat["session_id"]})["ok"]
    supervisor.wait_for("viewers", of_chat(chat, viewers=[]))
    assert row_of(overview(server, supervisor_http), chat)["viewers"] == []


def test_a_note_leaves_the_lists_previews_as_they_are(server, clients):
    chat = start_chat(server, name="Noted row")
    supervisor = connect_agent(server, login(server, *SUPERVISOR))
    holder = connect_agent(server, login(server))
    clients.extend([supervisor, holder])
    assert holder.call("claim_session", {"session_id": chat["session_id"]})["ok"]
    for text, private in (("Card 4242 declined", True), ("Your refund is on its way", False)):
        assert holder.call("send_message", {"session_id": chat["session_id"], "text": text, "client_id": text[:4],
                                            "private": private})["ok"]
    supervisor.wait_for("chat_activity", of_chat(chat, last_message="Your refund is on its way"))
    previews = supervisor.received("chat_activity") + holder.received("queue_update")
    assert not [p for p in previews if p.get("last_message") == "Card 4242 declined"]


def test_the_team_panel_hears_an_agent_come_and_go(server, clients):
    create_agent(server, "comes-goes@example.com", "Comes Goes", "comes-goes-password")
    supervisor = connect_agent(server, login(server, *SUPERVISOR))
    clients.append(supervisor)
    tab = connect_agent(server, login(server, "comes-goes@example.com", "comes-goes-password"))
    came = supervisor.wait_for("team_update", lambda m: m["name"] == "Comes Goes" and m["presence"] == "online")
    assert came["max_chats"] == 5 and came["away_until"] is None
    tab.disconnect()
    went = supervisor.wait_for("team_update", lambda m: m["name"] == "Comes Goes" and m["presence"] == "away")
    assert moment(went["away_until"]) > datetime.now(moment(went["away_until"]).tzinfo)


# ---- a plain agent reaches none of it ----

def test_an_agent_gets_403_for_the_page_and_the_overview(server):
    http = login(server)
    page = http.get(server.url + "/supervisor", timeout=5)
    assert page.status_code == 403 and "Only a supervisor or an admin" in page.text
    listing = http.get(server.url + "/supervisor/overview", timeout=5)
    assert listing.status_code == 403 and listing.json()["error"]["code"] == "forbidden"
    assert "/supervisor" not in http.get(server.url + "/dashboard", timeout=5).text


def test_logged_out_the_page_asks_for_a_login(server):
    response = requests.get(server.url + "/supervisor", allow_redirects=False, timeout=5)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_supervisor_and_an_admin_open_the_page(server):
    for email in ("supervisor@example.com", "admin@example.com"):
        http = login(server, email, "demo-password")
        page = http.get(server.url + "/supervisor", timeout=5)
        assert page.status_code == 200 and 'id="chatRows"' in page.text
        assert 'href="/supervisor"' in http.get(server.url + "/dashboard", timeout=5).text


def test_an_agent_hears_nothing_of_the_supervisors_room(server, clients):
    create_agent(server, "plain-room@example.com", "Plain Room", "plain-room-password")
    plain = connect_agent(server, login(server, "plain-room@example.com", "plain-room-password"))
    holder = connect_agent(server, login(server))
    clients.extend([plain, holder])
    chat = start_chat(server, name="Not for agents")
    visitor = connect_visitor(server, chat)
    clients.append(visitor)
    assert holder.call("claim_session", {"session_id": chat["session_id"]})["ok"]
    assert visitor.call("send_message", {"text": "private to the holder", "client_id": "p1"})["ok"]
    holder.wait_for("message", lambda m: m["text"] == "private to the holder")
    assert plain.call("heartbeat", {})["ok"]
    assert plain.received("chat_activity") == [] and plain.received("team_update") == []
    assert all("abandon_silent_at" not in p for p in plain.received("presence"))


def test_an_agent_cannot_join_reassign_or_end_a_chat_it_does_not_hold(server, clients):
    create_agent(server, "not-super@example.com", "Not Super", "not-super-password")
    plain = connect_agent(server, login(server, "not-super@example.com", "not-super-password"))
    holder = connect_agent(server, login(server))
    clients.extend([plain, holder])
    waiting = start_chat(server, name="Not yours to join")
    held = start_chat(server, name="Not yours to move")
    assert holder.call("claim_session", {"session_id": held["session_id"]})["ok"]
    agent_id = plain.call("join_session", {"session_id": waiting["session_id"], "last_seq": 0})["session"]["agent_id"]
    assert agent_id is None

    refusals = [
        plain.call("join_chat", {"session_id": waiting["session_id"]}),
        plain.call("join_chat", {"session_id": held["session_id"]}),
        plain.call("transfer_session", {"session_id": held["session_id"], "to_agent_id": None}),
        plain.call("end_session", {"session_id": held["session_id"]}),
    ]
    assert [reply["ok"] for reply in refusals] == [False] * 4
    assert refusals[0]["error"]["code"] == "forbidden"
    assert {reply["error"]["code"] for reply in refusals[1:]} == {"session_not_found"}   # it may not even see it
    listing = overview(server, login(server, *SUPERVISOR))
    assert row_of(listing, waiting)["status"] == "waiting"
    assert row_of(listing, held)["agent_name"] == "Demo Agent"


def test_a_reassigned_chat_moves_to_its_new_agent_in_the_view(server, clients):
    supervisor = connect_agent(server, login(server, *SUPERVISOR))
    holder = connect_agent(server, login(server))
    second = connect_agent(server, login(server, "second@example.com", "second-password"))
    clients.extend([supervisor, holder, second])
    chat = start_chat(server, name="Moving on")
    assert holder.call("claim_session", {"session_id": chat["session_id"]})["ok"]
    second_id = next(m["agent_id"] for m in overview(server, login(server, *SUPERVISOR))["team"]
                     if m["name"] == "Second Agent")
    assert supervisor.call("transfer_session", {"session_id": chat["session_id"], "to_agent_id": second_id})["ok"]
    moved = supervisor.wait_for("queue_update", of_chat(chat, agent_id=second_id))
    assert moved["status"] == "active" and moved["agent_name"] == "Second Agent"
    assert row_of(overview(server, login(server, *SUPERVISOR)), chat)["agent_name"] == "Second Agent"
