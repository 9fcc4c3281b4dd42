"""What History's search indexes add to storing a message (the hot path).

    python bench/search_index_cost.py                       # SQLite and PostgreSQL
    python bench/search_index_cost.py --messages 20000 --databases sqlite

A fresh database each (as bench/history_search.py), migrated, with 200 open chats. Messages of
about 100 bytes (words from bench/history_search.py's Zipf vocabulary, as the mixes send) go
through `message_store.store`, the writer's own group commit, in batches of 20 (the writer's
batch at about 1,000 msg/s), in rounds: with the search indexes (SQLite: the FTS5 trigger
on message; PostgreSQL: the GIN index on to_tsvector(chat_unaccent(text))), then without them
(dropped), then with them again (rebuilt), and so on. It prints, per round, wall µs per
message, this process's CPU µs per message (SQLite does all its work here) and, on
PostgreSQL, its server processes' CPU µs per message (read from /proc). It asserts nothing.
"""
import argparse
import os
import random
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402

from history_search import MIGRATION, drop_database, fresh_database, messages_of, vocabulary  # noqa: E402

CHATS = 200
BATCH = 20
SQLITE_TRIGGER = MIGRATION.SQLITE_UP[1]          # message_fts_insert
POSTGRES_INDEX = MIGRATION.POSTGRES_UP[-1]       # ix_message_text_search


def open_chats(app):
    from chat.extensions import db
    from chat.models import ChatSession, Site, Visitor, hash_session_key, utcnow
    with app.app_context():
        site = Site(key="bench", name="Bench site")
        db.session.add(site)
        db.session.flush()
        now, chats = utcnow(), []
        for n in range(CHATS):
            chat = ChatSession(site=site, visitor=Visitor(site_id=site.id, name=f"Visitor {n}"), status="active",
                               key_hash=hash_session_key("bench"), started_at=now,
                               expires_at=now + timedelta(hours=22), last_activity_at=now, visitor_last_seen_at=now)
            db.session.add(chat)
            chats.append(chat)
        db.session.commit()
        return [chat.id for chat in chats]


def server_cpu_seconds(app):
    """CPU seconds so far of the PostgreSQL processes serving this database (0 on SQLite)."""
    from chat.extensions import db
    if db.engine.dialect.name != "postgresql":
        return 0.0
    with db.engine.connect() as connection:
        pids = connection.execute(text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")).scalars()
        total = 0
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])
            except (OSError, IndexError):
                pass
    return total / os.sysconf("SC_CLK_TCK")


def store_round(app, chats, texts, count):
    from chat import message_store
    from chat.extensions import db
    with app.app_context():
        db.engine.dispose()               # the server CPU is read from the connections this round opens
        with db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        started, started_cpu, started_server = time.perf_counter(), time.process_time(), server_cpu_seconds(app)
        for first in range(0, count, BATCH):
            batch = [message_store.PendingMessage(dict(session_id=chats[(first + n) % CHATS], sender_type="visitor",
                                                       text=next(texts), client_id=uuid.uuid4().hex))
                     for n in range(BATCH)]
            message_store.store(batch, lambda pending: None)
        wall, cpu = time.perf_counter() - started, time.process_time() - started_cpu
        server = server_cpu_seconds(app) - started_server
    return wall * 1e6 / count, cpu * 1e6 / count, server * 1e6 / count


def set_indexes(app, on):
    from chat.extensions import db
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            db.session.execute(text(POSTGRES_INDEX if on else "DROP INDEX ix_message_text_search"))
        else:
            db.session.execute(text(SQLITE_TRIGGER if on else "DROP TRIGGER message_fts_insert"))
            if on:       # what was stored meanwhile, so the index is whole again
                db.session.execute(text("INSERT INTO message_fts(message_fts) VALUES ('rebuild')"))
        db.session.commit()


def run(kind, count, rounds):
    from flask_migrate import upgrade

    from chat import create_app
    from chat.extensions import db
    rng = random.Random(5)
    texts = iter(messages_of(rng, vocabulary(rng), count * (rounds * 2 + 1)))
    with tempfile.TemporaryDirectory() as workdir:
        url, created = fresh_database(kind, workdir)
        os.environ.update({"DATABASE_URL": url, "INSTANCE_PATH": workdir, "CHAT_ENV": "testing",
                           "SECRET_KEY": "bench", "LOG_LEVEL": "WARNING"})
        try:
            app = create_app()
            with app.app_context():
                upgrade()
            chats = open_chats(app)
            store_round(app, chats, texts, count // 4)      # warm up
            results = {True: [], False: []}
            for n in range(rounds * 2):
                on = n % 2 == 0
                if n:
                    set_indexes(app, on)
                results[on].append(store_round(app, chats, texts, count))
                wall, cpu, server = results[on][-1]
                print(f"| {kind} | {'with' if on else 'without'} | {count:,} | {wall:.0f} | {cpu:.0f} | "
                      f"{server:.0f} | {os.getloadavg()[0]:.1f} |", flush=True)
            for on in (True, False):
                best = [min(values) for values in zip(*results[on])]
                print(f"| {kind} | {'with' if on else 'without'}, best of {rounds} | | {best[0]:.0f} | {best[1]:.0f} "
                      f"| {best[2]:.0f} | |", flush=True)
            with app.app_context():
                db.session.remove()
                db.engine.dispose()
        finally:
            drop_database(created)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=20_000, help="messages per round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds with and without the indexes each")
    parser.add_argument("--databases", default="sqlite,postgresql")
    args = parser.parse_args()
    print("\n| database | search indexes | messages | wall µs/msg | this process's CPU µs/msg "
          "| PostgreSQL's CPU µs/msg | load average |")
    print("|---|---|---|---|---|---|---|")
    for kind in args.databases.split(","):
        run(kind.strip(), args.messages, args.rounds)


if __name__ == "__main__":
    main()
