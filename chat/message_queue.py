"""The Redis message queue that carries Socket.IO events between server processes.

python-socketio's RedisManager, with two changes that matter under load (measured in
docs/benchmarks.md):

- Its connections come from a pool that waits for a free connection. redis-py's default
  pool raises "Too many connections" past 100 at once, and the stock manager then drops
  the event: under eventlet, hundreds of handlers publishing together lost most events.
- In a serving process, one background task publishes: a handler queues its event and
  goes on, and the task sends whatever has queued up since its last round trip in one
  pipeline, in order. Processes that never serve (`flask` commands) publish at once, so
  nothing is left queued when they exit.

It also carries one message of its own: "disconnect every member of this room", so that a
logout or a disabled agent closes the agent's sockets in every process at once.

Events that Redis still fails to carry are logged; clients repair missed messages with
their gap check and periodic sync (docs/protocol.md, "Delivery contract").
"""
import logging

import redis
import socketio

log = logging.getLogger(__name__)

MAX_EVENTS_PER_ROUND_TRIP = 500
_clients = {}


def waiting_pool(url, max_connections, **options):
    """A connection pool that waits up to 10 s for a free connection instead of failing."""
    return redis.BlockingConnectionPool.from_url(url, max_connections=max_connections, timeout=10, **options)


def shared_redis(url):
    """This process's client for short commands (presence, health checks), one per URL."""
    if url not in _clients:
        _clients[url] = redis.Redis(connection_pool=waiting_pool(url, 20, socket_timeout=2))
    return _clients[url]


def disconnect_members(server, namespace, room):
    """Disconnect this process's sockets in `room`."""
    for sid, _eio_sid in list(server.manager.get_participants(namespace, room)):
        server.disconnect(sid, namespace=namespace, ignore_queue=True)


class PipelinedRedisManager(socketio.RedisManager):
    def __init__(self, url, channel, max_connections=50):
        super().__init__(url, channel=channel)
        self.max_connections = max_connections
        self.outbox = None

    def _redis_connect(self):
        self.redis = redis.Redis(connection_pool=waiting_pool(self.redis_url, self.max_connections))
        self.pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
        self.connected = True

    def initialize(self):
        super().initialize()
        if not self.write_only:
            self.outbox = self.server.eio.create_queue()
            self.queue_empty = self.server.eio.get_queue_empty_exception()
            self.server.start_background_task(self._publish_queued)

    def disconnect_room(self, room, namespace):
        """Disconnect every member of `room` in every process. It travels as a `close_room`
        message with a flag (a process without this class just closes the room)."""
        message = {"method": "close_room", "room": room, "namespace": namespace, "disconnect": True,
                   "host_id": self.host_id}
        self._handle_close_room(message)
        self._publish(message)

    def _handle_close_room(self, message):
        if message.get("disconnect"):
            disconnect_members(self.server, message.get("namespace"), message.get("room"))
        else:
            super()._handle_close_room(message)

    def _publish(self, data):
        if self.outbox is None:
            return self._publish_batch([data])
        self.outbox.put(data)

    def _publish_queued(self):
        while True:
            batch = [self.outbox.get()]
            while len(batch) < MAX_EVENTS_PER_ROUND_TRIP:
                try:
                    batch.append(self.outbox.get_nowait())
                except self.queue_empty:
                    break
            self._publish_batch(batch)

    def _publish_batch(self, batch):
        for attempt in (1, 2):
            try:
                if not self.connected:
                    self._redis_connect()
                pipe = self.redis.pipeline(transaction=False)
                for data in batch:
                    pipe.publish(self.channel, self.json.dumps(data))
                pipe.execute()
                return
            except Exception as error:
                self.connected = False
                if attempt == 2:
                    log.error("message queue: %d events not published to Redis: %s", len(batch), error)
