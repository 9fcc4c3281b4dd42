"""A provider's events, kept once before its webhook is answered, then handled in order.

Providers deliver at least once (WhatsApp retries for up to 7 days, LINE when redelivery is
on), and a server may die just after answering 200. So the webhook view commits each event as a
ChannelEvent row (`keep`; primary key: channel and the provider's event id, so a redelivery
keeps nothing new) before it answers, and a background task then hands each new row to its
channel (`process_soon`): one contact's events one after the other, in the order they came.
The jobs' `sweep` takes again what a dead server left unhandled, and forgets old rows.

With several processes, two webhooks of one contact may reach two of them: an event then waits
while an earlier one of its contact, kept by another process, is still unhandled there
(`wait_for_earlier`), so a contact's messages keep the order they arrived in (by `received_at`,
the processes' clocks kept in step).
"""
import contextlib
import logging
import threading
import time
from collections import deque
from datetime import timedelta

from flask import current_app
from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from .. import message_store
from ..extensions import db, socketio
from ..models import ChannelAccount, ChannelEvent, utcnow
from . import channel_named

log = logging.getLogger(__name__)

# An event still unhandled this long after it came was left by a server that died (or failed):
# the sweep hands it to its channel again, up to MAX_ATTEMPTS failures.
RETRY_AFTER = timedelta(seconds=60)
MAX_ATTEMPTS = 5
SWEEP_BATCH = 200
# How long an event waits for an earlier one of its contact that another process is handling;
# longer than any handling but a provider's slowest download, shorter than a customer's patience.
# A process that died with that earlier event leaves it to the sweep, and the order to chance.
ORDER_WAIT_SECONDS = 10.0
ORDER_WAIT_STEP = 0.05


def insert_new(model):
    """An INSERT of `model` that skips a row whose key is taken (ON CONFLICT DO NOTHING),
    spelled for the database in use."""
    dialect = postgresql if db.engine.dialect.name == "postgresql" else sqlite
    return dialect.insert(model)


# The webhook's one write, on the driver's cursor: the ORM's and Core's work per statement was
# most of a webhook's CPU (docs/benchmarks.md).
KEEP_SQL = ("INSERT INTO channel_event (channel, event_id, account_id, kind, contact, payload, received_at, attempts) "
            "VALUES (:channel, :event_id, :account_id, :kind, :contact, :payload, :received_at, 0) "
            "ON CONFLICT (channel, event_id) DO NOTHING RETURNING event_id")


def keep(account, events):
    """Store the events (ChannelEvent values the provider's module built) not kept before, commit,
    and return the new ones, in the given order. The webhook answers only after this."""
    if not events:
        return []
    now = utcnow()
    statements = message_store.statements()
    sql = message_store.native(KEEP_SQL, db.engine.dialect.paramstyle)
    new = []
    with message_store.raw_transaction() as connection:
        cursor = connection.cursor()
        try:
            for offset, event in enumerate(events):
                # A microsecond apart: the sweep takes a webhook's events in their order too.
                event.account_id, event.received_at, event.attempts = account.id, now + timedelta(microseconds=offset), 0
                cursor.execute(sql, {"channel": event.channel, "event_id": event.event_id, "account_id": account.id,
                                     "kind": event.kind, "contact": event.contact, "payload": event.payload,
                                     "received_at": statements.datetime(event.received_at)})
                if cursor.fetchone() is not None:
                    new.append(event)
        finally:
            cursor.close()
    return new


# Events waiting in this process, in a line per contact. WORKERS tasks take the contacts in
# turn, one event each time, so a contact's events are handled one after the other, in order,
# and a thousand phones writing at once wait in one queue, not as a thousand tasks.
# Handling an event is the loop's work; answering a webhook must not wait behind much of it
# (Meta wants its answer fast: docs/benchmarks.md). So one event is handled at a time (the
# turn), each worker lets the waiting webhooks go before its next event, and a worker that
# waits on the provider (a file's download, a profile) hands the turn on meanwhile
# (`waiting_on_provider`), so one slow download does not hold up every other customer.
WORKERS = 4
_turn = threading.BoundedSemaphore(1)
_holds_turn = threading.local()
_lines = {}          # (channel, account_id, contact) -> deque of (channel, event_id)
_ready = deque()     # the contacts whose next event no worker holds, in turn
_in_hand = set()     # (channel, event_id) queued or being handled here: the sweep leaves them
_workers = [0]       # how many worker tasks run
_guard = threading.Lock()
# While webhooks pour in (a burst: BURST_WEBHOOKS within BURST_WINDOW seconds), a worker waits
# before its next event, up to HOLD_SECONDS each time: the provider's fast answer comes first,
# the customer's a moment later (docs/benchmarks.md, issue 16).
BURST_WEBHOOKS = 20
BURST_WINDOW = 0.2
HOLD_SECONDS = 1.0
HOLD_STEP = 0.02
_arrivals = deque(maxlen=BURST_WEBHOOKS)     # when the latest webhooks with new events came


def in_a_burst(now=None):
    """Whether the last BURST_WEBHOOKS webhooks came within BURST_WINDOW seconds."""
    now = time.monotonic() if now is None else now
    with _guard:
        return len(_arrivals) == BURST_WEBHOOKS and now - _arrivals[0] < BURST_WINDOW


def hold_during_a_burst():
    held = 0.0
    while held < HOLD_SECONDS and in_a_burst():
        socketio.sleep(HOLD_STEP)
        held += HOLD_STEP


@contextlib.contextmanager
def waiting_on_provider():
    """Around a call to the provider while an event is handled: another event may be handled
    meanwhile. Outside a worker (a unit test, a sweep), nothing changes."""
    holding = getattr(_holds_turn, "value", False)
    if holding:
        _holds_turn.value = False
        _turn.release()
    try:
        yield
    finally:
        if holding:
            _turn.acquire()
            _holds_turn.value = True


def process_soon(app, rows):
    """Handle kept events in background tasks, after the webhook's answer: a contact's events
    one at a time, in the order given (they may come in several webhooks)."""
    with _guard:
        _arrivals.append(time.monotonic())
        for row in rows:
            key = (row.channel, row.account_id, row.contact)
            if key not in _lines:
                _lines[key] = deque()
                _ready.append(key)
            _lines[key].append((row.channel, row.event_id))
            _in_hand.add((row.channel, row.event_id))
        starting = max(0, min(WORKERS, len(_lines)) - _workers[0])      # a contact each, up to WORKERS
        _workers[0] += starting
    for _ in range(starting):
        socketio.start_background_task(_work_in_app, app)


def _next_event():
    """(contact key, event) of the contact whose turn it is, or None when none waits."""
    with _guard:
        if not _ready:
            _workers[0] -= 1
            return None
        key = _ready.popleft()
        return key, _lines[key].popleft()


def _done_with(key, item):
    """The event is handled: the contact's next one (if any) waits for its turn."""
    with _guard:
        _in_hand.discard(item)
        if _lines[key]:
            _ready.append(key)
        else:
            del _lines[key]


def _work_in_app(app):
    with app.app_context():
        try:
            while (taken := _next_event()) is not None:
                key, item = taken
                hold_during_a_burst()
                try:
                    with _turn:
                        _holds_turn.value = True
                        try:
                            handle(*item)
                        finally:
                            _holds_turn.value = False
                except Exception:       # handle() keeps its own failures; this is a bug: the sweep retries
                    log.exception("channel event %s/%s stopped", *item)
                finally:
                    _done_with(key, item)
                db.session.remove()
                socketio.sleep(0)
        finally:
            db.session.remove()


def handle(channel_name, event_id):
    """Hand one kept event to its channel (`Channel.handle`) and mark it processed; a failure is
    logged and counted (`attempts`), and the row stays for the sweep. True when handled now."""
    row = db.session.get(ChannelEvent, (channel_name, event_id), populate_existing=True)
    if row is None or row.processed_at is not None:
        return False
    if current_app.config["SOCKETIO_MESSAGE_QUEUE"] and wait_for_earlier(row):
        db.session.refresh(row)
        if row.processed_at is not None:
            return False
    this_row = (ChannelEvent.channel == channel_name) & (ChannelEvent.event_id == event_id)
    try:
        account = db.session.get(ChannelAccount, row.account_id)
        channel = channel_named(channel_name)
        if channel is None:
            raise LookupError(f"no channel named {channel_name!r}")
        if account.active:
            channel.handle(account, row)
        else:
            log.info("channel event of a disconnected account left unhandled channel=%s event=%s",
                     channel_name, event_id)
    except Exception:
        db.session.rollback()
        log.exception("channel event failed channel=%s event=%s", channel_name, event_id)
        db.session.execute(update(ChannelEvent).where(this_row).values(attempts=ChannelEvent.attempts + 1)
                           .execution_options(synchronize_session=False))
        db.session.commit()
        return False
    db.session.execute(update(ChannelEvent).where(this_row, ChannelEvent.processed_at.is_(None))
                       .values(processed_at=utcnow()).execution_options(synchronize_session=False))
    db.session.commit()
    return True


def wait_for_earlier(row):
    """Wait (the turn handed on) while another process holds an earlier unhandled event of the
    row's contact that has not failed, up to ORDER_WAIT_SECONDS. Only with several processes:
    one process handles a contact's events in order by itself. True when it waited."""
    earlier = (select(ChannelEvent.channel, ChannelEvent.event_id)
               .where(ChannelEvent.processed_at.is_(None), ChannelEvent.channel == row.channel,
                      ChannelEvent.account_id == row.account_id, ChannelEvent.contact == row.contact,
                      ChannelEvent.received_at < row.received_at, ChannelEvent.attempts == 0)
               .limit(20))         # enough to look past those this process holds itself

    def held_elsewhere():
        found = [tuple(item) for item in db.session.execute(earlier).all()]
        with _guard:
            return any(item not in _in_hand for item in found)

    steps, waited = round(ORDER_WAIT_SECONDS / ORDER_WAIT_STEP), 0
    while waited < steps and held_elsewhere():
        db.session.commit()             # no transaction stays open while it waits
        with waiting_on_provider():
            socketio.sleep(ORDER_WAIT_STEP)
        waited += 1
    if waited == steps and held_elsewhere():
        log.warning("channel event handled out of order after %.0f s channel=%s event=%s",
                    ORDER_WAIT_SECONDS, row.channel, row.event_id)
    return waited > 0


def sweep(now):
    """For the jobs: events still unhandled RETRY_AFTER after they came (a server died after
    answering, or handling failed fewer than MAX_ATTEMPTS times) are handled again, oldest
    first; events older than CHANNEL_EVENT_DAYS are forgotten (WhatsApp redelivers for up to 7
    days, so a redelivery still finds its row until then). Returns the ids handled again."""
    due = db.session.execute(
        select(ChannelEvent.channel, ChannelEvent.event_id)
        .where(ChannelEvent.processed_at.is_(None), ChannelEvent.received_at <= now - RETRY_AFTER,
               ChannelEvent.attempts < MAX_ATTEMPTS)
        .order_by(ChannelEvent.received_at).limit(SWEEP_BATCH)
    ).all()
    db.session.rollback()
    with _guard:
        due = [tuple(item) for item in due if tuple(item) not in _in_hand]
    handled = [event_id for channel_name, event_id in due if handle(channel_name, event_id)]
    days = current_app.config["CHANNEL_EVENT_DAYS"]
    forgotten = db.session.execute(
        delete(ChannelEvent).where(ChannelEvent.received_at < now - timedelta(days=days))
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    if forgotten:
        log.info("channel events forgotten: %d older than %d days", forgotten, days)
    return handled
