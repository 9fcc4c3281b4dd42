"""History search over a million messages: how long `history_search.find_chats` takes (the
count and the first page of 25, what /history and the JSON endpoint run) for varied words.

    bin/bench --history-search                      # SQLite and PostgreSQL, 1,000,000 messages
    python bench/history_search.py --messages 100000 --databases sqlite
    python bench/history_search.py --databases sqlite --keep /tmp/hs   # keep the filled databases
    python bench/history_search.py --databases sqlite --reuse sqlite:////tmp/hs/history.db   # migrated first

A fresh database each (a SQLite file, a new PostgreSQL database on BENCH_POSTGRES_URL),
migrated, then filled in bulk: 50,000 chats of 20 messages (stored oldest first: ids grow with time), words drawn from a 20,000-word
vocabulary by a Zipf law (a few words are in most messages, most words are rare), some
accented. Searches, as a supervisor (every chat) and as a plain agent (the access rule):
words spread over the frequency ranks 10 to 20,000, pairs of words, and accented words typed
without accents. "before" runs the same query with LIKE '%word%' over message.text in place
of the full-text index (PostgreSQL: the GIN index dropped), on fewer searches. It prints a
table; it asserts nothing.
"""
import argparse
import importlib
import itertools
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select, text  # noqa: E402

VOCABULARY = 20_000
WORDS_PER_MESSAGE = (6, 16)
MESSAGES_PER_CHAT = 20
AGENTS = 10


# ---------------------------------------------------------------- data

def vocabulary(rng):
    """20,000 distinct pseudo-words; one in twenty carries an accent (é, ü, ç...)."""
    consonants, vowels = "bcdfghjklmnprstvz", "aeiou"
    accents = {"e": "é", "u": "ü", "a": "à", "o": "ô", "c": "ç"}
    words, seen = [], set()
    while len(words) < VOCABULARY:
        word = "".join(rng.choice(consonants) + rng.choice(vowels) for _ in range(rng.randint(2, 4)))
        if word in seen:
            continue
        seen.add(word)
        if len(words) % 20 == 7 and any(letter in accents for letter in word):
            word = "".join(accents.get(letter, letter) for letter in word)
        words.append(word)
    return words


def fold(word):
    return word.translate(str.maketrans("éüàôç", "euaoc"))


def messages_of(rng, words, count):
    weights = list(itertools.accumulate(1 / rank for rank in range(1, len(words) + 1)))
    low, high = WORDS_PER_MESSAGE
    lengths = [rng.randint(low, high) for _ in range(count)]
    drawn = iter(rng.choices(words, cum_weights=weights, k=sum(lengths)))
    for length in lengths:
        yield " ".join(itertools.islice(drawn, length))


def fill(app, count, rng, words):
    """Agents, visitors, chats and `count` messages, in bulk on the driver's connection."""
    from chat.cli import save_agent
    from chat.extensions import db
    from chat.models import Site, hash_session_key
    with app.app_context():
        site = db.session.execute(select(Site)).scalar_one_or_none()
        if site is None:
            site = Site(key="bench", name="Bench site")
            db.session.add(site)
            db.session.commit()
        agents = [save_agent(f"agent{n}@bench.example", f"Agent {n}", "agent", "bench-password-1")
                  for n in range(AGENTS)]
        agent_ids, site_id = [agent.id for agent in agents], site.id
        supervisor = save_agent("boss@bench.example", "Boss", "supervisor", "bench-password-1").id
        chats = count // MESSAGES_PER_CHAT
        now = datetime(2026, 11, 29)
        key = hash_session_key("bench")
        connection = db.engine.raw_connection()
        try:
            cursor = connection.cursor()
            postgres = db.engine.dialect.name == "postgresql"
            mark = "%s" if postgres else "?"

            def insert(table, columns, rows):
                sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join([mark] * len(columns))})"
                if postgres:
                    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                        for row in rows:
                            copy.write_row(row)
                else:
                    cursor.executemany(sql, rows)

            cursor.execute("SELECT coalesce(max(id), 0) FROM visitor")
            first_visitor = cursor.fetchone()[0] + 1
            insert("visitor", ("id", "site_id", "name", "email", "created_at"),
                   [(first_visitor + n, site_id, f"{rng.choice(words).title()} {rng.choice(words).title()}",
                     f"v{n}@{rng.choice(words)}.example", now) for n in range(chats)])
            if postgres:
                cursor.execute("SELECT setval('visitor_id_seq', (SELECT max(id) FROM visitor))")
            sessions = []
            for n in range(chats):      # oldest first: ids grow with time, as in the product
                started = now - timedelta(minutes=(chats - 1 - n) * 10)
                sessions.append((str(uuid.UUID(int=rng.getrandbits(128))), site_id, first_visitor + n, "web",
                                 "ended", rng.choice(agent_ids), key, started, started + timedelta(minutes=12),
                                 "agent", started + timedelta(hours=22), started, started, False, MESSAGES_PER_CHAT,
                                 0))
            insert("chat_session", ("id", "site_id", "visitor_id", "channel", "status", "agent_id", "key_hash",
                                    "started_at", "ended_at", "end_reason", "expires_at", "last_activity_at",
                                    "visitor_last_seen_at", "visitor_away", "last_seq", "restored_count"), sessions)
            texts = messages_of(rng, words, count)

            def message_rows():
                for chat in sessions:
                    for seq in range(1, MESSAGES_PER_CHAT + 1):
                        agent = seq % 2 == 0
                        yield (chat[0], seq, f"c{seq}", "agent" if agent else "visitor", chat[5] if agent else None,
                               "Bench", next(texts), chat[7], False)
            insert("message", ("session_id", "seq", "client_id", "sender_type", "sender_id", "sender_name", "text",
                               "created_at", "private"), message_rows())
            connection.commit()
        finally:
            connection.close()
        return supervisor, agent_ids[0]


# ---------------------------------------------------------------- searches

def searches(rng, words, count):
    """(kind, text): single words over the ranks 10..20,000 (log-spaced), pairs, accents folded."""
    singles = max(1, count * 6 // 10)
    ranks = sorted({int(10 * (VOCABULARY / 10) ** (n / max(1, singles - 1))) - 1 for n in range(singles)})
    chosen = [("word", words[min(rank, VOCABULARY - 1)]) for rank in ranks]
    while len(chosen) < count * 8 // 10:
        chosen.append(("two words", f"{words[rng.randint(10, 2000)]} {words[rng.randint(10, 5000)]}"))
    accented = [word for word in words[10:] if word != fold(word)]
    while len(chosen) < count:
        chosen.append(("accent folded", fold(rng.choice(accented))))
    return chosen


def like_instead_of_the_index(words):
    """Before: `history_search.matching_messages` by LIKE over message.text instead of the index."""
    from chat.models import Message
    return select(Message.id).where(*[func.lower(Message.text).like(f"%{word}%") for word in words]), Message.id


def backend_cpu_ms(pid):
    """CPU time of the PostgreSQL backend `pid` (same machine), from /proc, in ms (10 ms ticks)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def time_searches(app, agent_id, chosen):
    """Per search: wall ms, this process's CPU ms, the PostgreSQL backend's CPU ms (None on SQLite),
    the SQL statements it ran, and the total it found."""
    from sqlalchemy import event

    from chat import history_search
    from chat.extensions import db
    from chat.models import Agent
    times, cpu, database_cpu, statements, matched = [], [], [], [], []
    ran = [0]

    def count(*_args):
        ran[0] += 1
    with app.app_context():
        postgres = db.engine.dialect.name == "postgresql"
        event.listen(db.engine, "before_cursor_execute", count)
        try:
            for _kind, query in chosen:
                agent = db.session.get(Agent, agent_id)
                agent.role                        # loaded before the clock starts
                backend = db.session.execute(text("SELECT pg_backend_pid()")).scalar() if postgres else None
                backend_before = backend_cpu_ms(backend) if postgres else 0
                ran[0] = 0
                started, started_cpu = time.perf_counter(), time.process_time()
                total = history_search.find_chats(agent, history_search.HistoryFilters(search=query), 1, 25).total
                times.append((time.perf_counter() - started) * 1000)
                cpu.append((time.process_time() - started_cpu) * 1000)
                database_cpu.append(backend_cpu_ms(backend) - backend_before if postgres else None)
                statements.append(ran[0])
                matched.append(total)
                db.session.rollback()
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
    return times, cpu, database_cpu, statements, matched


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def report(label, times, cpu, database_cpu, statements, matched):
    database = "-" if database_cpu[0] is None else \
        f"{statistics.median(database_cpu):.0f} / {percentile(database_cpu, 0.95):.0f} (mean {statistics.mean(database_cpu):.1f})"
    print(f"| {label} | {len(times)} | {statistics.median(times):.1f} | {percentile(times, 0.95):.1f} "
          f"| {max(times):.1f} | {statistics.median(cpu):.1f} / {percentile(cpu, 0.95):.1f} | {database} "
          f"| {statistics.median(statements):.0f} / {max(statements)} "
          f"| {statistics.median(matched):,.0f} / {max(matched):,} |", flush=True)


# ---------------------------------------------------------------- one database

MIGRATION = importlib.import_module("migrations.versions.d4f8b2c6a1e3_message_search")


def analyze(app):
    """Statistics; on PostgreSQL VACUUM too, as autovacuum would have done by the time a table
    holds a million messages (it is off on this machine): the visibility map lets index-only
    scans skip the heap, and the trigram indexes' pending lists are merged."""
    from chat.extensions import db
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.execute(text("VACUUM ANALYZE"))
        else:
            db.session.execute(text("ANALYZE"))
            db.session.commit()


def fresh_database(kind, workdir):
    if kind == "sqlite":
        return f"sqlite:///{workdir}/history.db", None
    import psycopg
    server_url = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    name = f"chat_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server_url, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return server_url.rsplit("/", 1)[0] + "/" + name, (server_url, name)


def drop_database(created):
    if created:
        import psycopg
        with psycopg.connect(created[0], autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{created[1]}" WITH (FORCE)')


def existing_people(app):
    """The supervisor's and the first agent's ids in a database `fill` made."""
    from chat.extensions import db
    from chat.models import Agent
    with app.app_context():
        ids = dict(db.session.execute(select(Agent.email, Agent.id)).all())
    return ids["boss@bench.example"], ids["agent0@bench.example"]


def run(kind, count, search_count, before_count, keep=None, reuse=None):
    """Fill a fresh database (or `reuse` the URL of one a `keep` run left) and time the searches."""
    from flask_migrate import upgrade

    from chat import create_app, history_search
    from chat.extensions import db
    rng = random.Random(13)
    words = vocabulary(rng)
    with tempfile.TemporaryDirectory() as workdir:
        if reuse:
            url, created = reuse, None
        elif keep and kind == "sqlite":
            url, created = f"sqlite:///{keep}/history.db", None
        else:
            url, created = fresh_database(kind, workdir)
        os.environ.update({"DATABASE_URL": url, "INSTANCE_PATH": workdir, "CHAT_ENV": "testing",
                           "SECRET_KEY": "bench", "LOG_LEVEL": "WARNING"})
        try:
            app = create_app()
            with app.app_context():
                upgrade()                         # a reused database gets the indexes added since
            if reuse:
                supervisor, agent = existing_people(app)
                before_count = 0
            else:
                if kind == "postgresql":          # built after the load, as the migration does on existing data
                    with app.app_context():
                        db.session.execute(text("DROP INDEX ix_message_text_search"))
                        db.session.commit()
                started = time.perf_counter()
                supervisor, agent = fill(app, count, rng, words)
                print(f"{kind}: {count:,} messages stored in {time.perf_counter() - started:.0f} s",
                      file=sys.stderr, flush=True)
                analyze(app)
            chosen = searches(random.Random(7), words, search_count)
            if before_count:
                original = history_search.matching_messages
                history_search.matching_messages = like_instead_of_the_index
                try:
                    sample = chosen[::max(1, len(chosen) // before_count)][:before_count]
                    report(f"{kind}, {count:,} messages, before (LIKE, no index), supervisor",
                           *time_searches(app, supervisor, sample))
                finally:
                    history_search.matching_messages = original
            if kind == "postgresql" and not reuse:
                started = time.perf_counter()
                with app.app_context():
                    db.session.execute(text(MIGRATION.POSTGRES_UP[-1]))
                    db.session.commit()
                print(f"GIN index built in {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
                analyze(app)
            if keep:
                print(f"{kind}: kept at {url}", file=sys.stderr, flush=True)
            for who, agent_id in (("supervisor", supervisor), ("agent", agent)):
                timed = time_searches(app, agent_id, chosen)
                report(f"{kind}, {count:,} messages, after (full-text index), {who}", *timed)
                for kind_of_search in ("word", "two words", "accent folded"):
                    picked = [n for n, (k, _q) in enumerate(chosen) if k == kind_of_search]
                    report(f"&nbsp;&nbsp;{kind_of_search}", *([series[n] for n in picked] for series in timed))
            with app.app_context():
                db.session.remove()
                db.engine.dispose()
        finally:
            if not keep:
                drop_database(created)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--searches", type=int, default=100)
    parser.add_argument("--before", type=int, default=20, help="searches timed with LIKE instead (0: none)")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--keep", metavar="DIR", help="keep the filled databases (SQLite's file in DIR)")
    parser.add_argument("--reuse", metavar="URL", help="time the searches on a database a --keep run left")
    args = parser.parse_args()
    print(f"\nload average at the start: {os.getloadavg()[0]:.1f} ({os.cpu_count()} CPUs)")
    print("\n| database, data, search, as | searches | p50 ms | p95 ms | max ms | this process's CPU ms p50 / p95 "
          "| PostgreSQL's CPU ms p50 / p95 | statements p50 / max | chats found: median / max |")
    print("|---|---|---|---|---|---|---|---|---|")
    for kind in args.databases.split(","):
        run(kind.strip(), args.messages, args.searches, args.before, args.keep, args.reuse)


if __name__ == "__main__":
    main()
