"""Past conversations and help articles for the demo site, so a new user sees History, Reports,
a visitor's earlier conversations and the bot's answers at once (`flask chat seed-demo`;
written once, never over real chats or articles)."""
import json
import secrets
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from . import knowledge, sessions, sites
from .extensions import db
from .models import Agent, Article, ChannelAccount, ChatSession, Message, Visitor, hash_session_key, utcnow

# The demo shop's knowledge base: `.md` files in the format of `flask chat kb-import`.
DEMO_ARTICLES = Path(__file__).resolve().parent / "demo_articles"

# (days ago, hour, visitor, email, minutes waited, agent email or None, end reason, restored, lines)
# Each line: (sender: "visitor" | "agent" | "note" | "system", text).
CONVERSATIONS = (
    (6, 9, "Maria Lopez", "maria@example.com", 2, "demo@example.com", "agent", 1, (
        ("visitor", "Hi! Where is my order #1041? It was due yesterday."),
        ("agent", "Hello Maria, let me check that for you."),
        ("note", "Carrier shows a delay at the depot; offer free shipping next time."),
        ("agent", "It left the depot this morning and arrives tomorrow. Sorry for the wait!"),
        ("visitor", "Great, thank you!"),
    )),
    (5, 14, "Tom Becker", "tom@example.com", 4, "demo@example.com", "visitor", 0, (
        ("visitor", "Can I return shoes that I have worn once?"),
        ("agent", "Yes, within 30 days if they are clean; the returns form is in your account."),
        ("visitor", "Perfect."),
    )),
    (4, 11, None, None, 9, None, "inactivity", 0, (
        ("visitor", "Do you ship to Norway?"),
    )),
    (3, 16, "Aiko Tanaka", "aiko@example.com", 1, "supervisor@example.com", "agent", 2, (
        ("visitor", "My payment was taken twice."),
        ("agent", "I am sorry about that. I can see both charges; the second one is refunded now."),
        ("note", "Refund #R-2211 issued; tell finance if it happens again."),
        ("visitor", "Thanks for sorting it out so quickly."),
    )),
    (2, 10, "Maria Lopez", "maria@example.com", 3, "demo@example.com", "agent", 0, (
        ("visitor", "Hello again! Do you have the blue jacket in size M?"),
        ("agent", "We do; it is back in stock since Monday."),
    )),
    (1, 15, "Sam Okafor", None, 6, None, "heartbeat_timeout", 0, (
        ("visitor", "What are your opening hours on Sunday?"),
    )),
)


def seed_conversations(site):
    """The demo site's past conversations, unless it has any chat already. Returns how many."""
    if db.session.execute(select(ChatSession.id).where(ChatSession.site_id == site.id).limit(1)).first():
        return 0
    agents = {agent.email: agent for agent in db.session.execute(select(Agent)).scalars()}
    today = utcnow().replace(minute=0, second=0, microsecond=0)
    for days_ago, hour, name, email, waited, agent_email, reason, restored, lines in CONVERSATIONS:
        started = (today - timedelta(days=days_ago)).replace(hour=hour)
        agent = agents.get(agent_email)
        chat = ChatSession(site=site, visitor=Visitor(site_id=site.id, name=name, email=email),
                           key_hash=hash_session_key(secrets.token_urlsafe(32)), started_at=started,
                           queued_at=started, expires_at=started + timedelta(hours=22),
                           restored_count=restored, page_url="https://shop.example/checkout")
        db.session.add(chat)
        db.session.flush()
        moment, seq, texts = started, 0, []

        def add(sender_type, text, sender=None, private=False):
            nonlocal seq
            seq += 1
            db.session.add(Message(session_id=chat.id, seq=seq, sender_type=sender_type, text=text,
                                   private=private, created_at=moment,
                                   sender_id=sender.id if sender else None,
                                   sender_name=sender.display_name if sender else (
                                       None if sender_type == "system" else chat.visitor_label)))
            texts.append(text)

        add("visitor", lines[0][1])
        moment += timedelta(minutes=waited)
        if agent is not None:
            chat.agent_id, chat.claimed_at = agent.id, moment
            add("system", f"{agent.display_name} has joined the chat")
        for sender_type, text in lines[1:]:
            moment += timedelta(minutes=1)
            if sender_type == "agent" and chat.first_response_at is None:
                chat.first_response_at = moment
            add("agent" if sender_type == "note" else sender_type, text,
                sender=agent if sender_type in ("agent", "note") else None, private=sender_type == "note")
        moment += timedelta(minutes=1 if agent else 30)
        add("system", sessions.end_message(reason, ended_by=agent.display_name if agent else None))
        chat.status = "abandoned" if reason in ("inactivity", "heartbeat_timeout") else "ended"
        chat.end_reason, chat.ended_at = reason, moment
        chat.last_seq, chat.last_activity_at, chat.visitor_last_seen_at = seq, moment, moment
        chat.last_message_at, chat.last_message_preview = moment, texts[-1][:200]
    db.session.commit()
    return len(CONVERSATIONS)


def seed_articles(site):
    """The demo shop's help articles (DEMO_ARTICLES, published), unless the site has any article
    already: articles a team edited or deleted stay as it left them. Returns how many."""
    if db.session.execute(select(Article.id).where(Article.site_id == site.id).limit(1)).first():
        return 0
    created, _updated = knowledge.import_folder(site, DEMO_ARTICLES)
    return created


# The demo bot's greeting, seed 004's menu with the demo shop's articles (docs/protocol.md, "The bot").
DEMO_MENU = {
    "header": {"type": "text", "text": "Welcome to the Demo Shop"},
    "body": {"text": "Ask me anything about orders, shipping or returns, or choose an option below:"},
    "footer": {"text": "We're here to assist you"},
    "action": {"buttons": [
        {"type": "reply", "reply": {"id": "btn_shipping", "title": "Shipping times"}},
        {"type": "reply", "reply": {"id": "btn_returns", "title": "Returns"}},
        {"type": "reply", "reply": {"id": "btn_agent", "title": "Talk to Expert"}},
    ]},
    "steps": {"initial": {"next_steps": {
        "btn_shipping": {"article": "How long does shipping take?"},
        "btn_returns": {"article": "How do I return an item?"},
        "btn_agent": "AGENT_MODE",
    }}},
}


def seed_bot_menu(site):
    """The demo site's bot menu (checked like an admin's, so a renamed demo article fails here)."""
    sites.update_bot(site, site.bot_enabled, json.dumps(DEMO_MENU), None)


def connect_demo_channels(site):
    """Development only (`bin/run`): the demo site's WhatsApp and LINE accounts, pointed at the fake
    providers this server mounts (chat/dev_phone.py), so /dev/phone plays a customer's phone. An
    account the team connected itself (another access token) is left alone; the demo one follows
    the server's address at every start. Returns the channels connected."""
    from .dev_phone import DEMO_ACCOUNTS, fake_api_base
    connected = []
    for channel, fields in DEMO_ACCOUNTS.items():
        account = db.session.execute(select(ChannelAccount).filter_by(site_id=site.id, channel=channel)).scalar_one_or_none()
        if account is not None and account.access_token != fields["access_token"]:
            continue
        if account is None:
            account = ChannelAccount(site_id=site.id, channel=channel)
            db.session.add(account)
        for name, value in fields.items():
            setattr(account, name, value)
        # The WhatsApp templates are the fake's, synced when the picker first opens.
        account.api_base, account.active = fake_api_base(channel), True
        connected.append(channel)
    db.session.commit()
    return connected
