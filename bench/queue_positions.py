"""What telling waiting visitors their place in line costs, in-process (no sockets): one change
of a site's line (`queue.tell_positions`, what a claim or a waiting chat's end triggers), and one
visitor's place (`queue.position_payload`, what a connect or a REST poll of a queued chat
costs), with lines of different lengths. Emits are counted, not sent.

    .venv/bin/python bench/queue_positions.py [--database-url URL]

It prints a table; it asserts nothing.
"""
import argparse
import os
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def timed(function, repeat):
    start = time.perf_counter()
    for _ in range(repeat):
        function()
    return (time.perf_counter() - start) / repeat * 1000


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="default: a SQLite file in a temporary directory")
    args = parser.parse_args()
    workdir = tempfile.mkdtemp()
    url = args.database_url or f"sqlite:///{workdir}/bench.db"
    os.environ.update(CHAT_ENV="testing", SECRET_KEY="bench", DATABASE_URL=url, INSTANCE_PATH=workdir)
    from flask_migrate import upgrade

    from chat import create_app, queue
    from chat.extensions import db, socketio
    from chat.models import Agent, ChatSession, Site, Visitor, utcnow

    emits = []
    socketio.emit = lambda *args, **kwargs: emits.append(args)
    app = create_app()
    with app.app_context():
        upgrade()
        agent = Agent(email="bench@example.com", display_name="Bench", password_hash="-")
        db.session.add(agent)
        db.session.commit()
        print(f"database: {db.engine.dialect.name}")
        print(f"{'waiting':>8}  {'line change ms':>14}  {'emits':>5}  {'one place ms':>12}")
        for length in (10, 50, 1_000, 10_000):
            site = Site(key=f"bench-{length}", name="Bench")
            db.session.add(site)
            db.session.flush()
            now = utcnow()
            for n in range(20):                 # recent claims: the wait estimate has data
                db.session.add(ChatSession(site_id=site.id, visitor=Visitor(site_id=site.id), status="ended",
                                           agent_id=agent.id, key_hash="-", queued_at=now - timedelta(minutes=30),
                                           claimed_at=now - timedelta(minutes=30 - n % 5), expires_at=now))
            waiting = [ChatSession(site_id=site.id, visitor=Visitor(site_id=site.id), status="waiting", key_hash="-",
                                   queued_at=now - timedelta(seconds=length - n), expires_at=now)
                       for n in range(length)]
            db.session.add_all(waiting)
            db.session.commit()
            last = waiting[-1]
            emits.clear()
            change = timed(lambda: queue.tell_positions(site.id), 20)
            per_change = len(emits) // 20
            place = timed(lambda: queue.position_payload(last), 50)
            print(f"{length:>8,}  {change:>14.2f}  {per_change:>5}  {place:>12.2f}")


if __name__ == "__main__":
    main()
