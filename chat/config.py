"""Settings read from environment variables, with safe defaults."""
import os
import secrets
from datetime import timedelta
from pathlib import Path

from limits import parse

ASYNC_MODES = ("eventlet", "gevent", "threading")


def _int(name, default):
    return int(os.environ.get(name, default))


def _int_between(name, default, low, high):
    """An integer setting that must lie in [low, high]; anything else stops start-up."""
    raw = os.environ.get(name, str(default))
    try:
        value = int(raw)
    except ValueError:
        value = None
    if value is None or not low <= value <= high:
        raise RuntimeError(f"{name} must be a whole number from {low} to {high}, not {raw!r}")
    return value


def _rate(name, default):
    """A rate limit such as "60 per minute", checked at startup rather than at the first request."""
    value = os.environ.get(name, default)
    try:
        parse(value)
    except ValueError:
        raise RuntimeError(f"{name} must be a rate such as '60 per minute', not {value!r}") from None
    return value


def _dev_secret_key(instance_path):
    """A random key kept in instance/ so development logins survive restarts."""
    path = Path(instance_path) / "dev-secret-key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
    return path.read_text().strip()


def database_url(url):
    """postgresql:// (and Heroku-style postgres://) URLs use psycopg 3."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def engine_options(database):
    """PostgreSQL: every event in flight holds a connection from its first query to its
    commit, so the pool is sized for bursts (5 connections queued them for ~100 ms at 500
    messages/s). No ping per checkout (a round trip per event): a connection the server
    dropped fails once, is discarded with the rest of the pool, and socket events retry."""
    if database.startswith("sqlite"):
        # Kept open, not opened and tuned (chat/extensions.py) per burst: SQLAlchemy's default
        # of 5 (and 10 opened for a moment beyond) was too few for a burst of webhooks.
        return {"pool_size": 20, "max_overflow": 10}
    return {"pool_size": _int("DATABASE_POOL_SIZE", 30), "max_overflow": _int("DATABASE_MAX_OVERFLOW", 10),
            "pool_timeout": 10, "pool_recycle": 1800}


def load_settings(instance_path):
    """Build the Flask config mapping from the environment."""
    env = os.environ.get("CHAT_ENV", "production")
    if env not in ("production", "development", "testing"):
        raise RuntimeError(f"CHAT_ENV must be production, development or testing, not {env!r}")
    secret_key = os.environ.get("SECRET_KEY")
    if not secret_key:
        if env == "production":
            raise RuntimeError(
                "SECRET_KEY is not set. Set it to a long random string "
                "(python -c 'import secrets; print(secrets.token_hex(32))'), "
                "or set CHAT_ENV=development on a developer machine."
            )
        secret_key = _dev_secret_key(instance_path)
    async_mode = os.environ.get("SOCKETIO_ASYNC_MODE", "threading")
    if async_mode not in ASYNC_MODES:
        raise RuntimeError(f"SOCKETIO_ASYNC_MODE must be one of {', '.join(ASYNC_MODES)}")
    default_db = "sqlite:///" + str(Path(instance_path) / "chat.db")
    database = database_url(os.environ.get("DATABASE_URL", default_db))
    return {
        "CHAT_ENV": env,
        "SECRET_KEY": secret_key,
        "SQLALCHEMY_DATABASE_URI": database,
        "SOCKETIO_MESSAGE_QUEUE": os.environ.get("SOCKETIO_MESSAGE_QUEUE") or None,
        # The Redis channel the processes of one deployment share; deployments sharing one
        # Redis need a channel each, or each would deliver the other's events.
        "SOCKETIO_CHANNEL": os.environ.get("SOCKETIO_CHANNEL") or "flask-socketio",
        "SOCKETIO_ASYNC_MODE": async_mode,
        # Connections each process may open to the message queue's Redis at once.
        "REDIS_MAX_CONNECTIONS": _int("REDIS_MAX_CONNECTIONS", 50),
        # The app's public origin (scheme://host:port) when served behind a proxy;
        # empty means "the origin the request came to".
        "APP_ORIGIN": os.environ.get("APP_ORIGIN", "").rstrip("/"),
        # How many proxies in front of the app set X-Forwarded-For/-Proto; 0 trusts none, so
        # clients that reach the app directly cannot pick their own address.
        "TRUSTED_PROXIES": _int_between("TRUSTED_PROXIES", 0, 0, 5),
        "MAX_MESSAGE_LENGTH": _int("MAX_MESSAGE_LENGTH", 5000),
        # How often the server pings each socket, and how long it waits for the pong
        # before it counts the client as gone (seconds).
        "SOCKETIO_PING_INTERVAL": _int("SOCKETIO_PING_INTERVAL", 25),
        "SOCKETIO_PING_TIMEOUT": _int("SOCKETIO_PING_TIMEOUT", 20),
        # Engine.IO connections that join no namespace (/visitor, /agent) for this long
        # are closed; a socket that sends this many malformed packets is closed.
        "NAMESPACE_JOIN_TIMEOUT_SECONDS": _int_between("NAMESPACE_JOIN_TIMEOUT_SECONDS", 5, 1, 300),
        "MALFORMED_PACKET_LIMIT": _int_between("MALFORMED_PACKET_LIMIT", 3, 1, 1000),
        # Read by wsgi.py: a request must finish its headers within HEADER_TIMEOUT_SECONDS;
        # one client address may hold MAX_CONNECTIONS_PER_ADDRESS connections (0: no cap;
        # not applied behind a trusted proxy, where the proxy is every client's address).
        "HEADER_TIMEOUT_SECONDS": _int_between("HEADER_TIMEOUT_SECONDS", 10, 1, 300),
        "MAX_CONNECTIONS_PER_ADDRESS": _int_between("MAX_CONNECTIONS_PER_ADDRESS", 100, 0, 1_000_000),
        # Answers written by a model (chat/bot/llm.py), from any OpenAI-compatible server; unset:
        # the bot answers with the best passage of the knowledge base. A model that sends nothing
        # for LLM_STALL_SECONDS, or takes over LLM_TIMEOUT_SECONDS in all, is given up on.
        "LLM_BASE_URL": os.environ.get("LLM_BASE_URL", "").strip(),
        "LLM_MODEL": os.environ.get("LLM_MODEL", "").strip(),
        "LLM_API_KEY": os.environ.get("LLM_API_KEY", "").strip(),
        "LLM_STALL_SECONDS": _int_between("LLM_STALL_SECONDS", 10, 1, 300),
        "LLM_TIMEOUT_SECONDS": _int_between("LLM_TIMEOUT_SECONDS", 60, 1, 600),
        # Model answers one process writes at once; more answer from the articles (a flood of
        # questions costs no more than this many model calls at a time).
        "LLM_MAX_CONCURRENT": _int_between("LLM_MAX_CONCURRENT", 20, 1, 1000),
        # With ATTACHMENT_STORAGE=s3://bucket/prefix (chat/attachment_storage_s3.py): the address
        # of an S3-compatible server other than AWS (MinIO, Ceph, ...), else boto3's own
        # AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL, else AWS itself; and its URL style ("path":
        # http://host/bucket/key, the default with an endpoint; "virtual": http://bucket.host/key).
        "ATTACHMENT_S3_ENDPOINT_URL": (os.environ.get("ATTACHMENT_S3_ENDPOINT_URL", "").strip()
                                       or os.environ.get("AWS_ENDPOINT_URL_S3", "").strip()
                                       or os.environ.get("AWS_ENDPOINT_URL", "").strip() or None),
        "ATTACHMENT_S3_ADDRESSING_STYLE": os.environ.get("ATTACHMENT_S3_ADDRESSING_STYLE", "").strip() or None,
        "SESSION_LIFETIME_HOURS": _int("SESSION_LIFETIME_HOURS", 22),
        "INACTIVITY_MINUTES": _int("INACTIVITY_MINUTES", 30),
        "HEARTBEAT_TIMEOUT_MINUTES": _int("HEARTBEAT_TIMEOUT_MINUTES", 5),
        # An agent with no dashboard connected this long gives its chats back to the queue.
        "AGENT_AWAY_MINUTES": _int_between("AGENT_AWAY_MINUTES", 2, 1, 24 * 60),
        "SCHEDULER_ENABLED": os.environ.get("SCHEDULER_ENABLED", "1") == "1",
        "JOBS_INTERVAL_SECONDS": _int("JOBS_INTERVAL_SECONDS", 60),
        # Channels (chat/channels/): a provider's events are remembered this many days, so a
        # redelivery stores nothing new (WhatsApp redelivers for up to 7); a customer who writes
        # while waiting for an agent is told to wait at most once every WAIT_NOTICE_MINUTES.
        "CHANNEL_EVENT_DAYS": _int_between("CHANNEL_EVENT_DAYS", 8, 1, 365),
        "WAIT_NOTICE_MINUTES": _int_between("WAIT_NOTICE_MINUTES", 3, 0, 24 * 60),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": os.environ.get("SESSION_COOKIE_SECURE", "0") == "1",
        # A login lasts this long after the agent's last request (the cookie and its signature).
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=_int_between("LOGIN_LIFETIME_HOURS", 12, 1, 24 * 31)),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "WTF_CSRF_TIME_LIMIT": None,
        "SQLALCHEMY_ENGINE_OPTIONS": engine_options(database),
        # Rate limits ("N per second|minute|hour"); storage is shared by all
        # processes when it is Redis (e.g. the SOCKETIO_MESSAGE_QUEUE URL).
        "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI", "memory://"),
        "RATELIMIT_HEADERS_ENABLED": True,
        # Keeps the counters of deployments (or test runs) that share one Redis apart.
        "RATELIMIT_KEY_PREFIX": os.environ.get("RATELIMIT_KEY_PREFIX", ""),
        "LOGIN_LIMIT_PER_IP": os.environ.get("LOGIN_LIMIT_PER_IP", "20 per minute"),
        "LOGIN_LIMIT_PER_ACCOUNT": os.environ.get("LOGIN_LIMIT_PER_ACCOUNT", "5 per minute"),
        "START_LIMIT_PER_IP": os.environ.get("START_LIMIT_PER_IP", "10 per minute"),
        "MESSAGE_LIMIT_PER_SOCKET": os.environ.get("MESSAGE_LIMIT_PER_SOCKET", "20 per 10 second"),
        "MESSAGE_LIMIT_PER_SESSION": os.environ.get("MESSAGE_LIMIT_PER_SESSION", "60 per minute"),
        "TYPING_LIMIT_PER_SOCKET": os.environ.get("TYPING_LIMIT_PER_SOCKET", "30 per 10 second"),
        # Typing events of one chat, all its sockets together (visitor and agents counted apart).
        "TYPING_LIMIT_PER_SESSION": _rate("TYPING_LIMIT_PER_SESSION", "30 per 10 second"),
        # Every request to /api/v1/chat/public from one address, all endpoints together.
        "PUBLIC_API_LIMIT_PER_IP": _rate("PUBLIC_API_LIMIT_PER_IP", "300 per minute"),
        # Reads: `sync`, REST message polls and status checks of one chat by its visitor
        # (sockets and REST together), and `sync` per dashboard socket.
        "READ_LIMIT_PER_SESSION": _rate("READ_LIMIT_PER_SESSION", "60 per minute"),
        "HEARTBEAT_LIMIT_PER_SOCKET": _rate("HEARTBEAT_LIMIT_PER_SOCKET", "10 per minute"),
        "MARK_READ_LIMIT_PER_SOCKET": _rate("MARK_READ_LIMIT_PER_SOCKET", "60 per minute"),
        # Wrong session keys (or unknown session ids) from one address before it is refused
        # even with a right key, until the window passes.
        "KEY_FAILURE_LIMIT_PER_IP": _rate("KEY_FAILURE_LIMIT_PER_IP", "20 per minute"),
        "MAX_SOCKETS_PER_SESSION": _int_between("MAX_SOCKETS_PER_SESSION", 10, 1, 1000),
        # Open (bot, waiting, active) chats started from one address.
        "MAX_OPEN_SESSIONS_PER_IP": _int_between("MAX_OPEN_SESSIONS_PER_IP", 20, 1, 100000),
        # One answer with messages (sync, replay on connect, REST poll) holds at most this many
        # messages and about this many bytes of text (always at least one); `has_more` says more follow.
        "MESSAGE_PAGE_SIZE": _int_between("MESSAGE_PAGE_SIZE", 100, 1, 1000),
        "MESSAGE_PAGE_BYTES": _int_between("MESSAGE_PAGE_BYTES", 262144, 1024, 16777216),
        # A heartbeat or poll writes the visitor's last-seen time at most this often per chat
        # and process (below the heartbeat timeout, so the away flag is always cleared).
        "VISITOR_SEEN_WRITE_SECONDS": _int_between("VISITOR_SEEN_WRITE_SECONDS", 15, 0, 60),
        # A browser's visitor token lapses after this many days without use (visitor_identity).
        "VISITOR_TOKEN_DAYS": _int_between("VISITOR_TOKEN_DAYS", 365, 1, 3650),
        # Open conversations one visitor may have at once in the widget (conversations.start).
        "VISITOR_OPEN_CONVERSATIONS": _int_between("VISITOR_OPEN_CONVERSATIONS", 5, 1, 50),
        **attachment_settings(instance_path),
        **channel_settings(),
    }


def channel_settings():
    """WhatsApp and LINE (chat/channels/): how the outbox sends to phones."""
    return {
        # Messages per second one WhatsApp number is sent from each process (Meta's default
        # throughput is 80 per number, inbound and outbound together; with several processes,
        # divide it between them).
        "WHATSAPP_SENDS_PER_SECOND": _int_between("WHATSAPP_SENDS_PER_SECOND", 80, 1, 1000),
        # Tries of a send the provider refused for now (5xx, 429, throughput) before it is failed.
        "CHANNEL_SEND_ATTEMPTS": _int_between("CHANNEL_SEND_ATTEMPTS", 10, 1, 100),
        # The longest wait between two tries of one send (they start at 2 s and double).
        "CHANNEL_RETRY_MAX_SECONDS": _int_between("CHANNEL_RETRY_MAX_SECONDS", 300, 1, 3600),
        # How long a sender holds a message it is sending: a server that dies mid-send leaves it
        # to be sent again after this. Well above a provider's request timeout (10 s).
        "CHANNEL_SEND_LEASE_SECONDS": _int_between("CHANNEL_SEND_LEASE_SECONDS", 60, 15, 3600),
        # WhatsApp's 24-hour window is taken to close this much earlier (clocks differ; Meta has
        # refused replies just inside 24 hours), so an agent's text is not sent to fail.
        "WINDOW_MARGIN_MINUTES": _int_between("WINDOW_MARGIN_MINUTES", 5, 0, 600),
        # Webhook POSTs one WhatsApp number may make (shared by the processes): a generous cap
        # against a flood, above Meta's traffic for the highest throughput (1,000 a second).
        "WHATSAPP_WEBHOOK_LIMIT": _rate("WHATSAPP_WEBHOOK_LIMIT", "3000 per second"),
    }


def attachment_settings(instance_path):
    """Attachments (chat/attachments.py): the size of one file, where files are kept, and how
    much one chat may upload per hour."""
    max_upload_mb = _int_between("MAX_UPLOAD_MB", 10, 1, 1024)
    return {
        "MAX_UPLOAD_MB": max_upload_mb,
        # Werkzeug refuses a larger request body before reading it: the file and the form's
        # few other fields (multipart headers and session_id) fit well within 64 KiB more.
        "MAX_CONTENT_LENGTH": max_upload_mb * 1024 * 1024 + 65536,
        # "" keeps files in ATTACHMENT_FOLDER; "s3://bucket/prefix" in a bucket (see README).
        "ATTACHMENT_STORAGE": os.environ.get("ATTACHMENT_STORAGE", "").strip(),
        "ATTACHMENT_FOLDER": os.environ.get("ATTACHMENT_FOLDER") or str(Path(instance_path) / "attachments"),
        # Files and megabytes one chat may upload per rolling hour (visitor and agents together).
        "ATTACHMENTS_PER_SESSION_HOUR": _int_between("ATTACHMENTS_PER_SESSION_HOUR", 20, 1, 100000),
        "ATTACHMENT_MB_PER_SESSION_HOUR": _int_between("ATTACHMENT_MB_PER_SESSION_HOUR", 50, 1, 1000000),
        # An image larger than this many pixels (all frames together) is refused: a decompression
        # bomb. At most Pillow's own hard limit (twice its MAX_IMAGE_PIXELS, about 179 million).
        "MAX_IMAGE_PIXELS": _int_between("MAX_IMAGE_PIXELS", 50_000_000, 1000, 178_000_000),
        # A file no message has named this many hours after its upload is deleted (jobs.py).
        "ATTACHMENT_DRAFT_HOURS": _int_between("ATTACHMENT_DRAFT_HOURS", 24, 1, 24 * 365),
        # Uploads from one address (Flask-Limiter), visitors' and agents' each.
        "UPLOAD_LIMIT_PER_IP": _rate("UPLOAD_LIMIT_PER_IP", "30 per minute"),
    }
