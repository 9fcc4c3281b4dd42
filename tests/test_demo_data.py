"""The demo's past conversations: real chats as the product would have stored them."""
from sqlalchemy import true

from chat import demo_data, messages, visitors
from chat.cli import DEMO_AGENTS, DEMO_PASSWORD, save_agent
from chat.extensions import db
from chat.models import ChatSession


def test_the_demo_site_gets_past_conversations_once_and_never_over_real_chats(site):
    for email, name, role in DEMO_AGENTS:
        save_agent(email, name, role, DEMO_PASSWORD, sites=[site])
    assert demo_data.seed_conversations(site) == len(demo_data.CONVERSATIONS)
    assert demo_data.seed_conversations(site) == 0
    chats = db.session.execute(db.select(ChatSession).order_by(ChatSession.started_at)).scalars().all()
    assert {chat.status for chat in chats} == {"ended", "abandoned"}
    for chat in chats:
        stored = messages.after(chat.id)
        assert [m.seq for m in stored] == list(range(1, chat.last_seq + 1))
        assert chat.queued_at <= (chat.claimed_at or chat.ended_at) <= chat.ended_at
        if chat.first_response_at:
            first_reply = next(m for m in stored if m.sender_type == "agent" and not m.private)
            assert chat.first_response_at == first_reply.created_at
    maria_again = next(chat for chat in chats if chat.visitor.email == "maria@example.com"
                       and "blue jacket" in chat.last_message_preview + "".join(m.text for m in messages.after(chat.id)))
    earlier = visitors.earlier_conversations(maria_again, readable=true())        # as a supervisor sees them
    assert [chat.visitor.name for chat in earlier] == ["Maria Lopez"]       # her first visit, by email
    notes = [m.text for chat in chats for m in messages.after(chat.id) if m.private]
    assert len(notes) == 2

