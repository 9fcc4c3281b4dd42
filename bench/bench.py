"""The benchmark: real Socket.IO clients on loopback against the product as served in
production (`wsgi.py`), server pinned to CPU 0 and this load generator to CPU 1.

    bin/bench            # the whole matrix (several minutes)
    bin/bench --quick    # one short run of each scenario on SQLite, one process
    bin/bench --mix      # only the traffic mixes (visitors, agents, half and half) with
                         # 40 logged-in agents holding 5 chats each, SQLite and PostgreSQL
    bin/bench --logins   # only the mixes' 40 logins and the loop stalls they cause
    bin/bench --supervisor  # only the supervisor view: 1,000 open chats, the cost of its events
    bin/bench --supervisor load  # only its loads (HTTP, then Chromium against a baseline)
    bin/bench --reports  # only /reports over 100,000 chats, SQLite and PostgreSQL
    bin/bench --history-search   # History's text search over 1,000,000 messages (bench/history_search.py)
    bin/bench --attachments      # a 10 MB upload and a 20-megapixel photo's thumbnail (bench/attachments.py)

It prints a table; it asserts nothing.
"""
import argparse
import asyncio
import datetime
import gc
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
import socketio

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.support import (  # noqa: E402
    LiveServer, drop_created_databases, login, server_environment, start_chat, stored_messages)


# ---------------------------------------------------------------- servers

def pin(pid, cpu):
    try:
        os.sched_setaffinity(pid, {cpu})
    except (AttributeError, OSError):
        pass


def rss_kib(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def start_servers(workdir, database, processes, async_mode, gc_tuning=True, spread=False):
    extra = {"SOCKETIO_ASYNC_MODE": async_mode, "ACCESS_LOG": "0", "LOG_LEVEL": "WARNING",
             "LOOP_STALL_WARNING_MS": str(STALL_MS),
             "GC_TUNING": "1" if gc_tuning else "0", "SCHEDULER_ENABLED": "1",
             # every simulated client connects from 127.0.0.1
             "MAX_CONNECTIONS_PER_ADDRESS": "0"}
    if database == "postgres":
        os.environ["TEST_DATABASE_URL"] = os.environ.get("BENCH_POSTGRES_URL",
                                                         "postgresql://postgres@127.0.0.1:5432/postgres")
    else:
        os.environ.pop("TEST_DATABASE_URL", None)
    if processes > 1:
        extra["SOCKETIO_MESSAGE_QUEUE"] = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
    env = server_environment(workdir, extra)
    env.pop("SOCKETIO_ASYNC_MODE", None)
    env["SOCKETIO_ASYNC_MODE"] = async_mode
    servers = [LiveServer(workdir, env=env) for _ in range(processes)]
    servers[0].prepare_database()
    for n, server in enumerate(servers):
        server.start()
        pin(server.process.pid, n % 2 if spread else 0)
    pin(0, 1)
    return servers


def stop_servers(servers):
    for server in servers:
        server.stop()


# ---------------------------------------------------------------- clients

async def visitor_client(server, chat):
    client = socketio.AsyncClient(reconnection=False)
    auth = {"session_id": chat["session_id"], "session_key": chat["session_key"], "last_seq": 0}
    await client.connect(server.url, namespaces=["/visitor"], auth=auth, transports=["websocket"],
                         wait_timeout=30)
    return client


async def agent_client(server, cookie):
    client = socketio.AsyncClient(reconnection=False)
    await client.connect(server.url, namespaces=["/agent"], transports=["websocket"],
                         headers={"Cookie": cookie}, wait_timeout=30)
    return client


def cookie_of(http):
    return "; ".join(f"{name}={value}" for name, value in http.cookies.items())


def cpu_seconds(pid):
    """User + system CPU time the process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


STALL_MS = 20


STALL_LINE = re.compile(rb"event loop stalled late_ms=(\d+)(?: cpu_ms=(\d+))?")
COLLECTION_LINE = re.compile(rb"garbage collection took_ms=(\d+) generation=(\d+)")


def logged_figures(servers, since, pattern):
    """The two numbers of each line matching `pattern` the servers logged after the log offsets
    `since` (a missing second one is 0)."""
    found = []
    for server, offset in zip(servers, since):
        with open(server.log_path, "rb") as log:
            log.seek(offset)
            found += [(int(match[1]), int(match[2] or 0)) for match in map(pattern.search, log) if match]
    return found


def logged_stalls(servers, since):
    """The stalls logged after `since`: (late ms, the loop's CPU ms in it)."""
    return logged_figures(servers, since, STALL_LINE)


def logged_collections(servers, since):
    """The long garbage collections logged after `since`: (ms, generation)."""
    return logged_figures(servers, since, COLLECTION_LINE)


def loop_stalls(servers, since):
    """Stalls of 20 ms or more the servers logged after the log offsets `since`: (count, worst ms)."""
    lates = [late for late, _cpu in logged_stalls(servers, since)]
    return len(lates), max(lates, default=0)


def held_stalls(servers, since):
    """Of those, the ones the loop spent working for 20 ms or more (the rest waited for a core
    on a busy machine): (count, most CPU ms the loop spent in one)."""
    held = [cpu for _late, cpu in logged_stalls(servers, since) if cpu >= STALL_MS]
    return len(held), max(held, default=0)


def server_errors(servers, since):
    """The exceptions the servers logged after the log offsets `since`: {"Type: message": count}
    (the last line of each traceback, chained causes included)."""
    found = {}
    for server, offset in zip(servers, since):
        with open(server.log_path, "rb") as log:
            log.seek(offset)
            for line in log:
                match = re.match(r"([A-Za-z_][\w.]*(?:Error|Exception|Timeout))(?:: (.*))?$",
                                 line.decode("utf-8", "replace").rstrip())
                if match:
                    key = f"{match.group(1)}: {(match.group(2) or '').strip()[:80]}"
                    found[key] = found.get(key, 0) + 1
    return found


def log_offsets(servers):
    return [server.log_path.stat().st_size for server in servers]


async def wait_for_turn(started, n, interval):
    """Sleep until the n-th send's time on a fixed schedule (the offered rate)."""
    delay = started + n * interval - time.perf_counter()
    if delay > 0:
        await asyncio.sleep(delay)


def percentile(values, fraction):
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


# ---------------------------------------------------------------- scenarios

async def connect_storm(servers, count):
    """`count` visitors and `count` agent tabs connect at once: time until all are in."""
    chats = [start_chat(servers[n % len(servers)]) for n in range(count)]
    cookie = cookie_of(login(servers[0], "supervisor@example.com", "demo-password"))
    started = time.perf_counter()
    results = await asyncio.gather(
        *[visitor_client(servers[n % len(servers)], chat) for n, chat in enumerate(chats)],
        *[agent_client(servers[n % len(servers)], cookie) for n in range(count)], return_exceptions=True)
    elapsed = time.perf_counter() - started
    clients = [r for r in results if not isinstance(r, BaseException)]
    rss = sum(rss_kib(s.process.pid) for s in servers)
    await asyncio.gather(*[c.disconnect() for c in clients], return_exceptions=True)
    return {"sockets": 2 * count, "failed": len(results) - len(clients), "seconds": elapsed, "rss_kib": rss}


async def many_sockets(server, count):
    """`count` visitor sockets held open on one process: failures and RSS per connection."""
    chats = [start_chat(server) for _ in range(count)]
    before = rss_kib(server.process.pid)
    clients, failed = [], 0
    for start in range(0, count, 500):
        batch = await asyncio.gather(*[visitor_client(server, chat) for chat in chats[start:start + 500]],
                                     return_exceptions=True)
        failed += sum(isinstance(r, BaseException) for r in batch)
        clients += [r for r in batch if not isinstance(r, BaseException)]
    after = rss_kib(server.process.pid)
    await asyncio.gather(*[c.disconnect() for c in clients], return_exceptions=True)
    return {"sockets": count, "failed": failed, "kib_per_socket": (after - before) / max(1, len(clients))}


async def steady_chat(servers, conversations, rate, seconds):
    """Visitors send at a fixed total rate; agents (on the other process when there are
    two) receive; every message is committed before its ack."""
    chats = [start_chat(servers[n % len(servers)]) for n in range(conversations)]
    cookie = cookie_of(login(servers[0], "supervisor@example.com", "demo-password"))
    visitors = await asyncio.gather(*[visitor_client(servers[n % len(servers)], c) for n, c in enumerate(chats)])
    agents_needed = max(1, conversations // 10)
    agents = await asyncio.gather(*[agent_client(servers[(n + 1) % len(servers)], cookie)
                                    for n in range(agents_needed)])
    sent_at, latencies, delivered = {}, [], set()
    last_seq, repaired = {}, [0]

    def on_message(client):
        async def handler(message):
            seq, session_id = message["seq"], message["session_id"]
            previous = last_seq.get(session_id, 0)
            if seq > previous + 1:                  # a gap: ask for what the queue dropped
                reply = await client.call("sync", {"session_id": session_id, "after_seq": previous},
                                          namespace="/agent")
                for missed in reply.get("messages", []):
                    if missed["client_id"] in sent_at and missed["client_id"] not in delivered:
                        delivered.add(missed["client_id"])
                        repaired[0] += 1
            last_seq[session_id] = max(previous, seq)
            key = message.get("client_id")
            if key in sent_at and key not in delivered:
                delivered.add(key)
                latencies.append(time.perf_counter() - sent_at[key])
        return handler

    for n, agent in enumerate(agents):
        agent.on("message", on_message(agent), namespace="/agent")
        for chat in chats[n::agents_needed]:
            await agent.call("join_session", {"session_id": chat["session_id"], "last_seq": 0}, namespace="/agent")
    acked = [0]

    def on_ack(reply):
        if reply and reply.get("ok"):
            acked[0] += 1

    interval, total = 1.0 / rate, int(rate * seconds)
    # The generator's own full garbage collections would show up as server latency.
    gc.collect()
    gc.freeze()
    cpu_before = sum(cpu_seconds(s.process.pid) for s in servers)
    generator_cpu_before, logs_before = time.process_time(), log_offsets(servers)
    started = time.perf_counter()
    for n in range(total):
        await wait_for_turn(started, n, interval)
        key = f"m{n}"
        sent_at[key] = time.perf_counter()
        await visitors[n % conversations].emit("send_message", {"text": f"load {n}", "client_id": key},
                                               namespace="/visitor", callback=on_ack)
    send_seconds = time.perf_counter() - started
    deadline = time.perf_counter() + 10
    while len(delivered) < total and time.perf_counter() < deadline:
        await asyncio.sleep(0.05)
    elapsed = time.perf_counter() - started
    cpu_used = sum(cpu_seconds(s.process.pid) for s in servers) - cpu_before
    generator_busy = (time.process_time() - generator_cpu_before) / elapsed
    stalls, worst_stall = loop_stalls(servers, logs_before)
    # What the dashboard's periodic check does: fetch anything whose event never came.
    for n, agent in enumerate(agents):
        for chat in chats[n::agents_needed]:
            after = last_seq.get(chat["session_id"], 0)
            reply = await agent.call("sync", {"session_id": chat["session_id"], "after_seq": after},
                                     namespace="/agent", timeout=60)
            for missed in reply.get("messages", []):
                if missed["client_id"] in sent_at and missed["client_id"] not in delivered:
                    delivered.add(missed["client_id"])
                    repaired[0] += 1
    rss = sum(rss_kib(s.process.pid) for s in servers)
    await asyncio.gather(*[c.disconnect() for c in visitors + agents], return_exceptions=True)
    stored = sum(len(requests.get(servers[0].api(f"/messages/{c['session_id']}"), timeout=300,
                                  headers={"X-Session-Key": c["session_key"]}).json()["messages"]) for c in chats)
    return {"offered_rate": rate, "sent": total, "acked": acked[0], "delivered": len(delivered),
            "repaired": repaired[0], "stored": stored, "rate": len(delivered) / max(elapsed, send_seconds),
            "p50_ms": percentile(latencies, 0.50) * 1000, "p95_ms": percentile(latencies, 0.95) * 1000,
            "p99_ms": percentile(latencies, 0.99) * 1000, "rss_kib": rss,
            "cpu_ms_per_message": cpu_used * 1000 / max(1, len(delivered)),
            "generator_busy": generator_busy, "stalls": stalls, "worst_stall_ms": worst_stall}


MIXES = {"visitors": "visitors only", "agents": "agents only", "half": "half and half"}
MIX_CONFIGS = [("sqlite", 1, "eventlet"), ("postgres", 1, "eventlet")]
CHATS_PER_AGENT = 5
MESSAGE_BYTES = 100
BENCH_AGENT_PASSWORD = "bench-password"


def create_agents(server, count):
    """`count` plain agents of the demo site, bench-agent-N@example.com, in one process."""
    code = ("import sys\nfrom chat import create_app\nfrom chat.cli import save_agent\n"
            "from chat.extensions import db\nfrom chat.models import Site\n"
            "with create_app().app_context():\n"
            "    site = db.session.execute(db.select(Site).filter_by(key='demo')).scalar_one()\n"
            "    for n in range(int(sys.argv[1])):\n"
            "        save_agent(f'bench-agent-{n}@example.com', f'Bench Agent {n}', 'agent', sys.argv[2],\n"
            "                   sites=[site])\n")
    subprocess.run([sys.executable, "-c", code, str(count), BENCH_AGENT_PASSWORD], cwd=ROOT, env=server.env,
                   check=True, capture_output=True, timeout=600)


def log_in_agents(servers, count):
    """Each agent logs in through the real form, one after the other, on an idle server:
    how long each login takes, and the event-loop stalls the servers logged meanwhile
    (a password hash on the loop holds every socket of the process)."""
    logs_before, cookies, times = log_offsets(servers), [], []
    for n in range(count):
        started = time.perf_counter()
        http = login(servers[n % len(servers)], f"bench-agent-{n}@example.com", BENCH_AGENT_PASSWORD)
        times.append(time.perf_counter() - started)
        cookies.append(cookie_of(http))
    time.sleep(0.5)                          # the loop watch logs a stall once it wakes
    stalls, worst_stall = loop_stalls(servers, logs_before)
    return cookies, {"agents": count, "login_p50_ms": statistics.median(times) * 1000,
                     "login_max_ms": max(times) * 1000, "stalls": stalls, "worst_stall_ms": worst_stall}


async def mix_chat(servers, cookies, mix, conversations, rate, seconds):
    """`conversations` chats, each claimed by one of the logged-in agents (`claim_session`,
    one dashboard tab per agent, CHATS_PER_AGENT chats each); 100-byte messages at a fixed
    total rate, sent by the visitors, by the agents, or by both in turn (`mix`). Latency is
    sender to the other side: visitor to holding agent, agent to visitor. Every message
    is committed before its ack."""
    holders = len(cookies)
    logs_at_start = log_offsets(servers)
    chats = [start_chat(servers[n % len(servers)]) for n in range(conversations)]
    sent_at, delivered, refused = {}, set(), {}
    latencies = {"visitor": [], "agent": []}
    last_seq = {"visitor": {}, "agent": {}}          # receiving side -> session_id -> highest seq seen
    repaired = [0]
    namespaces = {"visitor": "/visitor", "agent": "/agent"}

    def accept(side, key, received=None):
        """`side` received the message `key`: it counts when the other side sent it."""
        if key not in sent_at or key in delivered:
            return False
        sender = "agent" if key[0] == "a" else "visitor"
        if sender == side:
            return False
        delivered.add(key)
        if received is not None:
            latencies[sender].append(received - sent_at[key])
        return True

    async def fetch_missed(side, client, session_id):
        """What the product's clients do on a gap in seq (and the dashboard's periodic check)."""
        while True:
            after = last_seq[side].get(session_id, 0)
            reply = await client.call("sync", {"session_id": session_id, "after_seq": after},
                                      namespace=namespaces[side], timeout=60)
            for missed in reply.get("messages", []):
                last_seq[side][session_id] = max(last_seq[side].get(session_id, 0), missed["seq"])
                if accept(side, missed.get("client_id")):
                    repaired[0] += 1
            if not reply.get("ok") or not reply.get("has_more"):
                return

    def on_message(side, client):
        async def handler(message):
            received = time.perf_counter()
            seq, session_id = message["seq"], message["session_id"]
            if seq > last_seq[side].get(session_id, 0) + 1:        # a gap: ask for what was dropped
                await fetch_missed(side, client, session_id)
            last_seq[side][session_id] = max(last_seq[side].get(session_id, 0), seq)
            accept(side, message.get("client_id"), received)
        return handler

    agents = await asyncio.gather(*[agent_client(servers[(n + 1) % len(servers)], cookie)
                                    for n, cookie in enumerate(cookies)])
    for agent in agents:
        agent.on("message", on_message("agent", agent), namespace="/agent")
    held = [chats[n::holders] for n in range(holders)]       # agent n holds chats n, n + holders, ...

    async def claim(agent, mine):
        for chat in mine:
            reply = await agent.call("claim_session", {"session_id": chat["session_id"]}, namespace="/agent",
                                     timeout=60)
            if not reply.get("ok"):
                raise RuntimeError(f"claim_session refused: {reply.get('error')}")

    async def join(agent, mine):
        # As the dashboard does on the claim's session_status: with several processes the
        # claim's close_room can reach the claimer's process after its join.
        for chat in mine:
            reply = await agent.call("join_session", {"session_id": chat["session_id"], "last_seq": 0},
                                     namespace="/agent", timeout=60)
            if not reply.get("ok"):
                raise RuntimeError(f"join_session refused: {reply.get('error')}")

    await asyncio.gather(*[claim(agent, mine) for agent, mine in zip(agents, held)])
    await asyncio.sleep(0.5)
    await asyncio.gather(*[join(agent, mine) for agent, mine in zip(agents, held)])

    async def visitor(server, chat):
        client = socketio.AsyncClient(reconnection=False)
        client.on("message", on_message("visitor", client), namespace="/visitor")
        auth = {"session_id": chat["session_id"], "session_key": chat["session_key"], "last_seq": 0}
        await client.connect(server.url, namespaces=["/visitor"], auth=auth, transports=["websocket"],
                             wait_timeout=30)
        return client

    visitors = await asyncio.gather(*[visitor(servers[n % len(servers)], c) for n, c in enumerate(chats)])
    acked = [0]

    def on_ack(reply):
        if reply and reply.get("ok"):
            acked[0] += 1
        else:
            code = (reply or {}).get("error", {}).get("code", "no reply")
            refused[code] = refused.get(code, 0) + 1

    interval, total = 1.0 / rate, int(rate * seconds)
    await asyncio.sleep(0.5)                  # let the connects' and joins' work settle
    gc.collect()
    gc.freeze()
    cpu_before = sum(cpu_seconds(s.process.pid) for s in servers)
    generator_cpu_before, logs_before = time.process_time(), log_offsets(servers)
    started = time.perf_counter()
    for n in range(total):
        await wait_for_turn(started, n, interval)
        k = n % conversations
        # half and half: each chat alternates visitor, agent, visitor...; so do consecutive messages
        by_agent = mix == "agents" or (mix == "half" and (n + n // conversations) % 2 == 1)
        key = f"{'a' if by_agent else 'v'}{n}"
        text = f"load {n} ".ljust(MESSAGE_BYTES, "x")
        sent_at[key] = time.perf_counter()
        if by_agent:
            await agents[k % holders].emit("send_message", {"session_id": chats[k]["session_id"], "text": text,
                                                            "client_id": key}, namespace="/agent", callback=on_ack)
        else:
            await visitors[k].emit("send_message", {"text": text, "client_id": key}, namespace="/visitor",
                                   callback=on_ack)
    send_seconds = time.perf_counter() - started
    deadline = time.perf_counter() + 10
    while len(delivered) < total and time.perf_counter() < deadline:
        await asyncio.sleep(0.05)
    elapsed = time.perf_counter() - started
    cpu_used = sum(cpu_seconds(s.process.pid) for s in servers) - cpu_before
    generator_busy = (time.process_time() - generator_cpu_before) / elapsed
    stalls, worst_stall = loop_stalls(servers, logs_before)
    # The clients' periodic check: fetch anything whose event never came.
    for n, agent in enumerate(agents):
        for chat in held[n]:
            await fetch_missed("agent", agent, chat["session_id"])
    for client, chat in zip(visitors, chats):
        await fetch_missed("visitor", client, chat["session_id"])
    rss = sum(rss_kib(s.process.pid) for s in servers)
    stored = sum(1 for chat in chats for m in stored_messages(servers[0], chat) if m.get("client_id") in sent_at)
    # End the chats, so the next run's agents hold only their new ones.
    for n, agent in enumerate(agents):
        for chat in held[n]:
            await agent.call("end_session", {"session_id": chat["session_id"]}, namespace="/agent", timeout=60)
    await asyncio.gather(*[c.disconnect() for c in visitors + agents], return_exceptions=True)
    everything = latencies["visitor"] + latencies["agent"]
    result = {"mix": mix, "offered_rate": rate, "sent": total, "acked": acked[0], "delivered": len(delivered),
              "repaired": repaired[0], "stored": stored, "refused": refused,
              "server_errors": server_errors(servers, logs_at_start),
              "rate": len(delivered) / max(elapsed, send_seconds), "rss_kib": rss,
              "cpu_ms_per_message": cpu_used * 1000 / max(1, len(delivered)),
              "generator_busy": generator_busy, "stalls": stalls, "worst_stall_ms": worst_stall}
    for name, values in (("", everything), ("visitor_", latencies["visitor"]), ("agent_", latencies["agent"])):
        for label, fraction in (("p50", 0.50), ("p95", 0.95), ("p99", 0.99)):
            result[f"{name}{label}_ms"] = percentile(values, fraction) * 1000
    return result


def config_label(database, processes, async_mode, gc_tuning=True, spread=False):
    return (f"{database}, {processes} proc{'s' if processes > 1 else ''}, {async_mode}"
            + ("" if gc_tuning else ", no gc tuning") + (", a core each" if spread and processes > 1 else ""))


def run_mixes(database, processes, async_mode, quick, mixes, rates=None, spread=False):
    """The traffic mixes on servers of their own (a fresh database; the other scenarios
    stay as they were): the agents are created and log in once, then each mix and rate
    (none: only the logins)."""
    label = config_label(database, processes, async_mode, spread=spread)
    conversations = 50 if quick else 200
    rates = rates or ([200] if quick else [500, 1000])
    seconds = 3 if quick else 10
    with tempfile.TemporaryDirectory() as workdir:
        servers = start_servers(Path(workdir), database, processes, async_mode, spread=spread)
        try:
            agents = conversations // CHATS_PER_AGENT
            create_agents(servers[0], agents)
            cookies, logins = log_in_agents(servers, agents)
            runs = [asyncio.run(mix_chat(servers, cookies, mix, conversations, rate, seconds))
                    for rate in rates for mix in mixes]
            return {"config": label, "conversations": conversations, "logins": logins, "runs": runs}
        finally:
            stop_servers(servers)


def print_login_table(results, header=True):
    if header:
        print("\n| config | agent logins: agents, login p50/max ms, loop stalls >= 20 ms (worst) |")
        print("|---|---|")
    for row in results:
        logins = row["logins"]
        print(f"| {row['config']} | {logins['agents']}, {logins['login_p50_ms']:.0f}/{logins['login_max_ms']:.0f}, "
              f"{logins['stalls']} ({logins['worst_stall_ms']}) |")


def print_mix_table(results, header=True):
    if header:
        print("\n| config | agent logins: agents, login p50/max ms, loop stalls >= 20 ms (worst) "
              "| mix @offered: msg/s, p50/p95/p99 ms, sent/acked/delivered/stored (repaired), server CPU ms/msg, "
              "generator busy, loop stalls >= 20 ms (worst) | p50/p99 ms by sender: visitor-sent; agent-sent "
              "| RSS MiB |")
        print("|---|---|---|---|---|")
    for row in results:
        logins, runs = row["logins"], row["runs"]
        mix_text = "<br>".join(
            f"{MIXES[c['mix']]} @{c['offered_rate']}: {c['rate']:.0f}, "
            f"{c['p50_ms']:.1f}/{c['p95_ms']:.1f}/{c['p99_ms']:.1f}, "
            f"{c['sent']}/{c['acked']}/{c['delivered']}/{c['stored']} ({c['repaired']}), "
            f"{c['cpu_ms_per_message']:.2f}, {c['generator_busy']:.0%}, {c['stalls']} ({c['worst_stall_ms']})"
            + "".join(f", refused {code}: {count}" for code, count in sorted(c["refused"].items()))
            + "".join(f", server logged {error} x{count}" for error, count in sorted(c["server_errors"].items()))
            for c in runs)
        by_sender = "<br>".join(
            "; ".join(f"{c[side + '_p50_ms']:.1f}/{c[side + '_p99_ms']:.1f}" if c["mix"] == "half"
                      or c["mix"] == side + "s" else "-" for side in ("visitor", "agent"))
            for c in runs)
        print(f"| {row['config']} | {logins['agents']}, {logins['login_p50_ms']:.0f}/{logins['login_max_ms']:.0f}, "
              f"{logins['stalls']} ({logins['worst_stall_ms']}) | {mix_text} | {by_sender} "
              f"| {max(c['rss_kib'] for c in runs) / 1024:.0f} |")


def timed_get(http, url, runs=5):
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        response = http.get(url, timeout=120)
        times.append(time.perf_counter() - started)
        response.raise_for_status()
    return statistics.median(times) * 1000, response


def seed(server, kind, count):
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "seed.py"), kind, str(count)], cwd=ROOT,
                         env=server.env, capture_output=True, text=True, check=True)
    return out.stdout.strip().splitlines()[-1]


def history_and_queue(server):
    """A 10,000-message chat (first page, then every page) and a 10,000-session queue."""
    http = login(server, "supervisor@example.com", "demo-password")
    session_id = seed(server, "history", 10_000)
    first_ms, page = timed_get(http, f"{server.url}/dashboard/sessions/{session_id}")
    started, pages, url = time.perf_counter(), 1, None
    text = page.text
    while 'data-earlier="' in text:
        url = text.split('data-earlier="', 1)[1].split('"', 1)[0]
        text = http.get(server.url + url, timeout=120).text
        pages += 1
    full_ms = first_ms + (time.perf_counter() - started) * 1000
    seed(server, "queue", 10_000)
    queue_ms, _ = timed_get(http, f"{server.url}/dashboard/sessions")
    return {"history_first_ms": first_ms, "history_full_ms": full_ms, "history_pages": pages, "queue_ms": queue_ms}


# ---------------------------------------------------------------- the supervisor view

SUPERVISOR_TABS = 5
LOAD_WINDOW_SECONDS = 3.0

# Injected before the page's own scripts: the time the first frame showing every row has been
# rendered (a requestAnimationFrame sees the rows; the timer it sets runs once that frame's
# style, layout and paint are done).
ROWS_DRAWN_SCRIPT = """(() => {
  function check() {
    var body = document.getElementById('chatRows');
    if (body && body.children.length >= %d) {
      setTimeout(function () { window.benchRowsDrawnAt = performance.now(); }, 0);
      return;
    }
    requestAnimationFrame(check);
  }
  requestAnimationFrame(check);
})();"""

# Read once the rows are drawn: navigation and resource timing, and the view's own marks.
LOAD_TIMES_SCRIPT = """() => {
  var nav = performance.getEntriesByType('navigation')[0];
  var marks = document.getElementById('supervisor').dataset;
  var resources = performance.getEntriesByType('resource');
  var scripts = resources.filter(function (e) { return e.initiatorType === 'script'; });
  var overviews = resources.filter(function (e) { return e.name.indexOf('/supervisor/overview') >= 0; });
  var polls = resources.filter(function (e) { return e.name.indexOf('/socket.io/') >= 0; });
  return {
    document: nav.responseEnd,
    scripts: Math.max.apply(null, scripts.map(function (e) { return e.responseEnd; })),
    dom_content_loaded: nav.domContentLoadedEventEnd,
    overview_sent: overviews.length ? overviews[0].startTime : null,
    overview_received: overviews.length ? overviews[0].responseEnd : null,
    overviews: overviews.length,
    socket_requests: polls.length,
    connected: Number(marks.connectedAt),
    rows_in_page: Number(marks.loadedAt),
    rows_drawn: window.benchRowsDrawnAt
  };
}"""
LOAD_STEPS = ("document", "scripts", "dom_content_loaded", "overview_sent", "overview_received", "connected",
              "rows_in_page", "rows_drawn")


# The page's main thread, from Chromium's own counters (CDP Performance.getMetrics, in thread
# CPU time): seconds spent running script, laying out, computing styles, and in all tasks.
PAGE_CPU_METRICS = ("ScriptDuration", "LayoutDuration", "RecalcStyleDuration", "TaskDuration")


def page_cpu(cdp):
    return {metric["name"]: metric["value"] for metric in cdp.send("Performance.getMetrics")["metrics"]
            if metric["name"] in PAGE_CPU_METRICS}


def browser_loads(servers, http, count, runs=5):
    """The supervisor view in Chromium (when Playwright is installed), `runs` times, each from
    navigation until the first frame showing every row is rendered: the medians of each step
    (ms from navigation) and of the page's main-thread CPU; and the server's loop stalls and CPU
    in a window around each load (at least LOAD_WINDOW_SECONDS) against a window as long with
    no page open just after it (the baseline: the same machine, moments apart). None without
    Playwright."""
    try:
        from playwright.sync_api import sync_playwright

        from tests.browser.pages import CONTEXT_OPTIONS, launch_chromium
    except ImportError:
        return None
    pid = servers[0].process.pid
    # per window: stalls, worst ms, CPU s, stalls the loop spent working, most CPU ms in one
    steps, cpus, windows = [], [], {"baseline": [0, 0, 0.0, 0, 0], "load": [0, 0, 0.0, 0, 0]}
    every_stall = {"baseline": [], "load": []}

    def window(name, seconds, action=lambda: None):
        started, offsets, cpu = time.perf_counter(), log_offsets(servers), cpu_seconds(pid)
        result = action()
        time.sleep(max(0.0, started + seconds - time.perf_counter()))
        time.sleep(0.1)                       # the loop watch logs a stall once it wakes
        stalls, worst = loop_stalls(servers, offsets)
        held, most_held = held_stalls(servers, offsets)
        total = windows[name]
        total[0], total[1], total[2] = total[0] + stalls, max(total[1], worst), total[2] + cpu_seconds(pid) - cpu
        total[3], total[4] = total[3] + held, max(total[4], most_held)
        every_stall[name] += logged_stalls(servers, offsets)
        return result, time.perf_counter() - started

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            for _ in range(runs):
                context = browser.new_context(**CONTEXT_OPTIONS)
                context.add_cookies([{"name": name, "value": value, "url": servers[0].url}
                                     for name, value in http.cookies.items()])
                context.add_init_script(ROWS_DRAWN_SCRIPT % count)
                page = context.new_page()
                cdp = context.new_cdp_session(page)
                cdp.send("Performance.enable", {"timeDomain": "threadTicks"})
                before = page_cpu(cdp)

                def load():
                    page.goto(servers[0].url + "/supervisor", wait_until="domcontentloaded")
                    page.wait_for_function("() => window.benchRowsDrawnAt", polling=50, timeout=60_000)
                    return page.evaluate(LOAD_TIMES_SCRIPT), page_cpu(cdp)
                (timings, after), seconds = window("load", LOAD_WINDOW_SECONDS, load)
                steps.append(timings)
                cpus.append({name: (after[name] - before[name]) * 1000 for name in PAGE_CPU_METRICS})
                context.close()
                time.sleep(1)                 # its disconnect, outside both windows
                window("baseline", seconds)
        finally:
            browser.close()
    medians = {step: statistics.median(run[step] for run in steps if run[step] is not None)
               if any(run[step] is not None for run in steps) else None for step in LOAD_STEPS}
    medians["overviews"] = max(run["overviews"] for run in steps)
    medians["drawn_range"] = (min(run["rows_drawn"] for run in steps), max(run["rows_drawn"] for run in steps))
    medians["cpu"] = {name: statistics.median(run[name] for run in cpus) for name in PAGE_CPU_METRICS}
    medians["runs"] = runs
    medians["windows"] = windows
    medians["every_stall"] = every_stall
    return medians


async def with_supervisor_tabs(servers, cookies, tabs, conversations, rate, seconds):
    """The visitors-only mix with `tabs` supervisor views open (each receives a `chat_activity`
    for every message), and how many of those they received."""
    cookie = cookie_of(login(servers[0], "supervisor@example.com", "demo-password"))
    clients = await asyncio.gather(*[agent_client(servers[0], cookie) for _ in range(tabs)])
    received = [0]

    def count(_data):
        received[0] += 1

    for client in clients:
        client.on("chat_activity", count, namespace="/agent")
    try:
        result = await mix_chat(servers, cookies, "visitors", conversations, rate, seconds)
    finally:
        await asyncio.gather(*[client.disconnect() for client in clients], return_exceptions=True)
    result["supervisor_events"] = received[0]
    return result


def emit_to_empty_room_us(runs=20000):
    """The extra emit with no supervisor connected, in-process (threading mode, no queue): µs each."""
    code = ("import time\nfrom chat import create_app\nfrom chat.extensions import socketio\n"
            "from chat.publish import AGENT_NS, SUPERVISORS_ROOM\n"
            "app = create_app({'SOCKETIO_ASYNC_MODE': 'threading', 'SCHEDULER_ENABLED': False})\n"
            "preview = {'session_id': 'x' * 36, 'status': 'active', 'agent_id': 1, 'last_message': 'y' * 100,\n"
            "           'last_seq': 1, 'last_message_at': '2026-11-29T12:00:00Z', 'sender_type': 'visitor',\n"
            "           'sender_name': 'Bench'}\n"
            "with app.app_context():\n"
            f"    started = time.perf_counter()\n    for _ in range({runs}):\n"
            "        socketio.emit('chat_activity', preview, to=SUPERVISORS_ROOM, namespace=AGENT_NS)\n"
            f"    print((time.perf_counter() - started) / {runs} * 1e6)\n")
    with tempfile.TemporaryDirectory() as workdir:
        env = dict(os.environ, CHAT_ENV="testing", SECRET_KEY="bench", INSTANCE_PATH=workdir,
                   DATABASE_URL=f"sqlite:///{workdir}/emit.db")
        out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                             check=True, timeout=300)
    return float(out.stdout.strip().splitlines()[-1])


def supervisor_view(database, quick, rate=None, load_only=False):
    """1,000 open chats: the view's page and first load (HTTP, and in Chromium until every row is
    drawn) and the loop stalls meanwhile; then what the per-message `chat_activity` costs: the
    visitors-only mix without and with SUPERVISOR_TABS supervisor views open (not with `load_only`)."""
    count = 100 if quick else 1000
    default_rate, seconds, conversations, agents = (200, 3, 50, 10) if quick else (500, 10, 200, 40)
    rate = rate or default_rate
    with tempfile.TemporaryDirectory() as workdir:
        servers = start_servers(Path(workdir), database, 1, "eventlet")
        try:
            server = servers[0]
            seed(server, "open", count)
            http = login(server, "supervisor@example.com", "demo-password")
            logs = log_offsets(servers)
            page_ms, _ = timed_get(http, server.url + "/supervisor")
            cpu = cpu_seconds(server.process.pid)
            overview_ms, response = timed_get(http, server.url + "/supervisor/overview")
            overview_cpu_ms = (cpu_seconds(server.process.pid) - cpu) * 1000 / 5   # each asked 5 times
            time.sleep(0.5)                       # the loop watch logs a stall once it wakes
            stalls, worst = loop_stalls(servers, logs)
            browser = browser_loads(servers, http, count)
            row = {"config": config_label(database, 1, "eventlet"), "chats": len(response.json()["chats"]),
                   "overview_kib": len(response.content) / 1024, "page_ms": page_ms, "overview_ms": overview_ms,
                   "overview_cpu_ms": overview_cpu_ms, "http_stalls": stalls, "http_worst_stall_ms": worst,
                   "browser": browser, "load": os.getloadavg()}
            print_supervisor_load(row)
            if load_only:
                return
            create_agents(server, agents)
            cookies, _ = log_in_agents(servers, agents)
            print_supervisor_cost_header(rate)
            for tabs in (0, SUPERVISOR_TABS):
                try:
                    run = asyncio.run(with_supervisor_tabs(servers, cookies, tabs, conversations, rate, seconds))
                    print_supervisor_cost(row["config"], tabs, run)
                except Exception as error:          # a dropped socket on a busy machine: say so, go on
                    print(f"| {row['config']} | {tabs} | failed: {type(error).__name__}: {error} | | | |")
                sys.stdout.flush()
        finally:
            stop_servers(servers)
    print(f"\nThe extra emit with no supervisor connected: {emit_to_empty_room_us():.1f} µs per message "
          "(in-process, threading mode, no Redis).")


def print_supervisor_load(row):
    print("\n| config | open chats | page ms | overview ms (server CPU ms, KiB) | loop stalls >= 20 ms during "
          "the 10 HTTP reads (worst) | load average 1/5 min |")
    print("|---|---|---|---|---|---|")
    print(f"| {row['config']} | {row['chats']} | {row['page_ms']:.0f} | {row['overview_ms']:.0f} "
          f"({row['overview_cpu_ms']:.0f}, {row['overview_kib']:.0f}) | {row['http_stalls']} "
          f"({row['http_worst_stall_ms']}) | {row['load'][0]:.2f} / {row['load'][1]:.2f} |")
    shown = row["browser"]
    if shown is None:
        print("\n(Chromium: Playwright is not installed)")
        return
    print(f"\nChromium, medians of {shown['runs']} loads, ms from navigation (rows drawn: the first frame "
          "showing every row, rendered):\n")
    print("| document | scripts | DOMContentLoaded | overview sent / received | socket connected "
          "| rows in the page | rows drawn (range) | overview reads per load |")
    print("|---|---|---|---|---|---|---|---|")

    def ms(step):
        return "-" if shown[step] is None else f"{shown[step]:.0f}"
    low, high = shown["drawn_range"]
    print(f"| {ms('document')} | {ms('scripts')} | {ms('dom_content_loaded')} | {ms('overview_sent')} / "
          f"{ms('overview_received')} | {ms('connected')} | {ms('rows_in_page')} | {ms('rows_drawn')} "
          f"({low:.0f}-{high:.0f}) | {shown['overviews']} |")
    cpu = shown["cpu"]
    print(f"\nThe page's main thread (thread CPU ms, medians): script {cpu['ScriptDuration']:.0f}, layout "
          f"{cpu['LayoutDuration']:.0f}, style {cpu['RecalcStyleDuration']:.0f}, all tasks {cpu['TaskDuration']:.0f}")
    print(f"\nServer loop stalls >= 20 ms and server CPU, {shown['runs']} windows of at least "
          f"{LOAD_WINDOW_SECONDS:.0f} s: around each load / as long just after it with no page open (baseline):\n")
    print("| | stalls | worst ms | of them held by the loop's work (>= 20 ms of its CPU) | most CPU ms in one "
          "| server CPU ms per window |")
    print("|---|---|---|---|---|---|")
    for name in ("load", "baseline"):
        stalls, worst, cpu, held, most_held = shown["windows"][name]
        print(f"| {name} | {stalls} | {worst} | {held} | {most_held} | {cpu * 1000 / shown['runs']:.0f} |")
    for name, stalls in shown["every_stall"].items():
        if stalls:
            print(f"\nEvery stall of the {name} windows, ms late / the loop's CPU ms in it: "
                  + ", ".join(f"{late}/{cpu}" for late, cpu in stalls))
    sys.stdout.flush()


def print_supervisor_cost_header(rate):
    print(f"\n| visitors-only mix @{rate} msg/s | supervisor views | p50/p99 ms "
          "| server CPU ms/msg | chat_activity received | loop stalls (worst) |")
    print("|---|---|---|---|---|---|")


def print_supervisor_cost(config, tabs, run):
    print(f"| {config} | {tabs} | {run['p50_ms']:.1f}/{run['p99_ms']:.1f} | {run['cpu_ms_per_message']:.3f} "
          f"| {run['supervisor_events']} of {run['delivered']} messages x {tabs} | {run['stalls']} "
          f"({run['worst_stall_ms']}) |")
REPORT_CHATS = 100_000


REPORT_RANGES = (7, 30, 365)          # days up to today: the default range, a month, the whole year


def run_reports(database, quick):
    """/reports and its per-day CSV over the last 7, 30 and 365 days of a year holding
    REPORT_CHATS chats (10,000 with --quick), on a server and database of their own."""
    count = REPORT_CHATS // 10 if quick else REPORT_CHATS
    with tempfile.TemporaryDirectory() as workdir:
        servers = start_servers(Path(workdir), database, 1, "eventlet")
        try:
            started = time.perf_counter()
            _, last_day = seed(servers[0], "report", count).split()
            row = {"database": database, "chats": count, "seed_s": time.perf_counter() - started, "ranges": []}
            http = login(servers[0], "supervisor@example.com", "demo-password")
            last = datetime.date.fromisoformat(last_day)
            pid = servers[0].process.pid
            for days in REPORT_RANGES:
                query = f"from={last - datetime.timedelta(days=days - 1)}&to={last}"
                cpu = cpu_seconds(pid)
                page_ms, _ = timed_get(http, f"{servers[0].url}/reports?{query}")
                page_cpu_ms = (cpu_seconds(pid) - cpu) * 1000 / 5          # timed_get asks 5 times
                csv_ms, _ = timed_get(http, f"{servers[0].url}/reports/days.csv?{query}")
                report_ms, database_cpu_ms = report_cpu(servers[0], last - datetime.timedelta(days=days - 1), last)
                row["ranges"].append((days, page_ms, page_cpu_ms, csv_ms, report_ms, database_cpu_ms))
            row["load"] = os.getloadavg()[0]
            return row
        finally:
            stop_servers(servers)
            drop_created_databases()          # a 100,000-chat database is not kept


def report_cpu(server, first_day, last_day):
    """One report computed in-process (bench/report_cpu.py): its wall ms and the database's CPU ms."""
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "report_cpu.py"), str(first_day), str(last_day)],
                         cwd=ROOT, env=server.env, capture_output=True, text=True, check=True)
    return tuple(float(number) for number in out.stdout.split()[-2:])


def print_reports_table(results, header=True):
    if header:
        print("\n| reports: database | chats in the table (over 365 days) | seed s | "
              + " | ".join(f"last {days} days: page ms (server CPU ms) / days.csv ms / report ms (database CPU ms)"
                           for days in REPORT_RANGES)
              + " | load average |")
        print("|---|---|---|" + "---|" * len(REPORT_RANGES) + "---|")
    for row in results:
        ranges = " | ".join(f"{page_ms:.0f} ({cpu_ms:.0f}) / {csv_ms:.0f} / {report_ms:.0f} ({database_ms:.0f})"
                            for _, page_ms, cpu_ms, csv_ms, report_ms, database_ms in row["ranges"])
        print(f"| {row['database']} | {row['chats']:,} | {row['seed_s']:.0f} | {ranges} | {row['load']:.1f} |")


# ---------------------------------------------------------------- the matrix

def run_config(database, processes, async_mode, quick, gc_tuning=True, spread=False):
    label = config_label(database, processes, async_mode, gc_tuning, spread)
    with tempfile.TemporaryDirectory() as workdir:
        servers = start_servers(Path(workdir), database, processes, async_mode, gc_tuning, spread)
        try:
            rows = {"config": label}
            rows["storm"] = asyncio.run(connect_storm(servers, 100 if quick else 500))
            rates = [(200, 3)] if quick else [(250, 10), (500, 10), (2000, 5)]
            rows["chats"] = [asyncio.run(steady_chat(servers, 50 if quick else 200, rate, seconds))
                             for rate, seconds in rates]
            rows["history"] = history_and_queue(servers[0])
            return rows
        finally:
            stop_servers(servers)


def print_table(results, header=True):
    if header:
        print("\n| config | storm: sockets, failed, s | chat @offered: msg/s, p50/p95/p99 ms, sent/acked/delivered/stored "
              "(repaired), server CPU ms/msg, generator busy, loop stalls >= 20 ms (worst) "
              "| RSS MiB | history first / full ms (pages) | queue 10k ms |")
        print("|---|---|---|---|---|---|")
    for row in results:
        storm, history = row["storm"], row["history"]
        chats = row["chats"]
        chat_text = "<br>".join(
            f"@{c['offered_rate']}: {c['rate']:.0f}, {c['p50_ms']:.1f}/{c['p95_ms']:.1f}/{c['p99_ms']:.1f}, "
            f"{c['sent']}/{c['acked']}/{c['delivered']}/{c['stored']} ({c['repaired']}), {c['cpu_ms_per_message']:.2f}, "
            f"{c['generator_busy']:.0%}, {c['stalls']} ({c['worst_stall_ms']})"
            for c in chats)
        print(f"| {row['config']} | {storm['sockets']}, {storm['failed']}, {storm['seconds']:.2f} | {chat_text} "
              f"| {max(c['rss_kib'] for c in chats) / 1024:.0f} | {history['history_first_ms']:.0f} / "
              f"{history['history_full_ms']:.0f} ({history['history_pages']}) | {history['queue_ms']:.0f} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small, short runs (a smoke test of the bench)")
    parser.add_argument("--sockets", type=int, default=0, help="also hold this many sockets on one process")
    parser.add_argument("--only", help="run one config, e.g. sqlite,1,eventlet")
    parser.add_argument("--spread", action="store_true",
                        help="server process n on CPU n %% 2 (the second shares CPU 1 with the load generator)")
    parser.add_argument("--mix", nargs="?", const="all", metavar="MIXES",
                        help="run only the traffic mixes with logged-in agents holding the chats: "
                             f"all (no value), or some of {','.join(MIXES)} (by default all run on "
                             + " and ".join(",".join(map(str, c)) for c in MIX_CONFIGS) + " after the rest)")
    parser.add_argument("--logins", action="store_true",
                        help="run only the mixes' agent logins (the loop stalls a login causes)")
    parser.add_argument("--supervisor", nargs="?", const="all", choices=("all", "load"),
                        help="run only the supervisor view: 1,000 open chats loaded, and the cost of its "
                             "per-message event (SQLite and PostgreSQL; --quick: SQLite, smaller); "
                             "--supervisor load: only the loads")
    parser.add_argument("--mix-rates", metavar="RATES",
                        help="offered msg/s for the mixes, e.g. 500,1000,1500 (default 500,1000; --quick 200)")
    parser.add_argument("--reports", action="store_true",
                        help=f"run only /reports over {REPORT_CHATS:,} chats (SQLite and PostgreSQL)")
    args = parser.parse_args()
    if args.supervisor:
        databases = [args.only.split(",")[0]] if args.only else ["sqlite", "postgres"]
        for database in (["sqlite"] if args.quick else databases):
            print(f"running the supervisor view on {database} ...", file=sys.stderr, flush=True)
            supervisor_view(database, args.quick, int(args.mix_rates.split(",")[0]) if args.mix_rates else None,
                            load_only=args.supervisor == "load")
            sys.stdout.flush()
        return
    if args.reports:
        return report_runs(args.quick)
    configs = [("sqlite", 1, "eventlet"), ("postgres", 1, "eventlet"), ("sqlite", 1, "gevent"),
               ("postgres", 1, "gevent"), ("postgres", 2, "eventlet"), ("postgres", 2, "gevent")]
    mix_configs = list(MIX_CONFIGS)
    if args.quick:
        configs = mix_configs = [("sqlite", 1, "eventlet")]
    if args.only:
        database, processes, mode = args.only.split(",")
        configs = [(database, int(processes), mode)]
        mix_configs = [config for config in configs if args.mix or args.logins or config in MIX_CONFIGS]
    mixes = list(MIXES)
    if args.logins:
        mixes, configs = [], []
    elif args.mix:
        mixes = list(MIXES) if args.mix == "all" else [name.strip() for name in args.mix.split(",")]
        unknown = [name for name in mixes if name not in MIXES]
        if unknown:
            parser.error(f"--mix: unknown {', '.join(unknown)}; choose from {', '.join(MIXES)}")
        configs = []
    rates = [int(rate) for rate in args.mix_rates.split(",")] if args.mix_rates else None
    if configs:
        print_table([], header=True)
    for config in configs:
        print(f"running {config} ...", file=sys.stderr, flush=True)
        try:
            print_table([run_config(*config, quick=args.quick, spread=args.spread)], header=False)
        except Exception as error:          # one broken config must not hide the others
            print(f"| {config} | failed: {type(error).__name__}: {error} | | | | |")
        sys.stdout.flush()
    print_rows = print_mix_table if mixes else print_login_table
    if mix_configs:
        print_rows([], header=True)
    for config in mix_configs:
        print(f"running {f'the mixes {mixes}' if mixes else 'the logins'} on {config} ...", file=sys.stderr,
              flush=True)
        try:
            print_rows([run_mixes(*config, quick=args.quick, mixes=mixes, rates=rates,
                                  spread=args.spread)], header=False)
        except Exception as error:
            print(f"| {config} | failed: {type(error).__name__}: {error} | | | |")
        sys.stdout.flush()
    if not (args.only or args.mix or args.logins):
        report_runs(args.quick)
    if args.sockets:
        with tempfile.TemporaryDirectory() as workdir:
            servers = start_servers(Path(workdir), "sqlite", 1, "eventlet")
            try:
                held = asyncio.run(many_sockets(servers[0], args.sockets))
            finally:
                stop_servers(servers)
        print(f"\n{held['sockets']} sockets on one process: {held['failed']} failed, "
              f"{held['kib_per_socket']:.0f} KiB RSS per socket")


def report_runs(quick):
    print_reports_table([], header=True)
    for database in ("sqlite",) if quick else ("sqlite", "postgres"):
        print(f"running the reports on {database} ...", file=sys.stderr, flush=True)
        try:
            print_reports_table([run_reports(database, quick)], header=False)
        except Exception as error:
            print(f"| {database} | failed: {type(error).__name__}: {error} | | | | | |")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
