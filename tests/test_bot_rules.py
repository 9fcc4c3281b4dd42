"""The bot's rules without a database: what it does with each message (rules.decide), the
menu an admin writes (menu.parse), and business hours (hours)."""
import json
from dataclasses import dataclass
from datetime import datetime, timezone

import pytest

from chat.bot import hours, menu, rules
from chat.errors import ChatError

DEMO_MENU = {
    "header": {"type": "text", "text": "Welcome to Demo Shop"},
    "body": {"text": "How can we help you today?"},
    "footer": {"text": "We're here to assist you"},
    "action": {"buttons": [{"type": "reply", "reply": {"id": "btn_hours", "title": "Opening hours"}},
                           {"type": "reply", "reply": {"id": "btn_ship", "title": "Shipping"}},
                           {"type": "reply", "reply": {"id": "btn_agent", "title": "Talk to Expert"}}]},
    "steps": {"initial": {"next_steps": {"btn_hours": {"reply": "We are open 9 to 6."},
                                         "btn_ship": {"article": "Shipping times"},
                                         "btn_agent": "AGENT_MODE"}}},
}


@dataclass
class FakeHit:
    coverage: float


def decide(text, button_id=None, misses=0, hits=(FakeHit(1.0),)):
    asked = []

    def search(question):
        asked.append(question)
        return list(hits)
    decision = rules.decide(text, button_id, DEMO_MENU, misses, search)
    decision.searched = asked
    return decision


def test_the_menus_buttons_lead_where_the_menu_says():
    assert decide("Talk to Expert", "btn_agent").action == "hand_off"
    assert decide("Talk to Expert", "btn_agent").reason == "button"
    reply = decide("Opening hours", "btn_hours")
    assert (reply.action, reply.text) == ("reply", "We are open 9 to 6.")
    article = decide("Shipping", "btn_ship")
    assert (article.action, article.text) == ("article", "Shipping times")


def test_the_buttons_under_an_answer():
    assert decide("Talk to an expert", rules.EXPERT).action == "hand_off"
    assert decide("That helped", rules.HELPED).action == "helped"


def test_an_unknown_button_is_read_as_typed_text():
    decision = decide("where is my parcel", "btn_gone")
    assert decision.action == "answer" and decision.searched == ["where is my parcel"]


@pytest.mark.parametrize("text", ["agent", "Human!", "talk to an EXPERT", " I want an agent. ", "speak to a person"])
def test_words_asking_for_a_person_hand_off(text):
    decision = decide(text)
    assert (decision.action, decision.reason, decision.searched) == ("hand_off", "words", [])


def test_a_question_that_mentions_an_agent_is_still_a_question():
    assert decide("is the agent fee refundable?").action == "answer"


def test_menu_words_show_the_menu_again():
    assert decide("Menu").action == "menu"


def test_a_question_nothing_matches_hands_off_and_is_kept_as_unanswered():
    decision = decide("do you sell helicopters", hits=[])
    assert (decision.action, decision.reason, decision.unanswered) == ("hand_off", "no_match", True)


def test_a_weak_answer_is_given_once_and_the_second_in_a_row_hands_off():
    first = decide("parcel colour insurance", misses=0, hits=[FakeHit(0.34)])
    assert (first.action, first.weak, first.unanswered) == ("answer", True, False)
    second = decide("parcel colour insurance", misses=1, hits=[FakeHit(0.34)])
    assert (second.action, second.reason, second.unanswered) == ("hand_off", "not_understood", True)


def test_a_good_answer_is_not_weak():
    decision = decide("shipping time", misses=1, hits=[FakeHit(0.5)])
    assert (decision.action, decision.weak) == ("answer", False)


# ---- the menu an admin writes

def test_the_demo_menu_is_valid_and_its_greeting_has_its_buttons():
    parsed = menu.parse(json.dumps(DEMO_MENU), ["Shipping times"])
    text, buttons = menu.greeting(parsed)
    assert text == "Welcome to Demo Shop\nHow can we help you today?\nWe're here to assist you"
    assert buttons == [{"id": "btn_hours", "title": "Opening hours"}, {"id": "btn_ship", "title": "Shipping"},
                       {"id": "btn_agent", "title": "Talk to Expert"}]


def mistakes(changed):
    with pytest.raises(ChatError) as refused:
        menu.parse(changed if isinstance(changed, str) else json.dumps(changed), ["Shipping times"])
    return refused.value.message


def test_each_mistake_of_a_menu_is_named_with_where_it_is():
    assert mistakes("{not json").startswith("The menu is not valid JSON")
    assert "it must be a JSON object" in mistakes("[1, 2]")
    broken = json.loads(json.dumps(DEMO_MENU))
    broken["action"]["buttons"][1]["reply"]["title"] = "A title far too long for WhatsApp"
    broken["action"]["buttons"][2]["reply"]["id"] = "btn hours!"
    broken["steps"]["initial"]["next_steps"]["btn_ship"] = {"article": "No such article"}
    message = mistakes(broken)
    assert "action.buttons[1].reply.title: 1 to 20 characters" in message
    assert "action.buttons[2].reply.id: 1 to 256 letters, digits, _ or -" in message
    assert "steps.initial.next_steps.btn_ship.article: no article of this site is titled 'No such article'" in message
    assert "steps.initial.next_steps.btn_agent: no button has this id" in message


def test_a_menu_needs_a_body_buttons_and_a_destination_for_each():
    assert 'body: write it as {"text": "..."}' in mistakes({k: v for k, v in DEMO_MENU.items() if k != "body"})
    too_many = json.loads(json.dumps(DEMO_MENU))
    too_many["action"]["buttons"].append({"type": "reply", "reply": {"id": "x", "title": "X"}})
    assert "action.buttons: a list of 1 to 3 buttons" in mistakes(too_many)
    missing = json.loads(json.dumps(DEMO_MENU))
    del missing["steps"]["initial"]["next_steps"]["btn_hours"]
    assert "no destination for button btn_hours" in mistakes(missing)
    wrong = json.loads(json.dumps(DEMO_MENU))
    wrong["steps"]["initial"]["next_steps"]["btn_hours"] = "somewhere"
    assert 'steps.initial.next_steps.btn_hours: "AGENT_MODE", {"reply": "..."} or {"article": "title"}' in mistakes(wrong)


def test_a_menu_of_huge_json_is_refused_before_it_is_read():
    assert mistakes("[" + "1," * 20000 + "1]").startswith("The menu can be up to 20,000 characters")


# ---- business hours

WEEKDAYS_9_TO_6 = hours.checked("Europe/Paris", ["mon", "tue", "wed", "thu", "fri"], "09:00", "18:00")


def test_open_within_the_hours_in_the_sites_time_zone():
    # 2026-11-30 is a Monday; 08:30 UTC is 09:30 in Paris (UTC+1 in winter).
    assert hours.is_open(WEEKDAYS_9_TO_6, datetime(2026, 11, 30, 8, 30, tzinfo=timezone.utc))
    assert not hours.is_open(WEEKDAYS_9_TO_6, datetime(2026, 11, 30, 7, 30, tzinfo=timezone.utc))
    assert not hours.is_open(WEEKDAYS_9_TO_6, datetime(2026, 11, 30, 17, 0, tzinfo=timezone.utc))   # 18:00 Paris
    assert not hours.is_open(WEEKDAYS_9_TO_6, datetime(2026, 11, 29, 10, 0, tzinfo=timezone.utc))   # a Sunday
    assert hours.is_open(None)


def test_hours_in_words():
    assert hours.describe(WEEKDAYS_9_TO_6) == "Monday to Friday, 09:00-18:00 (Europe/Paris time)"
    assert hours.describe(hours.checked("UTC", ["sat", "mon"], "10:00", "12:00")) == \
        "Monday, Saturday, 10:00-12:00 (UTC time)"


@pytest.mark.parametrize("fields, sentence", [
    (("Mars/Olympus", ["mon"], "09:00", "18:00"), "Mars/Olympus is not a time zone"),
    (("UTC", [], "09:00", "18:00"), "Choose at least one day"),
    (("UTC", ["mon"], "9am", "18:00"), "The opening time must be written HH:MM"),
    (("UTC", ["mon"], "18:00", "09:00"), "The closing time must come after the opening time"),
])
def test_bad_hours_are_refused_with_a_sentence(fields, sentence):
    with pytest.raises(ChatError) as refused:
        hours.checked(*fields)
    assert sentence in refused.value.message
