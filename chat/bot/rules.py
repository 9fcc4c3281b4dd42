"""What the bot does with a visitor's message: the rules, with no database and no clock, so
each is tested on its own (tests/test_bot_rules.py).

In this order: a button (an answer's "That helped" or "Talk to an expert", or one of the
menu's), words asking for a person, words asking for the menu, and otherwise a question for
the knowledge base. The bot hands off (HANDOFF_REASONS) on the button, on the words, on a
question nothing matches, and on the second weak answer in a row (the best article holds
fewer than half of the question's words).
"""
import re
from dataclasses import dataclass, field

from ..knowledge_search import fold
from .menu import AGENT_MODE, destination

HELPED = "bot:helped"          # the ids of the buttons under an answer (no menu id has a colon)
EXPERT = "bot:expert"
ANSWER_BUTTONS = [{"id": HELPED, "title": "That helped"}, {"id": EXPERT, "title": "Talk to an expert"}]
HANDOFF_REASONS = ("button", "words", "no_match", "not_understood", "offline")
HANDOFF_WORDS = frozenset({
    "agent", "human", "person", "expert", "operator", "representative", "a human", "a person", "real person",
    "live agent", "talk to an expert", "talk to expert", "talk to an agent", "talk to a human", "talk to a person",
    "speak to an agent", "speak to a human", "speak to a person", "i want an agent", "i want a human",
})
MENU_WORDS = frozenset({"menu", "main menu", "start", "start over"})
WEAK_COVERAGE = 0.5            # an answer is weak when its article holds fewer of the question's words
MISSES_BEFORE_HANDOFF = 2


@dataclass
class Decision:
    action: str                   # "hand_off", "helped", "menu", "reply", "article", "answer"
    reason: str | None = None     # for "hand_off": one of HANDOFF_REASONS
    text: str | None = None       # for "reply": what to say; for "article": its title
    hits: list = field(default_factory=list)   # for "answer": the articles found, best first
    weak: bool = False            # for "answer": the best article holds few of the question's words
    unanswered: bool = False      # the question goes on the admins' list of unanswered questions


def words_of(text):
    """The message as plain lower-case words: "Talk to an Expert!" is "talk to an expert"."""
    return " ".join(re.findall(r"[^\W_]+", fold(text)))


def decide(text, button_id, menu, misses, search):
    """The bot's Decision on a visitor's message; `misses`: its weak answers in a row so far;
    `search(text)`: the knowledge base's hits for a question (called only for a question)."""
    if button_id == EXPERT:
        return Decision("hand_off", reason="button")
    if button_id == HELPED:
        return Decision("helped")
    leads_to = destination(menu, button_id) if button_id else None
    if leads_to == AGENT_MODE:
        return Decision("hand_off", reason="button")
    if isinstance(leads_to, dict):
        return Decision("reply", text=leads_to["reply"]) if "reply" in leads_to else Decision("article", text=leads_to["article"])
    words = words_of(text)
    if words in HANDOFF_WORDS:
        return Decision("hand_off", reason="words")
    if words in MENU_WORDS:
        return Decision("menu")
    hits = search(text)
    if not hits:
        return Decision("hand_off", reason="no_match", unanswered=True)
    if hits[0].coverage < WEAK_COVERAGE:
        if misses + 1 >= MISSES_BEFORE_HANDOFF:
            return Decision("hand_off", reason="not_understood", unanswered=True)
        return Decision("answer", hits=hits, weak=True)
    return Decision("answer", hits=hits)
