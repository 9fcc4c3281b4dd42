"""WhatsApp in and out (issue 16): how fast the webhook answers at 500 inbound messages a second,
whether each is stored once (none lost, none doubled, redeliveries included), and whether what we
send to one number stays under its throughput limit.

    bin/bench --channels                              # 500 messages a second for 10 s, SQLite
    python bench/channels.py --rate 200 --seconds 5 --databases sqlite,postgresql
    python bench/channels.py --processes 2     # two serving processes (Redis), the senders alternating

A live server (`wsgi.py`, eventlet, LOOP_STALL_WARNING_MS=20) pinned to CPU 0, this process (the
senders and the fake Graph API, tests/support/fake_whatsapp.py) to CPU 1, as bench.py does. A
site without the bot is connected to the fake (`flask chat connect-whatsapp --api-base ...`), so
each customer's first message starts a chat that waits for an agent, and its customer is sent the
wait notice: the outbox's traffic, throttled at WHATSAPP_SENDS_PER_SECOND (80).

1. **inbound**: `--rate` signed webhooks a second for `--seconds`, each one customer message
   (text), from `--contacts` phones in turn, sent by 64 threads on a fixed schedule; 5% of them
   are sent a second time (Meta redelivers); the fake's own status webhooks (sent, delivered)
   for our notices come in beside them. Each POST's time to its 200 is measured.
2. **stored once**: once the server has handled everything, the customers' messages in the
   database are counted against the distinct messages sent.
3. **outbound**: the fake's count of sends, sampled every 50 ms: the most sends in any one
   second, and the overall rate, against the limit.

It prints a table; it asserts nothing.
"""
import argparse
import hashlib
import hmac
import json
import os
import queue
import re
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import bench as load  # noqa: E402  (bench/bench.py: the servers, stalls, CPU)
from attachments import Window  # noqa: E402  (bench/attachments.py: a run's stalls and CPU)
from tests.support import LiveServer, flask_cli, server_environment  # noqa: E402
from tests.support.fake_whatsapp import FakeWhatsApp  # noqa: E402

SENDERS = 64
REDELIVERED = 0.05
SENDS_PER_SECOND = 80


def start_servers(workdir, database, fake, processes):
    """`processes` serving processes on one database (several: Redis carries their Socket.IO
    traffic, and the number's send rate is divided between them), the first pinned to CPU 0, a
    second to CPU 1 (beside this process: a conservative figure)."""
    extra = {"ACCESS_LOG": "0", "LOG_LEVEL": "WARNING", "LOOP_STALL_WARNING_MS": str(load.STALL_MS),
             "SCHEDULER_ENABLED": "1", "WHATSAPP_SENDS_PER_SECOND": str(SENDS_PER_SECOND // processes)}
    if processes > 1:
        extra["SOCKETIO_MESSAGE_QUEUE"] = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
    if database == "postgresql":
        os.environ["TEST_DATABASE_URL"] = os.environ.get("BENCH_POSTGRES_URL",
                                                         "postgresql://postgres@127.0.0.1:5432/postgres")
    else:
        os.environ.pop("TEST_DATABASE_URL", None)
    env = server_environment(workdir, extra)
    env["SOCKETIO_ASYNC_MODE"] = "eventlet"
    servers = [LiveServer(workdir, env=dict(env)) for _ in range(processes)]
    first = servers[0]
    first.prepare_database(as_seeded=True)
    made = flask_cli(first.env, "chat", "create-site", "--name", "Bench shop", "--origin", "https://shop.example")
    site_key = re.search(r"key (\S+);", made.stdout).group(1)
    connected = flask_cli(first.env, "chat", "connect-whatsapp", "--site", site_key,
                          "--phone-number-id", fake.state.phone_number_id, "--access-token", "bench-token",
                          "--app-secret", fake.state.app_secret, "--verify-token", "bench-verify",
                          "--api-base", fake.api_base)
    if connected.returncode != 0:
        raise RuntimeError(connected.stderr + connected.stdout)
    for n, server in enumerate(servers):
        server.start()
        os.sched_setaffinity(server.process.pid, {n % 2})
    fake.state.webhook_url = first.url + "/channels/whatsapp/webhook"
    load.pin(0, 1)
    return servers


def signed(fake, payload):
    body = json.dumps(payload).encode()
    signature = hmac.new(fake.state.app_secret.encode(), body, hashlib.sha256).hexdigest()
    return body, {"Content-Type": "application/json", "X-Hub-Signature-256": f"sha256={signature}"}


def webhooks(fake, count, contacts):
    """(message id, signed body, headers) of `count` customer messages, made before the clock starts."""
    made = []
    for n in range(count):
        phone = f"1555{n % contacts:07d}"
        message_id = f"wamid.BENCH{n:09d}"
        value = {"contacts": [{"profile": {"name": f"Customer {n % contacts}"}, "wa_id": phone}],
                 "messages": [{"from": phone, "id": message_id, "timestamp": str(int(time.time())),
                               "type": "text", "text": {"body": f"Question number {n} about my order"}}]}
        made.append((message_id, *signed(fake, fake.state.envelope(value))))
    return made


class SendCounter:
    """The fake's count of what the business sent, every 50 ms, in a thread."""

    def __init__(self, fake):
        self.fake, self.samples, self.running = fake, [], True
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while self.running:
            self.samples.append((time.monotonic(), len(self.fake.state.sent)))
            time.sleep(0.05)

    def stop(self):
        self.running = False
        self.thread.join()

    def busiest_second(self):
        best, start = 0, 0
        for end in range(len(self.samples)):
            while self.samples[end][0] - self.samples[start][0] > 1.0:
                start += 1
            best = max(best, self.samples[end][1] - self.samples[start][1])
        return best

    def overall_rate(self):
        moving = [(at, count) for at, count in self.samples if count > 0]
        if len(moving) < 2 or moving[-1][1] == moving[0][1]:
            return 0.0
        last = next(sample for sample in moving if sample[1] == moving[-1][1])
        return (last[1] - moving[0][1]) / max(last[0] - moving[0][0], 1e-9)


def send_all(servers, made, rate):
    """POST each webhook at its time on the schedule (5% twice), each sender to one of the
    servers in turn (as a load balancer would); the answers' times and statuses."""
    urls = [server.url + "/channels/whatsapp/webhook" for server in servers]
    schedule = queue.Queue()
    start = time.monotonic() + 0.5
    redelivered = set(range(0, len(made), int(1 / REDELIVERED)))
    for n, item in enumerate(made):
        schedule.put((start + n / rate, item))
        if n in redelivered:
            schedule.put((start + n / rate + 0.25, item))
    times, statuses, late = [], {}, []
    lock = threading.Lock()

    def sender(url):
        http = requests.Session()
        while True:
            try:
                at, (_, body, headers) = schedule.get_nowait()
            except queue.Empty:
                return
            wait = at - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            sent = time.monotonic()
            try:
                status = http.post(url, data=body, headers=headers, timeout=30).status_code
            except requests.RequestException as error:
                status = type(error).__name__
            answered = time.monotonic()
            with lock:
                times.append(answered - sent)
                late.append(max(0.0, sent - at))
                statuses[status] = statuses.get(status, 0) + 1

    threads = [threading.Thread(target=sender, args=(urls[n % len(urls)],)) for n in range(SENDERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return times, statuses, late, time.monotonic() - start      # from the first POST's time to the last answer


def stored_once(server, message_ids, timeout=300):
    """(stored, distinct sent, seconds until all were) of the customers' messages, waiting for
    the server to handle what it kept."""
    engine = create_engine(server.env["DATABASE_URL"])
    began, found = time.monotonic(), 0
    while time.monotonic() - began < timeout:
        with engine.connect() as connection:
            found = connection.execute(text(
                "SELECT count(*) FROM message WHERE sender_type = 'visitor' AND client_id LIKE 'wamid.BENCH%'")).scalar()
            doubled = connection.execute(text(
                "SELECT count(*) FROM (SELECT client_id FROM message WHERE client_id LIKE 'wamid.BENCH%' "
                "GROUP BY client_id HAVING count(*) > 1) AS twice")).scalar()
        if found >= len(message_ids):
            break
        time.sleep(0.2)
    engine.dispose()
    return found, doubled, time.monotonic() - began


def ms(values, fraction):
    return f"{load.percentile([value * 1000 for value in values], fraction):.0f}"


def run(database, args):
    fake = FakeWhatsApp()
    with tempfile.TemporaryDirectory() as workdir:
        servers = start_servers(Path(workdir), database, fake, args.processes)
        server = servers[0]
        try:
            made = webhooks(fake, int(args.rate * args.seconds), args.contacts)
            counter = SendCounter(fake)
            with Window(*servers) as window:
                times, statuses, late, took = send_all(servers, made, args.rate)
                found, doubled, waited = stored_once(server, [item[0] for item in made])
            drained = time.monotonic() + 60
            while time.monotonic() < drained and len(fake.state.sent) < min(args.contacts, len(made)):
                time.sleep(0.2)
            counter.stop()
            over_second = sum(1 for value in times if value > 1.0) / len(times) * 100
            print(f"| {database}, {args.processes} process{'es' if args.processes > 1 else ''} | {len(made):,} + {len(times) - len(made):,} redelivered in {took:.1f} s "
                  f"({len(times) / took:.0f}/s) | {statistics.median(times) * 1000:.0f} / {ms(times, 0.95)} / "
                  f"{ms(times, 0.99)} / {max(times) * 1000:.0f} | {over_second:.2f}% "
                  f"| {' '.join(f'{key}: {count}' for key, count in sorted(statuses.items(), key=str))} "
                  f"| {found:,} of {len(made):,}, {doubled} doubled ({waited:.1f} s after the last) "
                  f"| {len(fake.state.sent):,}; busiest second {counter.busiest_second()}, "
                  f"overall {counter.overall_rate():.0f}/s (limit {SENDS_PER_SECOND}) "
                  f"| {window.stalls} ({window.worst}) | {window.held} ({window.most_held}) "
                  f"| {window.cpu:.1f} | {ms(late, 0.95)} |")
            if window.errors:
                print("  errors: " + "; ".join(f"{key} x{count}" for key, count in window.errors.items()),
                      file=sys.stderr)
            sys.stdout.flush()
        finally:
            for each in servers:
                each.stop()
            fake.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=500, help="inbound webhooks a second")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--contacts", type=int, default=1000, help="distinct phones writing")
    parser.add_argument("--databases", default="sqlite")
    parser.add_argument("--processes", type=int, default=1, help="serving processes (the second on CPU 1)")
    args = parser.parse_args()
    print(f"\n| database | webhooks | answer ms p50 / p95 / p99 / max | over 1 s | HTTP statuses | customer messages "
          f"stored | sent to phones | loop stalls >= {load.STALL_MS} ms (worst ms) | held by the loop's work "
          f"(most CPU ms) | server CPU s | senders behind schedule p95 ms |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for database in args.databases.split(","):
        run(database, args)


if __name__ == "__main__":
    main()
