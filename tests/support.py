"""Helpers for tests against a live server: start it, log in, record socket events."""
import os
import re
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import requests
import socketio

ROOT = Path(__file__).resolve().parent.parent
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
        # Many tests share one server and one IP: rate limits are tested on a server of their own.
        "LOGIN_LIMIT_PER_IP": "10000 per minute",
        "LOGIN_LIMIT_PER_ACCOUNT": "10000 per minute",
        "START_LIMIT_PER_IP": "10000 per minute",
        "MESSAGE_LIMIT_PER_SOCKET": "10000 per second",
        "MESSAGE_LIMIT_PER_SESSION": "10000 per second",
        "TYPING_LIMIT_PER_SOCKET": "10000 per second",
        "TYPING_LIMIT_PER_SESSION": "10000 per second",
        "PUBLIC_API_LIMIT_PER_IP": "100000 per second",
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


class LiveServer:
    """`python wsgi.py` (eventlet) in a subprocess on a free local port."""

    def __init__(self, workdir, env=None, port=None):
        self.workdir = Path(workdir)
        self.env = env or server_environment(workdir)
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = None
        self.log_path = self.workdir / f"server-{self.port}.log"

    def prepare_database(self):
        for args in (("db", "upgrade"), ("chat", "seed-demo"),
                     ("chat", "create-agent", "--email", "second@example.com", "--name", "Second Agent",
                      "--password", "second-password")):
            result = flask_cli(self.env, *args)
            assert result.returncode == 0, result.stderr + result.stdout

    def start(self):
        env = dict(self.env, PORT=str(self.port), HOST="127.0.0.1")
        if self.process is not None:
            self.stop()
        self.log = open(self.log_path, "ab")
        self.process = subprocess.Popen([sys.executable, "wsgi.py"], cwd=ROOT, env=env,
                                        stdout=self.log, stderr=subprocess.STDOUT)
        wait_until(self.is_up, timeout=20, message=f"server on {self.url}")
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


def start_chat(server, **fields):
    body = {"site_key": "demo", **fields}
    response = requests.post(server.api("/start"), json=body, timeout=5)
    assert response.status_code == 201, response.text
    return response.json()


def stored_messages(server, chat):
    """Every message of a chat through the REST polling endpoint, page after page."""
    messages = []
    while True:
        after = messages[-1]["seq"] if messages else 0
        page = requests.get(server.api(f"/messages/{chat['session_id']}?after={after}"), timeout=5,
                            headers={"X-Session-Key": chat["session_key"]}).json()
        messages += page["messages"]
        if not page["has_more"]:
            return messages


def submit_login(server, http, email, password):
    """Fill in and post the real login form (CSRF token and all); the response."""
    page = http.get(server.url + "/login", timeout=5).text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    # A browser sends the page as Referer; over HTTPS, Flask-WTF requires it to match the host.
    return http.post(server.url + "/login", allow_redirects=False, timeout=5,
                     headers={"Referer": server.url + "/login"},
                     data={"email": email, "password": password, "csrf_token": token})


def login(server, email="demo@example.com", password="demo-password", http=None):
    """A requests session (a new one unless given) logged in through the real form."""
    http = http or requests.Session()
    response = submit_login(server, http, email, password)
    assert response.status_code == 302, response.text
    return http


class RecordingClient:
    """A real python-socketio client that keeps every event it receives."""

    def __init__(self, namespace, http=None):
        self.namespace = namespace
        # A logged-in requests session carries the login cookie on every request.
        self.client = socketio.Client(reconnection=False, http_session=http)
        self.events = []
        self.changed = threading.Condition()
        self.client.on("*", self._record, namespace=namespace)

    def _record(self, event, *args):
        with self.changed:
            self.events.append((event, args[0] if args else None))
            self.changed.notify_all()

    def connect(self, server, auth=None, headers=None, transports=None):
        self.client.connect(server.url, namespaces=[self.namespace], auth=auth, headers=headers or {},
                            transports=transports, wait_timeout=WAIT_SECONDS)
        return self

    def call(self, event, data):
        return self.client.call(event, data, namespace=self.namespace, timeout=WAIT_SECONDS)

    def emit(self, event, data):
        self.client.emit(event, data, namespace=self.namespace)

    def received(self, event):
        with self.changed:
            return [data for name, data in self.events if name == event]

    def wait_for(self, event, predicate=lambda data: True, timeout=WAIT_SECONDS):
        """The first `event` whose payload satisfies `predicate`, waiting if needed."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                for name, data in self.events:
                    if name == event and predicate(data):
                        return data
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"no {event!r} matching on {self.namespace}; got {self.events[-10:]}")
                self.changed.wait(remaining)

    def messages(self):
        return [data for name, data in self.events if name == "message"]

    def disconnect(self):
        self.client.disconnect()


def connect_visitor(server, chat, last_seq=0, headers=None):
    auth = {"session_id": chat["session_id"], "session_key": chat["session_key"], "last_seq": last_seq}
    return RecordingClient("/visitor").connect(server, auth=auth, headers=headers)


def connect_agent(server, http, origin=None):
    """An agent's dashboard socket; the WebSocket handshake sends the server's own
    Origin unless another is given (a page on a foreign site)."""
    headers = {"Origin": origin} if origin else {}
    return RecordingClient("/agent", http).connect(server, headers=headers)


class Participant:
    """One side of a conversation that behaves like the product's clients: it
    reconnects with backoff, asks for `seq > last_seq` on every connect, fills
    gaps with `sync`, and resends unacknowledged messages with the same client_id."""

    def __init__(self, server, namespace, session_id, auth=None, http=None, transports=None):
        self.server, self.namespace, self.session_id = server, namespace, session_id
        self.base_auth, self.transports = auth, transports
        self.client = socketio.Client(reconnection=True, reconnection_delay=0.2, http_session=http,
                                      reconnection_delay_max=1, randomization_factor=0.5)
        self.log = {}                     # seq -> message
        self.outbox = {}                  # client_id -> payload
        self.lock = threading.Condition()
        self.client.on("connect", self._on_connect, namespace=namespace)
        self.client.on("message", self._on_message, namespace=namespace)

    @property
    def last_seq(self):
        with self.lock:
            seq = 0
            while seq + 1 in self.log:
                seq += 1
            return seq

    def _auth(self):
        return dict(self.base_auth, last_seq=self.last_seq) if self.base_auth is not None else None

    def connect(self):
        self.client.connect(self.server.url, namespaces=[self.namespace],
                            auth=self._auth if self.base_auth is not None else None,
                            transports=self.transports, wait_timeout=WAIT_SECONDS)
        return self

    def _on_connect(self):
        threading.Thread(target=self._after_connect, daemon=True).start()

    def _after_connect(self):
        try:
            if self.namespace == "/agent":
                self.client.call("join_session", {"session_id": self.session_id, "last_seq": self.last_seq},
                                 namespace=self.namespace, timeout=WAIT_SECONDS)
            self._sync()                    # the replay is one page: fetch the rest
            for payload in list(self.outbox.values()):
                self._deliver(payload)
        except Exception:  # the connection dropped again; the next connect retries
            pass

    def _on_message(self, message):
        self._accept_all([message])

    def _accept_all(self, messages):
        with self.lock:
            for message in messages or []:
                self.log[message["seq"]] = message
                self.outbox.pop(message.get("client_id"), None)
            gap = self.log and max(self.log) > len(self.log)
            self.lock.notify_all()
        if gap:
            threading.Thread(target=self._sync, daemon=True).start()

    def _sync(self):
        """Fetch what is missing, page after page while the server says there is more."""
        try:
            while True:
                reply = self.client.call("sync", {"session_id": self.session_id, "after_seq": self.last_seq},
                                         namespace=self.namespace, timeout=WAIT_SECONDS)
                self._accept_all(reply.get("messages"))
                if not reply.get("has_more"):
                    return
        except Exception:
            pass

    def say(self, text, client_id):
        """Queue a message and send it now if connected; it is resent until acknowledged."""
        payload = {"session_id": self.session_id, "text": text, "client_id": client_id}
        self.outbox[client_id] = payload
        if self.client.connected:
            self._deliver(payload)

    def _deliver(self, payload):
        try:
            reply = self.client.call("send_message", payload, namespace=self.namespace, timeout=2)
        except Exception:
            return                                  # stays in the outbox
        if reply.get("ok"):
            self._accept_all([reply["message"]])

    def wait_for_texts(self, texts, timeout=30):
        """Wait until every one of `texts` is shown; return all shown texts in seq order."""
        def holds():
            with self.lock:
                shown = [self.log[seq]["text"] for seq in sorted(self.log)]
            return shown if set(texts) <= set(shown) else None
        return wait_until(holds, timeout=timeout, message=f"{self.namespace} to show {texts}")

    def disconnect(self):
        self.client.disconnect()


class DelayingProxy:
    """A TCP proxy on a local port that holds every chunk for `delay` seconds before
    passing it on: a Redis on the far side of a slow network, for the server processes."""

    def __init__(self, target_host, target_port, delay):
        self.target, self.delay = (target_host, target_port), delay
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.sockets = [self.listener]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return                                  # closed
            upstream = socket.create_connection(self.target)
            self.sockets += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source, sink):
        try:
            while chunk := source.recv(65536):
                time.sleep(self.delay)                  # the network's latency, not a wait for a condition
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                try:
                    end.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self):
        for sock in self.sockets:
            sock.close()


def add_site_and_agent(server, site_key, email, password):
    """A second site, and a plain agent who answers only that site, in the server's database."""
    code = ("import sys\nfrom chat import create_app\nfrom chat.cli import save_agent\n"
            "from chat.extensions import db\nfrom chat.models import Site\n"
            "with create_app().app_context():\n"
            "    site = Site(key=sys.argv[1], name=sys.argv[1], allowed_origins='https://' + sys.argv[1] + '.example')\n"
            "    db.session.add(site)\n"
            "    save_agent(sys.argv[2], 'Agent of ' + sys.argv[1], 'agent', sys.argv[3], sites=[site])\n")
    subprocess.run([sys.executable, "-c", code, site_key, email, password],
                   cwd=ROOT, env=server.env, check=True, timeout=60)


def store_message_unannounced(server, session_id, text, sender_type="agent"):
    """Store a message from a process with no message queue: it is in the database, but no
    connected client hears of it, as when an overloaded queue drops the event."""
    code = ("import sys\nfrom chat import create_app, message_store\n"
            "with create_app().app_context():\n"
            "    message_store.store_one(dict(session_id=sys.argv[1], sender_type=sys.argv[2], text=sys.argv[3],\n"
            "                                 client_id=sys.argv[4], sender_name='Sam'), lambda pending: None)\n")
    env = {name: value for name, value in server.env.items() if name != "SOCKETIO_MESSAGE_QUEUE"}
    subprocess.run([sys.executable, "-c", code, session_id, sender_type, text, uuid.uuid4().hex],
                   cwd=ROOT, env=env, check=True, timeout=60)
