"""The bot: it answers new chats of a site whose bot is on (status `bot`) from the site's
knowledge base, and hands the chat to a person (docs/architecture.md, "The bot").

- menu.py: the site's greeting menu (seed 004's JSON), checked;
- rules.py: what to do with a visitor's message (answer, menu, hand off), without I/O;
- conversation.py: greeting, answering in the background, drafts, handoff, offline form;
- llm.py: answers written by an OpenAI-compatible model, streamed;
- hours.py: the site's business hours.
"""
from .conversation import greet, leave_offline_message, on_visitor_message

__all__ = ["greet", "leave_offline_message", "on_visitor_message"]
