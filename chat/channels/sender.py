"""Sending the outbox (channels/outbox.py) to the phones: a background task in each serving
process takes due rows with a lease (a server that dies mid-send leaves its row to be taken
again), one chat's messages in order, at most an account's rate, and records what the provider
said: sent, tried again later with backoff, or failed with its reason for the agent."""
import logging
import random
import time
from datetime import timedelta

from flask import current_app
from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.orm import aliased

from ..extensions import db, socketio
from ..models import ChannelAccount, ChannelOutbox, Message, utcnow
from . import SendError, channel_named, delivery
from .words import phone_text

log = logging.getLogger(__name__)

POLL_SECONDS = 1.0          # the sender also looks for due rows this often (other processes' rows)
SENDS_AT_ONCE = 16          # sends in flight per process
FIRST_BACKOFF_SECONDS = 2
MAX_BACKOFF_SECONDS = 300   # CHANNEL_RETRY_MAX_SECONDS's default
MAX_RETRY_AFTER_SECONDS = 3600
JITTER = 0.2


def monotonic():
    return time.monotonic()


def sleep(seconds):
    socketio.sleep(seconds)


def _due(now):
    """Queued and due, or held by a sender whose lease ran out (it died mid-send)."""
    return or_(and_(ChannelOutbox.state == "queued", ChannelOutbox.next_attempt_at <= now),
               and_(ChannelOutbox.state == "sending", ChannelOutbox.lease_until < now))


def _first_of_its_chat():
    """No older message of the same chat waits or is being sent: a chat's messages go in order."""
    older = aliased(ChannelOutbox)
    return ~exists().where(older.session_id == ChannelOutbox.session_id, older.message_id < ChannelOutbox.message_id,
                           older.state.in_(("queued", "sending")))


def take_due(now, limit):
    """Take up to `limit` due rows for this process: each by a conditional UPDATE (the one
    whose update changed the row wins), so processes never send a row at the same time.
    Returns [(row id, lease_until)]; the lease is the token the outcome is written with."""
    if limit <= 0:
        return []
    candidates = db.session.execute(
        select(ChannelOutbox.id).where(_due(now), _first_of_its_chat()).order_by(ChannelOutbox.id).limit(limit)
    ).scalars().all()
    lease = now + timedelta(seconds=current_app.config["CHANNEL_SEND_LEASE_SECONDS"])
    taken = []
    for row_id in candidates:
        won = db.session.execute(
            update(ChannelOutbox).where(ChannelOutbox.id == row_id, _due(now), _first_of_its_chat())
            .values(state="sending", lease_until=lease).execution_options(synchronize_session=False)).rowcount
        if won:
            taken.append((row_id, lease))
    db.session.commit()
    return taken


class Bucket:
    """A token bucket: `rate` sends a second, bursts of up to `rate`."""

    def __init__(self, rate, now):
        self.tokens, self.at = float(rate), now

    def reserve(self, rate, now):
        """Take a token; returns how long to wait before using it (0: at once)."""
        self.tokens = min(float(rate), self.tokens + (now - self.at) * rate) - 1
        self.at = now
        return 0.0 if self.tokens >= 0 else -self.tokens / rate


_buckets = {}


def throttle(account_id, rate):
    """Wait for this account's turn: at most `rate` sends a second from this process."""
    now = monotonic()
    bucket = _buckets.get(account_id) or _buckets.setdefault(account_id, Bucket(rate, now))
    wait = bucket.reserve(rate, now)
    if wait > 0:
        sleep(wait)


def send_taken(row_id, lease):
    """Send one taken row and record what became of it. No database connection is held while
    the provider answers."""
    row = db.session.get(ChannelOutbox, row_id)
    message = row and db.session.get(Message, row.message_id)
    account = row and db.session.get(ChannelAccount, row.account_id)
    if row is None or message is None or account is None or row.lease_until != lease:
        db.session.rollback()
        return None
    text = phone_text(message)
    for item in (row, message, account):
        db.session.expunge(item)
    db.session.commit()
    if text is None:                       # cannot happen for a queued row; never send a note
        return record_failure(row, lease, SendError("not_deliverable", "This message is not sent to phones."))
    message.text = text                    # the detached copy: a system line in the phone's words
    try:
        channel = channel_named(row.channel)
        throttle(account.id, channel.sends_per_second)
        sent = channel.send(account, row, message)
    except SendError as error:
        return record_failure(row, lease, error)
    except Exception as error:
        return record_failure(row, lease, unexpected(error))
    return record_sent(row, lease, sent)


def unexpected(error):
    """A send that raised something other than SendError: the network (a refused connection, a
    timeout: retried) or a fault of ours (logged, retried within CHANNEL_SEND_ATTEMPTS)."""
    import requests
    if isinstance(error, requests.RequestException):
        log.warning("send failed: %s", type(error).__name__)
        return SendError("network", "The provider could not be reached.", retry=True)
    log.exception("send failed")
    return SendError("error", "The message could not be sent.", retry=True)


def _held(row, lease):
    return and_(ChannelOutbox.id == row.id, ChannelOutbox.state == "sending", ChannelOutbox.lease_until == lease)


def record_sent(row, lease, sent):
    provider_id = getattr(sent, "provider_message_id", None)
    held = db.session.execute(
        update(ChannelOutbox).where(_held(row, lease))
        .values(state="sent", provider_message_id=provider_id, sent_at=utcnow(), lease_until=None,
                error_code=None, error_text=None).execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    if not held:
        log.warning("outbox row %s was sent after its lease ran out", row.id)
    delivery.set_state(row.message_id, "sent")
    return "sent"


def record_failure(row, lease, error):
    """A refused send: tried again later (backoff) while the provider may take it and attempts
    remain, else failed with the provider's reason for the agent."""
    attempts = row.attempts + 1
    retry = error.retry and attempts < current_app.config["CHANNEL_SEND_ATTEMPTS"]
    values = dict(attempts=attempts, lease_until=None, error_code=error.code[:20],
                  error_text=delivery.clipped(error.text))
    if retry:
        wait = backoff(attempts, error.retry_after, longest=current_app.config["CHANNEL_RETRY_MAX_SECONDS"])
        values.update(state="queued", next_attempt_at=utcnow() + timedelta(seconds=wait))
    else:
        values.update(state="failed")
    db.session.execute(update(ChannelOutbox).where(_held(row, lease)).values(**values)
                       .execution_options(synchronize_session=False))
    db.session.commit()
    log.info("outbox row %s: %s (%s), attempt %s", row.id, "retry" if retry else "failed", error.code, attempts)
    if retry:
        return "retry"
    text = error.text if not error.retry else f"{error.text} (gave up after {attempts} attempts)"
    delivery.set_state(row.message_id, "failed", text, error.needs_template)
    return "failed"


def backoff(attempts, retry_after=None, rand=random.random, longest=MAX_BACKOFF_SECONDS):
    """Seconds before the next try: what the provider asked for, else 2 s doubling per attempt
    (up to `longest`, CHANNEL_RETRY_MAX_SECONDS), give or take 20% so many rows refused together
    do not come back together."""
    if retry_after:
        return min(max(float(retry_after), 1.0), MAX_RETRY_AFTER_SECONDS)
    base = min(FIRST_BACKOFF_SECONDS * 2 ** (attempts - 1), longest)
    return min(base * (1 - JITTER + 2 * JITTER * rand()), longest)


def send_due(now=None, limit=100):
    """Take and send every due row, one after the other (the CLI and tests; the sender task
    sends in parallel). Returns the outcomes."""
    return [send_taken(row_id, lease) for row_id, lease in take_due(now or utcnow(), limit)]


class Sender:
    """A serving process's sender: wakes when a message is queued here, and every second for
    the rows of other processes, retries and expired leases."""

    def __init__(self, app):
        self.app = app
        self.wakeup = socketio.server.eio.create_event()
        self.in_flight = 0
        self.running = True

    def run(self):
        while self.running:
            self.wakeup.wait(POLL_SECONDS)
            self.wakeup.clear()
            if not self.running:
                break
            try:
                with self.app.app_context():
                    try:
                        taken = take_due(utcnow(), SENDS_AT_ONCE - self.in_flight)
                    finally:
                        db.session.remove()
            except Exception:
                log.exception("taking due outbox rows failed")
                continue
            for row_id, lease in taken:
                self.in_flight += 1
                socketio.start_background_task(self.send, row_id, lease)

    def send(self, row_id, lease):
        try:
            with self.app.app_context():
                try:
                    send_taken(row_id, lease)
                finally:
                    db.session.remove()
        except Exception:
            log.exception("sending outbox row %s failed", row_id)     # its lease runs out: sent again
        finally:
            self.in_flight -= 1
            self.wakeup.set()            # the chat's next message may go now


_sender = None


def start_sender(app):
    """Send the outbox from this (serving) process; never in CLI commands (nor in unit tests
    unless one asks). Returns the sender."""
    global _sender
    _sender = Sender(app)
    socketio.start_background_task(_sender.run)
    return _sender


def stop_sender():
    """Stop taking rows (at SIGTERM, after a test); the sends in flight finish."""
    if _sender is not None:
        _sender.running = False
        _sender.wakeup.set()


def sender_is_idle():
    """True when no send of this process is waiting for its provider (or no sender runs)."""
    return _sender is None or _sender.in_flight == 0


def wake():
    if _sender is not None and _sender.running:
        _sender.wakeup.set()
