"""A site's bot menu, in seed 004's shape: the greeting's header, body and footer, its quick-reply
buttons, and where each button leads.

    {"header": {"type": "text", "text": "Welcome to Demo Shop"},
     "body": {"text": "How can we help you today? Choose an option below:"},
     "footer": {"text": "We're here to assist you"},
     "action": {"buttons": [{"type": "reply", "reply": {"id": "btn_shipping", "title": "Shipping"}},
                            {"type": "reply", "reply": {"id": "btn_agent", "title": "Talk to Expert"}}]},
     "steps": {"initial": {"next_steps": {"btn_shipping": {"article": "How long does shipping take?"},
                                          "btn_agent": "AGENT_MODE"}}}}

A button leads to "AGENT_MODE" (a person), {"reply": "text"} (the bot says it) or
{"article": "title"} (the bot answers with that article of the site). The sizes are
WhatsApp's, so the same menu serves every channel: at most 3 buttons, titles up to 20
characters, ids up to 256 (letters, digits, "_" and "-"), a header and a footer up to 60, a
body up to 1024.
"""
import json
import re

from ..validation import invalid

AGENT_MODE = "AGENT_MODE"
MAX_BUTTONS = 3
MAX_TITLE = 20
MAX_HEADER = 60
MAX_BODY = 1024
MAX_REPLY = 1000
MAX_JSON = 20_000
BUTTON_ID = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


def default_menu(site):
    """The menu of a site that has not written one: its greeting, and a way to a person."""
    return {"header": {"type": "text", "text": site.name[:MAX_HEADER]},
            "body": {"text": site.greeting},
            "action": {"buttons": [{"type": "reply", "reply": {"id": "btn_agent", "title": "Talk to an expert"}}]},
            "steps": {"initial": {"next_steps": {"btn_agent": AGENT_MODE}}}}


def menu_of(site):
    return json.loads(site.bot_menu) if site.bot_menu else default_menu(site)


def parse(text, article_titles):
    """The menu from an admin's JSON, checked; ChatError listing every mistake, each with
    where it is (e.g. "action.buttons[1].reply.title: ..."). `article_titles`: the site's articles."""
    if len(text or "") > MAX_JSON:
        raise invalid(f"The menu can be up to {MAX_JSON:,} characters of JSON.")
    try:
        menu = json.loads(text or "")
    except ValueError as error:
        raise invalid(f"The menu is not valid JSON: {error}.") from None
    problems = problems_of(menu, set(article_titles))
    if problems:
        raise invalid("The menu has mistakes: " + "; ".join(problems) + ".")
    return menu


def problems_of(menu, article_titles):
    if not isinstance(menu, dict):
        return ["it must be a JSON object with header, body, action and steps"]
    problems = []
    for part, limit, required in (("header", MAX_HEADER, False), ("body", MAX_BODY, True), ("footer", MAX_HEADER, False)):
        value = menu.get(part)
        if value is None and not required:
            continue
        if not isinstance(value, dict) or not isinstance(value.get("text"), str) or not value["text"].strip():
            problems.append(f'{part}: write it as {{"text": "..."}}')
        elif len(value["text"]) > limit:
            problems.append(f"{part}.text: at most {limit} characters")
    buttons = (menu.get("action") or {}).get("buttons") if isinstance(menu.get("action"), dict) else None
    ids = []
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= MAX_BUTTONS:
        problems.append(f"action.buttons: a list of 1 to {MAX_BUTTONS} buttons")
        buttons = []
    for n, button in enumerate(buttons):
        where = f"action.buttons[{n}]"
        reply = button.get("reply") if isinstance(button, dict) else None
        if not isinstance(reply, dict):
            problems.append(f'{where}: write it as {{"type": "reply", "reply": {{"id": "...", "title": "..."}}}}')
            continue
        if not isinstance(reply.get("id"), str) or not BUTTON_ID.match(reply["id"]):
            problems.append(f"{where}.reply.id: 1 to 256 letters, digits, _ or -")
        elif reply["id"] in ids:
            problems.append(f"{where}.reply.id: {reply['id']} is used twice")
        else:
            ids.append(reply["id"])
        title = reply.get("title")
        if not isinstance(title, str) or not title.strip() or len(title) > MAX_TITLE:
            problems.append(f"{where}.reply.title: 1 to {MAX_TITLE} characters")
    steps = (((menu.get("steps") or {}).get("initial") or {}).get("next_steps")
             if isinstance(menu.get("steps"), dict) and isinstance(menu["steps"].get("initial"), dict) else None)
    if not isinstance(steps, dict):
        return problems + ["steps.initial.next_steps: an object mapping each button id to where it leads"]
    for button_id in ids:
        if button_id not in steps:
            problems.append(f"steps.initial.next_steps: no destination for button {button_id}")
    for button_id, destination in steps.items():
        where = f"steps.initial.next_steps.{button_id}"
        if button_id not in ids:
            problems.append(f"{where}: no button has this id")
        elif destination == AGENT_MODE:
            continue
        elif isinstance(destination, dict) and isinstance(destination.get("reply"), str) and len(destination) == 1:
            if not destination["reply"].strip() or len(destination["reply"]) > MAX_REPLY:
                problems.append(f"{where}.reply: 1 to {MAX_REPLY} characters")
        elif isinstance(destination, dict) and isinstance(destination.get("article"), str) and len(destination) == 1:
            if destination["article"] not in article_titles:
                problems.append(f"{where}.article: no article of this site is titled {destination['article']!r}")
        else:
            problems.append(f'{where}: "{AGENT_MODE}", {{"reply": "..."}} or {{"article": "title"}}')
    return problems


def greeting(menu):
    """(text, buttons) of the menu's greeting: header, body and footer as lines of text."""
    parts = [(menu.get(part) or {}).get("text", "").strip() for part in ("header", "body", "footer")]
    return "\n".join(part for part in parts if part), buttons_of(menu)


def buttons_of(menu):
    return [{"id": button["reply"]["id"], "title": button["reply"]["title"]} for button in menu["action"]["buttons"]]


def destination(menu, button_id):
    """Where the menu's button leads, or None when the menu has no such button."""
    return menu["steps"]["initial"]["next_steps"].get(button_id)
