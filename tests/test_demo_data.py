"""The demo's past conversations, real chats as the product would have stored them, and its
help articles, which answer the questions a new user tries first."""
import pytest
from sqlalchemy import true

from chat import demo_data, knowledge, markdown, messages, visitors
from chat.cli import DEMO_AGENTS, DEMO_PASSWORD, save_agent
from chat.extensions import db
from chat.knowledge_search import search
from chat.models import Article, ChatSession


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



def test_the_demo_articles_are_seeded_published_once_and_never_over_a_teams_articles(site):
    files = sorted(demo_data.DEMO_ARTICLES.glob("*.md"))
    assert len(files) >= 15
    assert demo_data.seed_articles(site) == len(files)
    stored = {article.title: article.updated_at for article in knowledge.articles_of(site.id)}
    assert len(stored) == len(files) and all(article.published for article in knowledge.articles_of(site.id))
    assert demo_data.seed_articles(site) == 0                     # a second seed-demo changes nothing
    assert {article.title: article.updated_at for article in knowledge.articles_of(site.id)} == stored
    knowledge.delete(knowledge.articles_of(site.id)[0])
    assert demo_data.seed_articles(site) == 0                     # a deleted one stays deleted
    assert db.session.query(Article).count() == len(files) - 1


def test_each_demo_article_is_plain_markdown_with_at_most_one_link(site):
    demo_data.seed_articles(site)
    for article in knowledge.articles_of(site.id):
        html = markdown.render(article.body)
        assert html.count("<a ") <= 1, article.title
        assert "<" not in markdown.plain_text(article.body), article.title    # no HTML typed in


def test_how_long_does_shipping_take_finds_the_shipping_article_and_its_answer(site):
    demo_data.seed_articles(site)
    hits = search(site.id, "how long does shipping take?")
    assert hits[0].article.title == "How long does shipping take?"
    assert hits[0].passage == ("Orders ship within one working day; delivery takes 2-3 working days in France "
                               "and 5-7 elsewhere in Europe.")


@pytest.mark.parametrize("question, title", [
    ("Do you ship to Norway?", "Do you ship outside France?"),
    ("how much is delivery", "How much does shipping cost?"),
    ("where is my parcel", "How do I track my order?"),
    ("Can I return shoes that I have worn once?", "How do I return an item?"),
    ("when do I get my money back", "When will I get my refund?"),
    ("can I pay with paypal", "Which payment methods do you accept?"),
    ("What are your opening hours on Sunday?", "When is customer service open?"),
    ("which size should I take", "How do I find my size?"),
    ("I forgot my password", "How do I reset my password?"),
    ("my vase arrived broken", "My item arrived damaged or is not what I ordered"),
    ("cancel my order please", "Can I change or cancel my order?"),
])
def test_the_questions_of_the_demo_conversations_find_their_article(site, question, title):
    demo_data.seed_articles(site)
    assert search(site.id, question, k=1)[0].article.title == title
