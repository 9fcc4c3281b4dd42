"""Bulk data for the benchmark, written straight into the database of a server.

  python bench/seed.py history N   -> prints the id of a session holding N messages
  python bench/seed.py queue N     -> adds N waiting sessions
  python bench/seed.py open N      -> adds N open sessions: two in three waiting, the rest held
                                      by the demo agent, each with a visitor's last message
  python bench/seed.py report N    -> adds N closed chats spread over the last 365 days, held by
                                      20 agents (bulk inserts); prints the days they cover
"""
import random
import sys
import uuid
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from chat import create_app  # noqa: E402
from chat.extensions import db  # noqa: E402
from chat.models import Agent, ChatSession, Message, Site, Visitor, hash_session_key, utcnow  # noqa: E402


def new_session(site, now, status="waiting"):
    visitor = Visitor(site_id=site.id, name=f"Bench {uuid.uuid4().hex[:6]}")
    return ChatSession(site=site, visitor=visitor, status=status, key_hash=hash_session_key("bench"),
                       started_at=now, expires_at=now + timedelta(hours=22), last_activity_at=now,
                       visitor_last_seen_at=now)


def seed_history(site, count):
    now = utcnow()
    chat = new_session(site, now)
    db.session.add(chat)
    db.session.flush()
    db.session.bulk_insert_mappings(Message, [
        {"session_id": chat.id, "seq": seq, "client_id": f"h{seq}", "sender_type": "visitor" if seq % 2 else "agent",
         "sender_name": "Bench", "text": f"history message {seq} " + "lorem ipsum " * 5, "created_at": now}
        for seq in range(1, count + 1)])
    chat.last_seq = count
    db.session.commit()
    print(chat.id)


def seed_queue(site, count):
    now = utcnow()
    for start in range(0, count, 1000):
        db.session.add_all([new_session(site, now - timedelta(seconds=n)) for n in range(start, min(count, start + 1000))])
        db.session.commit()
    print(count)


def seed_open(site, count):
    now = utcnow()
    holder = db.session.execute(db.select(Agent).filter_by(email="demo@example.com")).scalar_one()
    for start in range(0, count, 500):
        chats = []
        for n in range(start, min(count, start + 500)):
            chat = new_session(site, now - timedelta(seconds=n), status="active" if n % 3 == 2 else "waiting")
            chat.queued_at = chat.started_at
            # heard from now: none is abandoned while the bench runs (its waits stay staggered)
            chat.last_activity_at = chat.visitor_last_seen_at = now
            chat.last_message_preview, chat.last_message_at, chat.last_seq = f"question {n}", chat.started_at, 1
            if chat.status == "active":
                chat.agent_id, chat.claimed_at = holder.id, now
            chats.append(chat)
        db.session.add_all(chats)
        db.session.flush()
        db.session.bulk_insert_mappings(Message, [
            {"session_id": chat.id, "seq": 1, "client_id": "q", "sender_type": "visitor", "sender_name": "Bench",
             "text": chat.last_message_preview, "created_at": chat.started_at} for chat in chats])
        db.session.commit()
    print(count)


def report_chat(rng, site_id, visitor_ids, agent_ids, started):
    """One chat of a plausible mix: most handled, some abandoned, a few expired in the queue
    (none left open: the server's sweeps would be busy ending them while the bench runs)."""
    row = {"id": str(uuid.uuid4()), "site_id": site_id, "visitor_id": rng.choice(visitor_ids), "channel": "web",
           "key_hash": "bench", "started_at": started, "queued_at": started, "expires_at": started + timedelta(hours=22),
           "last_activity_at": started, "visitor_last_seen_at": started, "last_seq": 0, "visitor_away": False,
           "restored_count": rng.choice((0, 0, 0, 1, 2)), "status": "ended", "agent_id": None, "claimed_at": None,
           "first_response_at": None, "ended_at": None, "end_reason": None}
    fate = rng.random()
    if fate < 0.75:
        row["agent_id"] = rng.choice(agent_ids)
        row["claimed_at"] = started + timedelta(seconds=rng.randint(5, 900))
        row["first_response_at"] = row["claimed_at"] + timedelta(seconds=rng.randint(2, 300))
        row["ended_at"] = row["first_response_at"] + timedelta(seconds=rng.randint(60, 3600))
        row["end_reason"] = rng.choice(("agent", "visitor"))
    elif fate < 0.97:
        row["status"] = "abandoned"
        row["ended_at"] = started + timedelta(seconds=rng.randint(30, 1800))
        row["end_reason"] = rng.choice(("inactivity", "heartbeat_timeout", "visitor"))
    else:
        row["ended_at"] = row["expires_at"]
        row["end_reason"] = "expired"
    return row


def seed_report(site, count):
    rng = random.Random(13)
    agents = [Agent(email=f"bench-report-{n}@example.com", display_name=f"Report agent {n}", role="agent",
                    password_hash="x") for n in range(20)]
    visitors = [Visitor(site_id=site.id, name=f"Bench {n}") for n in range(1000)]
    db.session.add_all(agents + visitors)
    db.session.commit()
    agent_ids, visitor_ids = [agent.id for agent in agents], [visitor.id for visitor in visitors]
    now = utcnow()
    first = now - timedelta(days=364)
    for start in range(0, count, 10_000):
        db.session.execute(ChatSession.__table__.insert(), [
            report_chat(rng, site.id, visitor_ids, agent_ids, first + timedelta(seconds=rng.randint(0, 364 * 86400)))
            for _ in range(start, min(count, start + 10_000))])
        db.session.commit()
    print(first.date().isoformat(), now.date().isoformat())


if __name__ == "__main__":
    kind, count = sys.argv[1], int(sys.argv[2])
    with create_app().app_context():
        site = db.session.execute(db.select(Site).filter_by(key="demo")).scalar_one()
        {"history": seed_history, "queue": seed_queue, "open": seed_open, "report": seed_report}[kind](site, count)
