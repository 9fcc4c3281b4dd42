"""The bot (issue 14): what its knowledge-base search costs, how soon a visitor sees its answer
start, and what 200 conversations talking to it at once do to the server's event loop.

    bin/bench --bot                                   # all three parts, SQLite and PostgreSQL
    python bench/bot.py --databases sqlite --parts search,first,load
    python bench/bot.py --articles 2000 --samples 20 --seconds 10    # a quick look

1. **search**: 10,000 generated articles (varied titles, tags and 100-400-word bodies drawn
   from a few hundred shop words, common English and a few thousand rare words) stored in bulk
   in a fresh database, their index fields made by `knowledge_search.index_fields` as
   `knowledge.save` does; then `knowledge_search.search(site, question, 3)` in-process for 200
   questions (common shop words, an article's own title, rare words, words no article holds):
   wall and CPU ms (PostgreSQL: the client's CPU and its backend's, from /proc).
2. **first text**: a live server (`wsgi.py`, eventlet, the demo site's bot on, the same
   articles): a visitor's `send_message` to the first `bot_draft` on its socket, and to the
   stored answer (`message`), for answers from the passages and with the fake model
   (tests/support/fake_llm.py, `first_token_seconds` 0.05): one new chat per sample.
3. **load**: 200 visitor sockets, each asking a question every 5-15 s for 30 s (a person's pace:
   read the answer, type the next question), then every 1-3 s (a stress: ~100 questions/s),
   with the bot; each after the same load of plain messages to a site without the bot (the
   baseline, showing the machine's own noise); the server's `event loop stalled` warnings
   (LOOP_STALL_WARNING_MS=20), and which of them the loop's own work held (its CPU in them).

Server pinned to CPU 0, this process to CPU 1, as bench.py does. It prints tables; it asserts
nothing. A fresh database per run (PostgreSQL: on BENCH_POSTGRES_URL, dropped after).
"""
import argparse
import asyncio
import collections
import cProfile
import gc
import os
import pstats
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import socketio  # noqa: E402

import bench as load  # noqa: E402  (bench/bench.py: the servers, stalls, CPU)
from history_search import drop_database, fresh_database  # noqa: E402
from tests.support import add_routed_site, drop_created_databases, start_chat  # noqa: E402
from tests.support.fake_llm import FakeModel  # noqa: E402

SEED = 14

# ---------------------------------------------------------------- the articles

SHOP_WORDS = """
order orders ordered ordering shipping ship shipped delivery deliver delivered courier parcel package
tracking track tracked return returns returned refund refunds refunded exchange exchanged payment pay paid
card credit debit paypal invoice receipt billing charge charged account password login email address
phone size sizes sizing fit colour color stock available availability warranty guarantee broken damaged
defective repair replacement replace discount coupon code voucher promotion sale price prices cost fee
fees tax vat customs duty international europe france germany spain italy shop store cart checkout
basket subscription subscribe newsletter cancel cancelled cancellation change modify edit wishlist gift
wrapping wrap message loyalty points reward rewards member membership student military click collect
pickup locker weekend saturday express standard free minimum threshold weight heavy bulky furniture
assembly install installation manual instructions battery charger cable adapter screen laptop phone
tablet headphones shoes shirt dress jacket coat trousers jeans socks bag wallet watch ring necklace
bracelet earrings sofa chair table lamp mattress pillow blanket towel kitchen pan knife plate glass
cup mug bottle toy game book gift card balance expiry expired date days week weeks month business
working hours opening closed holiday christmas black friday delay delayed late lost missing wrong
item items product products quantity bundle set pack material cotton wool leather plastic wood metal
care washing clean cleaning iron dry allergy organic vegan recycled packaging eco carbon label
print printed personalised engraving custom design photo review reviews rating complaint contact
support team chat call callback email reply response form upload document identity verification
fraud secure security privacy data delete remove unsubscribe cookies app download update version
error problem issue bug crash slow page website link newsletter notification sms text alert
address postcode country region zone area rural island remote signature neighbour safe place
door doorstep collection point depot warehouse dispatch dispatched processing prepared packed
sent arrive arrival estimate estimated window slot reschedule redirect hold pause resume
bank transfer instalment instalments klarna financing deposit preorder backorder restock
notify waitlist limited edition exclusive online offline retail outlet clearance second hand
refurbished condition grade inspection quality certificate authentic genuine counterfeit
""".split()

COMMON_ENGLISH = """
the and your you our we it is to of for with on in this that a an be can will if not at from by
as are or all any when how what which there their after before within within about more most
your them they each every one two three also just only may must should would could please
""".split()


def pseudo_words(rng, count, exclude=()):
    consonants, vowels = "bcdfghjklmnprstvwxz", "aeiouy"
    words, seen = [], set(exclude)
    while len(words) < count:
        word = "".join(rng.choice(consonants) + rng.choice(vowels) for _ in range(rng.randint(3, 5)))
        if word not in seen:
            seen.add(word)
            words.append(word)
    return words


def vocabulary():
    """(shop words, rare words, words no article holds)."""
    rng = random.Random(SEED)
    shop = list(dict.fromkeys(SHOP_WORDS))
    rng.shuffle(shop)                     # Zipf ranks below: which shop words are the commonest
    made = pseudo_words(rng, 3000 + 500, exclude=shop)
    return shop, made[:3000], made[3000:]


def zipf_weights(count):
    total, weights = 0.0, []
    for rank in range(1, count + 1):
        total += 1 / rank
        weights.append(total)
    return weights


def generate_articles(count):
    """`count` (title, body, tags): the same for a given count, in any process."""
    rng = random.Random(SEED + count)
    shop, rare, _ = vocabulary()
    shop_weights = zipf_weights(len(shop))
    articles = []
    for n in range(count):
        topic = rng.choices(shop, cum_weights=shop_weights, k=3)
        title_words = topic + rng.sample(shop, rng.randint(0, 3)) + ([rng.choice(rare)] if n % 5 == 0 else [])
        rng.shuffle(title_words)
        title = f"{' '.join(title_words).capitalize()} ({n})"
        tags = ", ".join(dict.fromkeys(topic[:rng.randint(1, 3)]))
        length = rng.randint(100, 400)
        words = []
        for _ in range(length):
            draw = rng.random()
            if draw < 0.40:
                words.append(rng.choice(COMMON_ENGLISH))
            elif draw < 0.55:
                words.append(rng.choice(topic))
            elif draw < 0.97:
                words.append(rng.choices(shop, cum_weights=shop_weights)[0])
            else:
                words.append(rng.choice(rare))
        paragraphs, at = [], 0
        while at < len(words):
            size = rng.randint(30, 90)
            sentence = " ".join(words[at:at + size])
            paragraphs.append(sentence[0].upper() + sentence[1:] + ".")
            at += size
        articles.append((title, "\n\n".join(paragraphs), tags))
    return articles


def generate_questions(articles, count):
    """`count` (kind, question): shop words, an article's title asked back, rare words, and
    words no article holds, in the proportions 2:1:1:1 (shuffled)."""
    rng = random.Random(SEED * 7)
    shop, rare, unknown = vocabulary()
    starts = ["how do I", "can I", "where is my", "what is the", "do you", "why was my", "when will my", ""]
    chosen = []
    for n in range(count):
        slot = n % 5
        start = rng.choice(starts)
        if slot in (0, 1):
            kind, words = "shop words", rng.sample(shop[:60], 1) + rng.sample(shop, rng.randint(1, 3))
        elif slot == 2:
            kind, words = "an article's title", articles[rng.randrange(len(articles))][0].split(" (")[0].split()
        elif slot == 3:
            kind, words = "rare words", rng.sample(rare, rng.randint(1, 2)) + rng.sample(shop, 1)
        else:
            kind, words = "no match", rng.sample(unknown, rng.randint(1, 3))
        chosen.append((kind, f"{start} {' '.join(words)}?".strip().capitalize()))
    rng.shuffle(chosen)
    return chosen


def insert_articles(site_key, count):
    """The generated articles, published, in the site of this app's database, in bulk: the
    index fields made by `knowledge_search.index_fields`, as `knowledge.save` makes them."""
    from datetime import datetime

    from sqlalchemy import select, text

    from chat import create_app
    from chat.extensions import db
    from chat.knowledge_search import index_fields, recount_terms
    from chat.models import Site
    app = create_app()
    with app.app_context():
        site_id = db.session.execute(select(Site.id).filter_by(key=site_key)).scalar_one()
        now = datetime(2026, 11, 29)
        rows = [(site_id, title, body, tags, True, now, now, *index_fields(title, tags, body))
                for title, body, tags in generate_articles(count)]
        columns = ("site_id", "title", "body", "tags", "published", "created_at", "updated_at",
                   "search_title", "search_body", "search_length")
        connection = db.engine.raw_connection()
        try:
            cursor = connection.cursor()
            if db.engine.dialect.name == "postgresql":
                with cursor.copy(f"COPY article ({', '.join(columns)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            else:                         # article_fts is filled by its trigger
                cursor.executemany(f"INSERT INTO article ({', '.join(columns)}) VALUES "
                                   f"({', '.join('?' * len(columns))})", rows)
            connection.commit()
        finally:
            connection.close()
        recount_terms()                   # as knowledge.save keeps them, article by article
        if db.engine.dialect.name == "postgresql":
            # As autovacuum leaves a table some time after a bulk load: the visibility map set (the
            # index-only scans of the statistics skip the rows) and the planner's figures fresh.
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.execute(text("VACUUM (ANALYZE) article"))
        else:
            db.session.execute(text("ANALYZE"))
            db.session.commit()
        return site_id


# ---------------------------------------------------------------- 1. the search, in-process

def percentile(values, fraction):
    return load.percentile(values, fraction)


def backend_cpu(backend):
    if backend is None:
        return 0.0
    return load.cpu_seconds(backend)


def search_run(database, count, question_count, profile=False):
    """Fill a fresh database with `count` articles and time `search()` for the questions."""
    from flask_migrate import upgrade
    from sqlalchemy import text

    from chat import create_app
    from chat.extensions import db
    from chat.knowledge_search import search
    from chat.models import Site
    with tempfile.TemporaryDirectory() as workdir:
        url, created = fresh_database(database, workdir)
        os.environ.update({"DATABASE_URL": url, "INSTANCE_PATH": workdir, "CHAT_ENV": "testing",
                           "SECRET_KEY": "bench", "LOG_LEVEL": "WARNING"})
        try:
            app = create_app()
            with app.app_context():
                upgrade()
                db.session.add(Site(key="shop", name="Bench shop"))
                db.session.commit()
            started = time.perf_counter()
            site_id = insert_articles("shop", count)
            fill_seconds = time.perf_counter() - started
            questions = generate_questions(generate_articles(count), question_count)
            rows = []
            with app.app_context():
                backend = (db.session.execute(text("SELECT pg_backend_pid()")).scalar()
                           if database == "postgresql" else None)
                db.session.rollback()
                search(site_id, "warm up the connection and the caches")
                db.session.rollback()
                load_before = os.getloadavg()[0]
                profiler = cProfile.Profile() if profile else None
                if profiler:
                    profiler.enable()
                for kind, question in questions:
                    started, cpu, server_cpu = time.perf_counter(), time.process_time(), backend_cpu(backend)
                    hits = search(site_id, question, 3)
                    rows.append((kind, (time.perf_counter() - started) * 1000, (time.process_time() - cpu) * 1000,
                                 (backend_cpu(backend) - server_cpu) * 1000, len(hits)))
                    db.session.rollback()
                loads = (load_before, os.getloadavg()[0])
                if profiler:
                    profiler.disable()
                    pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(25)
                db.session.remove()
                db.engine.dispose()
            return {"database": database, "articles": count, "fill_s": fill_seconds, "rows": rows, "load": loads}
        finally:
            drop_database(created)


def print_search_header():
    print("\n| database, questions | n | wall ms p50 / p95 / max | CPU ms p50 / p95 (this process) "
          "| PostgreSQL backend CPU ms, mean (10 ms ticks) | answered | load average (start, end) |")
    print("|---|---|---|---|---|---|---|")


def print_search(result):
    rows, label = result["rows"], f"{result['database']}, {result['articles']:,} articles"
    groups = [("all", rows)] + [(f"&nbsp;&nbsp;{kind}", [row for row in rows if row[0] == kind])
                                for kind in dict.fromkeys(row[0] for row in rows)]
    for name, picked in groups:
        wall, cpu, server = ([row[n] for row in picked] for n in (1, 2, 3))
        backend = (f"{statistics.mean(server):.1f}"
                   if result["database"] == "postgresql" else "-")
        loads = f"{result['load'][0]:.1f}, {result['load'][1]:.1f}" if name == "all" else ""
        print(f"| {label if name == 'all' else ''} {name} | {len(picked)} | {statistics.median(wall):.1f} / "
              f"{percentile(wall, 0.95):.1f} / {max(wall):.1f} | {statistics.median(cpu):.1f} / "
              f"{percentile(cpu, 0.95):.1f} | {backend} | {sum(1 for row in picked if row[4])} | {loads} |")
    sys.stdout.flush()


# ---------------------------------------------------------------- live servers

def start_server(workdir, database, count):
    """wsgi.py with the demo site as seeded (its bot on) holding the generated articles, and a
    site "plain" without the bot; pinned as bench.py pins."""
    extra = {"ACCESS_LOG": "0", "LOG_LEVEL": "WARNING", "LOOP_STALL_WARNING_MS": str(load.STALL_MS),
             "SCHEDULER_ENABLED": "1", "MAX_CONNECTIONS_PER_ADDRESS": "0", "SOCKETIO_ASYNC_MODE": "eventlet"}
    if database == "postgresql":
        os.environ["TEST_DATABASE_URL"] = os.environ.get("BENCH_POSTGRES_URL",
                                                         "postgresql://postgres@127.0.0.1:5432/postgres")
    else:
        os.environ.pop("TEST_DATABASE_URL", None)
    server = load.LiveServer(workdir, env=load.server_environment(workdir, extra))
    server.env["SOCKETIO_ASYNC_MODE"] = "eventlet"
    server.prepare_database(as_seeded=True)
    add_routed_site(server, "plain", "manual", [])
    subprocess.run([sys.executable, __file__, "--fill", "demo", "--articles", str(count)], cwd=ROOT,
                   env=server.env, check=True, timeout=1800)
    return server


def run_server(server, model=None):
    """(Re)start the server, with the model's settings or without."""
    for name in ("LLM_BASE_URL", "LLM_MODEL"):
        server.env.pop(name, None)
    if model is not None:
        server.env.update({"LLM_BASE_URL": model.base_url, "LLM_MODEL": "writer"})
    server.start()
    load.pin(server.process.pid, 0)
    load.pin(0, 1)
    return server


async def visitor_socket(server, chat, handlers):
    client = socketio.AsyncClient(reconnection=False)
    for event, handler in handlers.items():
        client.on(event, handler, namespace="/visitor")
    auth = {"session_id": chat["session_id"], "session_key": chat["session_key"], "last_seq": 0}
    await client.connect(server.url, namespaces=["/visitor"], auth=auth, transports=["websocket"], wait_timeout=30)
    return client


# ---------------------------------------------------------------- 2. time to first text

class TimedRequests(list):
    """FakeModel's list of requests, each also timed as it arrives."""

    def __init__(self):
        super().__init__()
        self.arrived = []

    def append(self, item):
        self.arrived.append(time.perf_counter())
        super().append(item)


async def first_text(server, questions, samples, model=None):
    """One new chat per sample: greeting, then the question; times from the send."""
    rows = []
    cpu_before, load_before = load.cpu_seconds(server.process.pid), os.getloadavg()[0]
    for n in range(samples):
        chat = start_chat(server, name=f"Sample {n}")
        greeted, drafted, answered = asyncio.Event(), asyncio.Event(), asyncio.Event()
        times = {}

        async def on_message(message, times=times, greeted=greeted, answered=answered):
            if message["sender_type"] != "bot":
                return
            if message["seq"] == 1:
                greeted.set()
            elif "sent" in times and "answer" not in times:
                times["answer"] = time.perf_counter()
                times["text"] = message["text"]
                answered.set()

        async def on_draft(draft, times=times, drafted=drafted):
            if "draft" not in times:
                times["draft"] = time.perf_counter()
                drafted.set()

        client = await visitor_socket(server, chat, {"message": on_message, "bot_draft": on_draft})
        await asyncio.wait_for(greeted.wait(), 30)
        asked = len(model.requests.arrived) if model else 0
        times["sent"] = time.perf_counter()
        await client.emit("send_message", {"text": questions[n % len(questions)], "client_id": f"q{n}"},
                          namespace="/visitor")
        await asyncio.wait_for(answered.wait(), 30)
        first_token = (model.requests.arrived[asked] + model.first_token_seconds
                       if model and len(model.requests.arrived) > asked else None)
        rows.append({"draft_ms": (times["draft"] - times["sent"]) * 1000 if "draft" in times else None,
                     "answer_ms": (times["answer"] - times["sent"]) * 1000,
                     "model_asked_ms": (first_token - model.first_token_seconds - times["sent"]) * 1000
                     if first_token else None,
                     "after_token_ms": (times["draft"] - first_token) * 1000 if first_token and "draft" in times
                     else None})
        await client.disconnect()
    return {"rows": rows, "cpu_s": load.cpu_seconds(server.process.pid) - cpu_before,
            "load": (load_before, os.getloadavg()[0])}


def answerable(questions):
    return [question for kind, question in questions if kind in ("an article's title", "shop words")]


def p50_p95(values):
    values = [value for value in values if value is not None]
    if not values:
        return "-"
    return f"{statistics.median(values):.0f} / {percentile(values, 0.95):.0f}"


def print_first_header():
    print("\n| database, answer | samples | send to first bot_draft ms p50 / p95 | send to stored answer ms "
          "p50 / p95 | send to the model's request ms p50 / p95 | first bot_draft after the model's first "
          "token ms p50 / p95 | server CPU ms per sample (chat start, connect, greeting, answer) "
          "| load average (start, end) |")
    print("|---|---|---|---|---|---|---|---|")


def print_first(database, label, result):
    rows = result["rows"]
    print(f"| {database}, {label} | {len(rows)} | {p50_p95([r['draft_ms'] for r in rows])} "
          f"| {p50_p95([r['answer_ms'] for r in rows])} | {p50_p95([r['model_asked_ms'] for r in rows])} "
          f"| {p50_p95([r['after_token_ms'] for r in rows])} | {result['cpu_s'] * 1000 / len(rows):.1f} "
          f"| {result['load'][0]:.1f}, {result['load'][1]:.1f} |")
    sys.stdout.flush()


# ---------------------------------------------------------------- 3. many conversations at once

async def conversations(server, questions, count, seconds, site_key, pace):
    """`count` visitors of `site_key`, each sending a question every `pace` (low, high) s for `seconds`: with
    the bot, the time from each question to the first draft and to the stored answer (or other
    bot message) for it, waiting up to 10 s after the last; the server's stalls and CPU."""
    rng = random.Random(SEED)
    chats = [start_chat(server, site_key=site_key, name=f"Load {n}") for n in range(count)]
    # The bot answers a chat's messages one at a time, in order: each chat's questions wait in line.
    pending = {chat["session_id"]: collections.deque() for chat in chats}
    firsts, answers, acks = [], [], []
    sent = [0]

    def handlers(session_id):
        async def on_message(message):
            if message["sender_type"] == "bot" and pending[session_id]:
                answers.append(time.perf_counter() - pending[session_id].popleft()[0])

        async def on_draft(draft):
            waiting = pending[session_id]
            if waiting and not waiting[0][1]:
                waiting[0][1] = True
                firsts.append(time.perf_counter() - waiting[0][0])
        return {"message": on_message, "bot_draft": on_draft}

    clients = await asyncio.gather(*[visitor_socket(server, chat, handlers(chat["session_id"])) for chat in chats])
    await asyncio.sleep(2)                    # the greetings
    gc.collect()
    gc.freeze()
    offsets, cpu_before = load.log_offsets([server]), load.cpu_seconds(server.process.pid)
    generator_cpu, load_before = time.process_time(), os.getloadavg()[0]
    started = time.perf_counter()

    async def visitor(n, client, session_id):
        await asyncio.sleep(rng.uniform(0, 3))
        while time.perf_counter() - started < seconds:
            question = questions[rng.randrange(len(questions))]
            asked = time.perf_counter()
            if site_key == "demo":
                pending[session_id].append([asked, False])
            sent[0] += 1

            def on_ack(reply, asked=asked):
                if reply and reply.get("ok"):
                    acks.append(time.perf_counter() - asked)
            await client.emit("send_message", {"text": question, "client_id": f"l{n}-{sent[0]}"},
                              namespace="/visitor", callback=on_ack)
            await asyncio.sleep(rng.uniform(*pace))

    await asyncio.gather(*[visitor(n, client, chat["session_id"]) for n, (client, chat)
                           in enumerate(zip(clients, chats))])
    deadline = time.perf_counter() + 10
    while any(pending.values()) and time.perf_counter() < deadline:
        await asyncio.sleep(0.05)
    elapsed = time.perf_counter() - started
    time.sleep(0.5)                           # the loop watch logs a stall once it wakes
    stalls, worst = load.loop_stalls([server], offsets)
    held, most_held = load.held_stalls([server], offsets)
    result = {"site": site_key, "sent": sent[0], "acked": len(acks), "answered": len(answers),
              "ack": [a * 1000 for a in acks], "first": [f * 1000 for f in firsts],
              "answer": [a * 1000 for a in answers], "stalls": stalls, "worst": worst, "held": held, "most_held": most_held,
              "cpu_s": load.cpu_seconds(server.process.pid) - cpu_before, "seconds": elapsed,
              "generator_busy": (time.process_time() - generator_cpu) / elapsed,
              "load": (load_before, os.getloadavg()[0]), "errors": load.server_errors([server], offsets)}
    gc.unfreeze()
    await asyncio.gather(*[client.disconnect() for client in clients], return_exceptions=True)
    return result


def print_load_header(count, seconds, pace):
    print(f"\n| database, {count} visitors, a message every {pace[0]:g}-{pace[1]:g} s for {seconds} s "
          "| sent / acked / bot replies "
          "| ack ms p50 / p95 | first bot_draft ms p50 / p95 | stored answer ms p50 / p95 "
          "| loop stalls >= 20 ms (worst ms) | of them held by the loop's work (most CPU ms in one) | server CPU (share of a core) | generator busy "
          "| load average (start, end) |")
    print("|---|---|---|---|---|---|---|---|---|---|")


def print_load(database, result):
    label = "with the bot" if result["site"] == "demo" else "baseline: no bot"
    errors = "; ".join(f"{key} x{count}" for key, count in result["errors"].items())
    print(f"| {database}, {label} | {result['sent']} / {result['acked']} / {result['answered']} "
          f"| {p50_p95(result['ack'])} | {p50_p95(result['first'])} | {p50_p95(result['answer'])} "
          f"| {result['stalls']} ({result['worst']}) | {result['held']} ({result['most_held']}) | {result['cpu_s']:.1f} s ({result['cpu_s'] / result['seconds']:.0%}) "
          f"| {result['generator_busy']:.0%} | {result['load'][0]:.1f}, {result['load'][1]:.1f} |"
          + (f" errors: {errors}" if errors else ""))
    sys.stdout.flush()


# ---------------------------------------------------------------- main

def live_runs(database, args, parts, questions):
    with tempfile.TemporaryDirectory() as workdir:
        server = start_server(Path(workdir), database, args.articles)
        model = FakeModel()
        model.first_token_seconds = 0.05
        model.requests = TimedRequests()
        try:
            asked = answerable(questions)
            if "first" in parts:
                print_first_header()
                run_server(server)
                print_first(database, "from passages (no model)",
                            asyncio.run(first_text(server, asked, args.samples)))
                run_server(server, model)
                print_first(database, "fake model, first token at 50 ms",
                            asyncio.run(first_text(server, asked, args.samples, model)))
            if "load" in parts:
                run_server(server)
                texts = [question for _kind, question in questions]
                for pace in args.paces:
                    print_load_header(args.conversations, args.seconds, pace)
                    for site in ("plain", "demo"):
                        print_load(database, asyncio.run(conversations(server, texts, args.conversations,
                                                                       args.seconds, site, pace)))
        finally:
            server.stop()
            model.close()
            drop_created_databases()


def paces(value):
    try:
        pairs = [tuple(float(part) for part in pace.split("-")) for pace in value.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError("paces are LOW-HIGH seconds, comma-separated: 5-15,1-3") from None
    if not pairs or any(len(pair) != 2 or not 0 < pair[0] <= pair[1] for pair in pairs):
        raise argparse.ArgumentTypeError("paces are LOW-HIGH seconds, comma-separated: 5-15,1-3")
    return pairs


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--samples", type=int, default=100, help="answers timed for the first text, per kind")
    parser.add_argument("--conversations", type=int, default=200)
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--paces", default="5-15,1-3", type=paces,
                        help="the load's paces: seconds between a visitor's messages, LOW-HIGH,...")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--parts", default="search,first,load")
    parser.add_argument("--profile", action="store_true", help="cProfile the searches (to stderr)")
    parser.add_argument("--fill", metavar="SITE_KEY", help=argparse.SUPPRESS)   # in the server's database
    args = parser.parse_args()
    if args.fill:
        insert_articles(args.fill, args.articles)
        return
    parts = args.parts.split(",")
    databases = args.databases.split(",")
    questions = generate_questions(generate_articles(args.articles), args.questions)
    if "search" in parts:
        print_search_header()
        for database in databases:
            print(f"search on {database} ...", file=sys.stderr, flush=True)
            print_search(search_run(database, args.articles, args.questions, args.profile))
    for database in databases:
        if "first" in parts or "load" in parts:
            print(f"live server on {database} ...", file=sys.stderr, flush=True)
            live_runs(database, args, parts, questions)

if __name__ == "__main__":
    main()
