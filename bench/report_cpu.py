"""The database's CPU for one whole report, run in-process against a server's database (the
page's own CPU column misses PostgreSQL's, which works in another process).

  python bench/report_cpu.py FIRST LAST  -> prints "wall_ms cpu_ms", the best of 3 runs; CPU is
  this process's for SQLite, the PostgreSQL backend's (from /proc, same machine) for PostgreSQL
"""
import os
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from sqlalchemy import text  # noqa: E402

from chat import create_app, reports  # noqa: E402
from chat.extensions import db  # noqa: E402


def cpu_seconds(backend):
    if backend is None:
        return time.process_time()
    fields = Path(f"/proc/{backend}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


if __name__ == "__main__":
    first, last = (date.fromisoformat(day) for day in sys.argv[1:3])
    with create_app().app_context():
        backend = (db.session.execute(text("SELECT pg_backend_pid()")).scalar()
                   if db.engine.dialect.name == "postgresql" else None)
        runs = []
        for _ in range(3):
            started, cpu = time.perf_counter(), cpu_seconds(backend)
            reports.report(first, last)
            runs.append(((time.perf_counter() - started) * 1000, (cpu_seconds(backend) - cpu) * 1000))
        print("%.0f %.0f" % min(runs, key=lambda run: run[1]))
