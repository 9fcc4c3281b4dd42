"""The bot in a chat, in-process on a migrated database: its greeting, its answers (from the
knowledge base, or written by a model served by a local fake), the drafts it streams, the
handoff to a person, the offline form, and its silence once a person has the chat."""
import json
from datetime import timedelta

import pytest

from chat import jobs, knowledge, messages, sessions
from chat.bot import conversation, rules
from chat.extensions import db, socketio
from chat.models import UnansweredQuestion, utcnow
from tests.support.fake_llm import FakeModel

SHIPPING = ("How long does shipping take?", "shipping, delivery",
            "Orders ship within one working day.\n\nDelivery takes 2-3 working days in France.")
RETURNS = ("Returns", "returns, refund", "You can return any item within 30 days of delivery.")


@pytest.fixture(autouse=True)
def answers_at_once(monkeypatch):
    """The bot's background task runs as soon as the visitor's message is stored."""
    monkeypatch.setattr(socketio, "start_background_task", lambda task, *args: task(*args))


@pytest.fixture
def bot_site(site, agents):
    site.bot_enabled = True
    db.session.commit()
    for title, tags, body in (SHIPPING, RETURNS):
        knowledge.save(site, title, body, tags, published=True)
    return site


@pytest.fixture
def model(app):
    fake = FakeModel()
    app.config.update(LLM_BASE_URL=fake.base_url, LLM_MODEL="writer", LLM_API_KEY="test-key",
                      LLM_STALL_SECONDS=1, LLM_TIMEOUT_SECONDS=10)
    yield fake
    fake.close()


def start(site):
    chat, _key = sessions.start_session(site, name="Ada")
    return chat


def said(chat):
    return [(m.sender_type, m.text) for m in messages.after(chat.id)]


def last(chat):
    message = messages.after(chat.id)[-1]
    return message, json.loads(message.extras) if message.extras else {}


def ask(chat, text, button_id=None):
    """The visitor's message; the bot answers it (at once, see answers_at_once)."""
    messages.receive(messages.Inbound(chat.id, text, f"c-{len(messages.after(chat.id))}", button_id=button_id))
    db.session.refresh(chat)


def drafts(published, chat):
    return [data for kind, event, data, *_ in published
            if kind == "emit" and event == "bot_draft" and data["session_id"] == chat.id]


def test_a_chat_of_a_site_with_the_bot_starts_with_the_bot_and_its_menu(bot_site):
    chat = start(bot_site)
    assert chat.status == "bot" and chat.queued_at is None
    message, extras = last(chat)
    assert (message.sender_type, message.sender_name) == ("bot", "Assistant")
    assert message.text == "Demo\nHi! How can we help?"
    assert extras == {"buttons": [{"id": "btn_agent", "title": "Talk to an expert"}]}


def test_a_site_without_the_bot_puts_the_chat_in_line(site):
    chat = start(site)
    assert chat.status == "waiting" and said(chat) == []


def test_a_question_is_answered_from_the_best_article_with_a_link_and_streamed_first(bot_site, published):
    chat = start(bot_site)
    ask(chat, "how long does shipping take?")
    answer, extras = last(chat)
    article = knowledge.articles_of(bot_site.id)[0]
    assert answer.text == "Orders ship within one working day."
    assert extras["links"][0] == {"title": "How long does shipping take?", "url": f"/help/demo/{article.id}"}
    assert extras["buttons"] == rules.ANSWER_BUTTONS
    streamed = drafts(published, chat)
    assert streamed and all(draft["client_id"] == answer.client_id for draft in streamed)
    assert all(answer.text.startswith(draft["text"]) and draft["text"] != answer.text for draft in streamed)
    assert chat.status == "bot"


def test_that_helped_is_counted_and_thanked(bot_site):
    chat = start(bot_site)
    ask(chat, "shipping time")
    ask(chat, "That helped", rules.HELPED)
    assert chat.bot_helped and said(chat)[-1] == ("bot", conversation.HELPED_TEXT)


def test_talk_to_an_expert_hands_off_to_the_line_and_the_bot_falls_silent(bot_site, someone_online):
    chat = start(bot_site)
    ask(chat, "shipping time")
    ask(chat, "Talk to an expert", rules.EXPERT)
    assert (chat.status, chat.handoff_reason) == ("waiting", "button")
    assert chat.queued_at is not None
    assert said(chat)[-1] == ("system", "Connecting you to an agent…")
    sessions.claim_session(chat, someone_online)
    before = said(chat)
    ask(chat, "how long does shipping take?")
    assert said(chat) == before + [("visitor", "how long does shipping take?")]


@pytest.mark.parametrize("words", ["agent", "Talk to an expert!"])
def test_typed_words_hand_off(bot_site, someone_online, words):
    chat = start(bot_site)
    ask(chat, words)
    assert (chat.status, chat.handoff_reason) == ("waiting", "words")


def test_a_question_with_no_match_hands_off_and_is_listed_for_the_admins(bot_site, someone_online):
    chat = start(bot_site)
    ask(chat, "do you sell helicopters?")
    assert (chat.status, chat.handoff_reason) == ("waiting", "no_match")
    listed = db.session.scalars(db.select(UnansweredQuestion)).all()
    assert [(q.site_id, q.session_id, q.text) for q in listed] == [(bot_site.id, chat.id, "do you sell helicopters?")]


def test_two_weak_answers_in_a_row_hand_off(bot_site, someone_online):
    chat = start(bot_site)
    ask(chat, "shipping insurance colour")        # 1 of 3 words matches: weak
    assert chat.status == "bot" and chat.bot_misses == 1
    assert said(chat)[-1][1].startswith(conversation.WEAK_PREFIX)
    ask(chat, "returns wrapping paper")
    assert (chat.status, chat.handoff_reason) == ("waiting", "not_understood")


def test_with_nobody_online_the_bot_offers_the_offline_form_and_the_message_reaches_the_line(bot_site):
    chat = start(bot_site)
    ask(chat, "agent")
    message, extras = last(chat)
    assert (message.text, extras) == (conversation.AWAY_TEXT, {"form": "offline"})
    assert chat.status == "bot"
    left = conversation.leave_offline_message(
        chat, messages.Inbound(chat.id, "Please call me back about order 12", "form-1", offline_form=True),
        "ada@example.com")
    db.session.refresh(chat)
    assert (chat.status, chat.offline, chat.handoff_reason, chat.visitor.email) == \
        ("waiting", True, "offline", "ada@example.com")
    assert said(chat)[-2:] == [("visitor", "Please call me back about order 12"), ("system", sessions.OFFLINE_TEXT)]
    assert left.text == "Please call me back about order 12"
    # It waits for the team however long the visitor is gone: no sweep abandons it.
    later = utcnow() + timedelta(hours=3)
    assert chat.id not in jobs.abandon_inactive_sessions(later) + jobs.abandon_silent_visitors(later)


def test_outside_business_hours_the_bot_says_when_the_team_is_there(bot_site, someone_online):
    now = utcnow()
    closed_day = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"][(now.weekday() + 1) % 7]
    bot_site.business_hours = json.dumps({"time_zone": "UTC", "days": [closed_day], "opens": "00:00",
                                          "closes": "23:59"})
    db.session.commit()
    chat = start(bot_site)
    ask(chat, "agent")
    message, extras = last(chat)
    assert message.text.startswith("We're closed right now; our hours are ") and extras == {"form": "offline"}
    assert chat.status == "bot"


def test_a_menu_button_leading_to_an_article_answers_with_it(bot_site):
    bot_site.bot_menu = json.dumps({
        "body": {"text": "Hello!"},
        "action": {"buttons": [{"type": "reply", "reply": {"id": "btn_ret", "title": "Returns"}}]},
        "steps": {"initial": {"next_steps": {"btn_ret": {"article": "Returns"}}}}})
    db.session.commit()
    chat = start(bot_site)
    assert last(chat)[1]["buttons"] == [{"id": "btn_ret", "title": "Returns"}]
    ask(chat, "Returns", "btn_ret")
    assert said(chat)[-1] == ("bot", "You can return any item within 30 days of delivery.")


# ---- answers written by a model (a local fake OpenAI-compatible server)

def test_the_model_writes_the_answer_from_the_passages_and_it_streams(bot_site, model, published):
    chat = start(bot_site)
    ask(chat, "how long does shipping take?")
    answer, extras = last(chat)
    assert answer.text == FakeModel.answer
    assert extras["links"][0]["title"] == "How long does shipping take?"
    request = model.requests[0]
    assert request["path"] == "/v1/chat/completions" and request["authorization"] == "Bearer test-key"
    assert request["body"]["stream"] is True and request["body"]["model"] == "writer"
    assert "Orders ship within one working day." in request["body"]["messages"][1]["content"]
    streamed = drafts(published, chat)
    assert len(streamed) >= 1 and all(FakeModel.answer.startswith(d["text"]) for d in streamed)


def test_a_model_without_an_answer_says_so_and_offers_a_person(app, bot_site, model, published):
    app.config["LLM_MODEL"] = "no-answer"
    chat = start(bot_site)
    ask(chat, "how long does shipping take?")
    message, extras = last(chat)
    assert message.text == conversation.MODEL_NO_ANSWER
    assert extras["buttons"] == [rules.ANSWER_BUTTONS[1]]
    assert all("NO_ANSWER" not in d["text"] for d in drafts(published, chat))


@pytest.mark.parametrize("failing", ["staller", "error-event", "broken"])
def test_when_the_model_fails_the_answer_comes_from_the_passages(app, bot_site, model, failing):
    app.config["LLM_MODEL"] = failing
    chat = start(bot_site)
    ask(chat, "how long does shipping take?")
    assert said(chat)[-1] == ("bot", "Orders ship within one working day.")


def test_the_reports_count_what_the_bot_resolved_and_handed_off(bot_site, site, someone_online):
    from chat import reports
    helped = start(bot_site)
    ask(helped, "shipping time")
    ask(helped, "That helped", rules.HELPED)
    sessions.end_session(helped, "visitor")
    by_words = start(bot_site)
    ask(by_words, "human")
    for _ in range(2):
        no_match = start(bot_site)
        ask(no_match, "do you sell helicopters?")
    still_talking = start(bot_site)
    ask(still_talking, "That helped", rules.HELPED)          # helped, but not over: not resolved yet
    bot_site.bot_enabled = False
    db.session.commit()
    start(site)                                               # without the bot: not the bot's
    today = utcnow().date()
    figures = reports.bot_figures(today, today)
    assert (figures.chats, figures.resolved, figures.handed_off, figures.unanswered) == (5, 1, 3, 2)
    assert figures.handoffs == [("no_match", 2), ("words", 1)]
    assert reports.bot_figures(today - timedelta(days=3), today - timedelta(days=1)).chats == 0


def test_with_every_model_slot_taken_the_answer_comes_from_the_passages(app, bot_site, model):
    app.config["LLM_MAX_CONCURRENT"] = 1
    taken = conversation.model_slot(app.config)
    try:
        chat = start(bot_site)
        ask(chat, "how long does shipping take?")
        assert said(chat)[-1] == ("bot", "Orders ship within one working day.") and model.requests == []
    finally:
        taken.release()
    ask(chat, "how long does shipping take?")
    assert said(chat)[-1] == ("bot", FakeModel.answer)
