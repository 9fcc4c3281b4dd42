"""What a phone is told when something happens in its chat (WhatsApp and LINE alike, in seed
004's words). The dashboard and the widget read a system line's own text; a phone reads these,
chosen by the line's `event` (messages.add_system). A line without words here (a transfer, a
supervisor joining) stays with the team."""
import json

from flask import current_app

HANDOFF = "Connecting you to an agent… Type 'end chat' to return to the menu."
CLAIMED = "{agent} is now chatting with you."
ENDED = "Chat ended. Type 'menu' to return to the main menu."
EXPIRED = ("Your chat session has automatically ended after {hours} hours. "
           "Type 'menu' to return to the main menu.")
WAIT = "Please wait, an agent will be with you shortly..."


def customer_words(message_extras, config):
    """The words a phone gets for a system message, from its extras (the stored JSON text or a
    dict, with the event's details: pass `message.extras`, as `models.message_extras` keeps
    only what clients are shown), or None when the phone is told nothing."""
    extras = json.loads(message_extras) if isinstance(message_extras, str) else (message_extras or {})
    event = extras.get("event")
    if event == "handoff":
        return HANDOFF
    if event == "claimed":
        return CLAIMED.format(agent=extras.get("agent") or "An agent")
    if event == "ended":
        if extras.get("reason") == "expired":
            return EXPIRED.format(hours=config["SESSION_LIFETIME_HOURS"])
        return ENDED
    if event == "wait":
        return WAIT
    return None


def phone_text(message):
    """What the phone is sent for a stored message, or None when it stays in the dashboard:
    an agent's or the bot's public message as written (a file alone: ""), a system line in
    the channels' own words (words.customer_words: the end, the handoff, the claim...)."""
    if message.private:
        return None
    if message.sender_type in ("agent", "bot"):
        return message.text
    if message.sender_type == "system":
        return customer_words(message.extras, current_app.config)     # the whole JSON: the event's details
    return None
