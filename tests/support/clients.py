"""Socket.IO clients for tests: one that records every event, and one that behaves
like the product's own clients (reconnects, syncs, resends)."""
import threading
import time

import socketio

from tests.support.server import WAIT_SECONDS, wait_until


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
        self.covered = 0                  # every seq up to here arrived or is not for this side
        self.outbox = {}                  # client_id -> payload
        self.lock = threading.Condition()
        self.client.on("connect", self._on_connect, namespace=namespace)
        self.client.on("message", self._on_message, namespace=namespace)

    @property
    def last_seq(self):
        with self.lock:
            seq = 0
            while seq + 1 in self.log or seq + 1 <= self.covered:
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

    def _accept_all(self, messages, through_seq=0):
        with self.lock:
            for message in messages or []:
                self.log[message["seq"]] = message
                self.outbox.pop(message.get("client_id"), None)
            self.covered = max(self.covered, through_seq or 0)   # the seqs between are the team's notes
            self.lock.notify_all()
        gap = self.log and max(self.log) > self.last_seq
        if gap:
            threading.Thread(target=self._sync, daemon=True).start()

    def _sync(self):
        """Fetch what is missing, page after page while the server says there is more."""
        try:
            while True:
                reply = self.client.call("sync", {"session_id": self.session_id, "after_seq": self.last_seq},
                                         namespace=self.namespace, timeout=WAIT_SECONDS)
                self._accept_all(reply.get("messages"), reply.get("through_seq"))
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
