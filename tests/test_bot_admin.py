"""The bot's settings in /admin on a live server: turning it on, its menu checked with a sentence
per mistake (what was typed is kept), business hours, who may change them, and the list of
questions nobody answered."""
import html
import json
import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

import requests

from tests.support import add_routed_site, connect_visitor, csrf_token, login, start_chat

MENU = {"header": {"type": "text", "text": "Botshop"}, "body": {"text": "Ask me anything."},
        "action": {"buttons": [{"type": "reply", "reply": {"id": "btn_agent", "title": "Talk to Expert"}}]},
        "steps": {"initial": {"next_steps": {"btn_agent": "AGENT_MODE"}}}}


def a_site(server):
    key = f"botshop-{uuid.uuid4().hex[:6]}"
    add_routed_site(server, key, "manual", [])
    return key


def post_bot(server, http, key, **fields):
    page = http.get(server.url + f"/admin/sites/{key}", timeout=5)
    assert page.status_code == 200 and 'id="bot"' in page.text
    form = {"csrf_token": csrf_token(page.text), "bot_menu": "", "always_open": "1", **fields}
    return http.post(server.url + f"/admin/sites/{key}/bot", data=form, timeout=5, allow_redirects=False)


def test_an_admin_turns_the_bot_on_with_a_menu_and_new_chats_start_with_it(server, clients):
    admin = login(server, "admin@example.com", "demo-password")
    key = a_site(server)
    saved = post_bot(server, admin, key, bot_enabled="1", bot_menu=json.dumps(MENU))
    assert saved.status_code == 302 and saved.headers["Location"].endswith(f"/admin/sites/{key}#bot")
    page = admin.get(server.url + f"/admin/sites/{key}", timeout=5).text
    assert "is on and saved" in page and "Talk to Expert" in page
    chat = start_chat(server, site_key=key, name="Bo")
    assert chat["status"] == "bot"
    visitor = connect_visitor(server, chat)
    clients.append(visitor)
    greeting = visitor.wait_for("message", lambda m: m["sender_type"] == "bot")
    assert greeting["text"] == "Botshop\nAsk me anything."
    assert greeting["buttons"] == [{"id": "btn_agent", "title": "Talk to Expert"}]

    # A question no article answers is listed for the admins, as text.
    question = "<script>alert(1)</script> do you rent helicopters?"
    assert visitor.call("send_message", {"text": question, "client_id": "u-1"})["ok"]
    visitor.wait_for("message", lambda m: m["sender_type"] == "bot" and m.get("form") == "offline")
    listed = admin.get(server.url + "/admin/unanswered", timeout=5).text
    assert html.escape(question) in listed and question not in listed
    assert f'href="/history/{chat["session_id"]}"' in listed


def test_a_menu_with_mistakes_is_refused_with_where_each_is_and_the_json_is_kept(server):
    admin = login(server, "admin@example.com", "demo-password")
    key = a_site(server)
    broken = json.loads(json.dumps(MENU))
    broken["action"]["buttons"][0]["reply"]["title"] = "A title far too long for any phone"
    typed = json.dumps(broken)
    refused = post_bot(server, admin, key, bot_enabled="1", bot_menu=typed)
    assert refused.status_code == 400
    assert "action.buttons[0].reply.title: 1 to 20 characters" in html.unescape(refused.text)
    assert typed in html.unescape(refused.text)                # what was typed is kept
    assert post_bot(server, admin, key, bot_menu="{ not json").status_code == 400
    page = admin.get(server.url + f"/admin/sites/{key}", timeout=5).text
    assert 'name="bot_enabled" value="1" checked' not in page and "far too long" not in page


def test_business_hours_are_checked_and_kept(server):
    admin = login(server, "admin@example.com", "demo-password")
    key = a_site(server)
    refused = post_bot(server, admin, key, always_open="", time_zone="Mars/Olympus", days=["mon"],
                       opens="09:00", closes="18:00")
    assert refused.status_code == 400 and "Mars/Olympus is not a time zone" in html.unescape(refused.text)
    saved = post_bot(server, admin, key, always_open="", time_zone="Europe/Paris", days=["mon", "fri"],
                     opens="09:00", closes="17:30")
    assert saved.status_code == 302
    page = admin.get(server.url + f"/admin/sites/{key}", timeout=5).text
    assert 'value="Europe/Paris"' in page and 'value="17:30"' in page
    assert 'value="fri" checked' in page and 'value="sat" checked' not in page
    # Outside them, the widget says so before a chat starts.
    today = datetime.now(ZoneInfo("Pacific/Kiritimati")).strftime("%a").lower()
    other_day = next(day for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun") if day != today)
    assert post_bot(server, admin, key, always_open="", time_zone="Pacific/Kiritimati", days=[other_day],
                    opens="00:00", closes="23:59").status_code == 302
    frame = requests.get(server.url + f"/widget/frame?site={key}", timeout=5).text
    assert "We're closed now; our hours are " in html.unescape(frame) and "(Pacific/Kiritimati time)" in frame


def test_only_admins_change_a_bot(server):
    agent = login(server)
    key = a_site(server)
    page = agent.get(server.url + "/dashboard", timeout=5)
    refused = agent.post(server.url + f"/admin/sites/{key}/bot", timeout=5, allow_redirects=False,
                         data={"csrf_token": csrf_token(page.text), "bot_enabled": "1"})
    assert refused.status_code == 403 and "Only an admin may manage" in refused.text
    assert agent.get(server.url + "/admin/unanswered", timeout=5).status_code == 403
