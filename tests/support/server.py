"""A live server for tests: `wsgi.py` in a subprocess on a fresh database, and the
`flask` CLI against that database."""
import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
WAIT_SECONDS = 10


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


CREATED_DATABASES = []


def fresh_database_url(workdir):
    """A new, empty database: a SQLite file in `workdir`, or, when TEST_DATABASE_URL
    names a PostgreSQL server, a new database on it (dropped at the end of the run)."""
    server_url = os.environ.get("TEST_DATABASE_URL")
    if not server_url:
        return f"sqlite:///{workdir}/chat.db"
    import psycopg
    name = f"chat_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    CREATED_DATABASES.append(name)
    return server_url.rsplit("/", 1)[0] + "/" + name


def drop_created_databases():
    server_url = os.environ.get("TEST_DATABASE_URL")
    if not server_url or not CREATED_DATABASES:
        return
    import psycopg
    with psycopg.connect(server_url, autocommit=True) as connection:
        for name in CREATED_DATABASES:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def server_environment(workdir, extra=None):
    env = dict(os.environ)
    env.update({
        "CHAT_ENV": "testing",
        "SECRET_KEY": "test-secret-key",
        "DATABASE_URL": fresh_database_url(workdir),
        "INSTANCE_PATH": str(workdir),
        "PYTHONUNBUFFERED": "1",
        # bin/test runs the SQLite and PostgreSQL suites at once on one Redis: each run's
        # servers talk on a channel of their own.
        "SOCKETIO_CHANNEL": f"chat-tests-{os.getpid()}",
        # Many tests share one server and one IP: rate limits are tested on a server of their own.
        "LOGIN_LIMIT_PER_IP": "10000 per minute",
        "LOGIN_LIMIT_PER_ACCOUNT": "10000 per minute",
        "START_LIMIT_PER_IP": "10000 per minute",
        "MESSAGE_LIMIT_PER_SOCKET": "10000 per second",
        "MESSAGE_LIMIT_PER_SESSION": "10000 per second",
        "TYPING_LIMIT_PER_SOCKET": "10000 per second",
        "TYPING_LIMIT_PER_SESSION": "10000 per second",
        "PUBLIC_API_LIMIT_PER_IP": "100000 per second",
        "UPLOAD_LIMIT_PER_IP": "100000 per second",
        "READ_LIMIT_PER_SESSION": "10000 per second",
        "HEARTBEAT_LIMIT_PER_SOCKET": "10000 per second",
        "KEY_FAILURE_LIMIT_PER_IP": "10000 per second",
        "MAX_OPEN_SESSIONS_PER_IP": "100000",
    })
    env.pop("SOCKETIO_ASYNC_MODE", None)
    env.update(extra or {})
    return env


def flask_cli(env, *args, input_text=None):
    """Run `flask --app app ...` the way a maintainer would; returns the result."""
    return subprocess.run([sys.executable, "-m", "flask", "--app", "app", *args], cwd=ROOT, env=env,
                          input=input_text, capture_output=True, text=True, timeout=60)


def wait_until(condition, timeout=WAIT_SECONDS, message="condition"):
    """Poll `condition` until it returns something truthy; fail after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {message}")
        time.sleep(0.02)


FOR_SHARED_TESTS = (
    "from chat import create_app\nfrom chat.extensions import db\nfrom chat.models import Agent, Site\n"
    "with create_app().app_context():\n"
    "    db.session.execute(db.update(Agent).values(max_chats=100000))\n"
    "    db.session.execute(db.update(Site).values(bot_enabled=False))\n"
    "    db.session.commit()\n")


PREPARED = {}      # (seeded, settings) -> a prepared SQLite file or PostgreSQL database to copy
PREPARED_URLS = set()


def sqlite_path(url):
    return Path(url[len("sqlite:///"):]) if url.startswith("sqlite:///") else None


def copy_sqlite(source, target):
    """A whole copy through SQLite's backup (what is still in the source's WAL included)."""
    with sqlite3.connect(source) as reading, sqlite3.connect(target) as writing:
        reading.backup(writing)
    reading.close()
    writing.close()


def keep_as_template(url):
    """A copy of a prepared database, to copy again for the next test prepared the same way."""
    path = sqlite_path(url)
    if path is not None:
        template = Path(tempfile.mkdtemp(prefix="prepared-database-")) / "chat.db"
        copy_sqlite(path, template)
        return str(template)
    name = url.rsplit("/", 1)[1]
    template = f"{name}_template"
    postgres_admin(f'CREATE DATABASE "{template}" TEMPLATE "{name}"')
    CREATED_DATABASES.append(template)
    return template


def copy_database(template, url):
    path = sqlite_path(url)
    if path is not None:
        copy_sqlite(template, path)
        return
    name = url.rsplit("/", 1)[1]
    postgres_admin(f'DROP DATABASE "{name}"', f'CREATE DATABASE "{name}" TEMPLATE "{template}"')


def postgres_admin(*statements):
    import psycopg
    with psycopg.connect(os.environ["TEST_DATABASE_URL"], autocommit=True) as connection:
        for statement in statements:
            connection.execute(statement)


class LiveServer:
    """`python wsgi.py` (eventlet) in a subprocess on a free local port."""

    def __init__(self, workdir, env=None, port=None):
        self.workdir = Path(workdir)
        self.env = env or server_environment(workdir)
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = None
        self.log_path = self.workdir / f"server-{self.port}.log"

    def prepare_database(self, as_seeded=False):
        """Migrate and seed the server's database. A database is prepared once per run for each
        way of preparing it (seeded as a new install or for the shared tests, under the same
        settings) and copied after that (SQLite's backup, PostgreSQL's CREATE DATABASE ... TEMPLATE):
        four `flask` commands were 8-12 s of every test that starts a server of its own."""
        url = self.env["DATABASE_URL"]
        key = (as_seeded, tuple(sorted((name, value) for name, value in self.env.items()
                                       if name != "DATABASE_URL" and str(self.workdir) not in value)))
        path = sqlite_path(url)
        fresh = not path.exists() if path is not None else url not in PREPARED_URLS
        PREPARED_URLS.add(url)
        if key in PREPARED and fresh:
            copy_database(PREPARED[key], url)
            return
        self._prepare(as_seeded)
        if key not in PREPARED:
            PREPARED[key] = keep_as_template(url)

    def _prepare(self, as_seeded):
        for args in (("db", "upgrade"), ("chat", "seed-demo"),
                     ("chat", "create-agent", "--email", "second@example.com", "--name", "Second Agent",
                      "--password", "second-password")):
            result = flask_cli(self.env, *args)
            assert result.returncode == 0, result.stderr + result.stdout
        # Many tests share these agents and leave chats open: capacity is tested with agents of its
        # own. Their chats wait for agents: the bot is tested on a server with the demo as seeded.
        if not as_seeded:
            subprocess.run([sys.executable, "-c", FOR_SHARED_TESTS], cwd=ROOT, env=self.env, check=True, timeout=60)

    def start(self):
        env = dict(self.env, PORT=str(self.port), HOST="127.0.0.1")
        if self.process is not None:
            self.stop()
        self.log = open(self.log_path, "ab")
        self.process = subprocess.Popen([sys.executable, "wsgi.py"], cwd=ROOT, env=env,
                                        stdout=self.log, stderr=subprocess.STDOUT)
        try:
            # Generous: a loaded 2-core machine can take long to start Python and eventlet.
            wait_until(self.is_up, timeout=60, message=f"server on {self.url}")
        except BaseException:
            self.stop(kill=True)        # a server that never came up leaves no process or open log behind
            raise
        return self

    def is_up(self):
        if self.process.poll() is not None:
            raise AssertionError(f"server exited: {self.log_path.read_text()[-2000:]}")
        try:
            return requests.get(self.url + "/login", timeout=1).status_code == 200
        except requests.ConnectionError:
            return False

    def stop(self, kill=False):
        if self.process and self.process.poll() is None:
            self.process.kill() if kill else self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        if self.process and not self.log.closed:
            self.log.close()

    def api(self, path):
        return f"{self.url}/api/v1/chat/public{path}"

def redis_url():
    """TEST_REDIS_URL, or the test is skipped saying why."""
    import pytest       # here: the development server imports the fake providers from tests/support
    url = os.environ.get("TEST_REDIS_URL")
    if not url:
        pytest.skip("TEST_REDIS_URL is not set (CI sets it to the local Redis)")
    host, port = url.split("//")[1].split("/")[0].split(":")
    try:
        socket.create_connection((host, int(port)), timeout=1).close()
    except OSError:
        pytest.skip(f"Redis at {url} is not reachable")
    return url


def start_two_servers(tmp_path, queue_url, **settings):
    """Processes A and B on different ports, one database, `queue_url` as their message queue."""
    env = server_environment(tmp_path, {"SOCKETIO_MESSAGE_QUEUE": queue_url, "RATELIMIT_STORAGE_URI": redis_url(),
                                        "JOBS_INTERVAL_SECONDS": "1", **settings})
    first = LiveServer(tmp_path, env=env)
    first.prepare_database()
    second = LiveServer(tmp_path, env=env)
    return [first.start(), second.start()]
