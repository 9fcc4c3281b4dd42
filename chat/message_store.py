"""Storing messages: each takes the next seq of its session in the transaction that
stores it, and is committed before anyone hears of it.

This is the product's hot path, so it runs fixed SQL on the driver's cursor (the ORM and
Core layers were half of the server's CPU per message, see docs/benchmarks.md): two
statements per message on SQLite, one on PostgreSQL, where a whole batch is one round trip.
System messages (claim, end, jobs) join their caller's transaction through `append`. In a serving process one writer task stores every message that
arrived since its last commit in one transaction (group commit), publishes them in seq
order, then wakes the handlers waiting to acknowledge them. Without a writer (flask
commands, unit tests) each message is stored at once, in its own transaction.
"""
import contextlib
import functools
import logging
import re

from .extensions import db, socketio
from .models import OPEN_STATUSES, PREVIEW_LENGTH, StoredMessage, utcnow

log = logging.getLogger(__name__)

# :first_response is now for an agent's first public reply, else NULL (first response time);
# :preview is NULL for a private note, which leaves the preview (shown in lists and the side
# panel, to agents who may not read notes) on the last public message.
NEXT_SEQ_SQL = (
    "UPDATE chat_session SET last_seq = last_seq + 1, last_activity_at = :now, last_message_at = :now, "
    "last_message_preview = COALESCE(:preview, last_message_preview), first_response_at = COALESCE(first_response_at, :first_response) WHERE id = :session_id{only_open} RETURNING last_seq, status, agent_id, site_id")
ONLY_OPEN = " AND status IN ({})".format(", ".join(f"'{status}'" for status in OPEN_STATUSES))
INSERT_SQL = (
    "INSERT INTO message (session_id, seq, client_id, sender_type, sender_id, sender_name, text, private, extras, "
    "created_at) VALUES (:session_id, :seq, :client_id, :sender_type, :sender_id, :sender_name, :text, :private, "
    ":extras, :created_at) "
    "ON CONFLICT (session_id, client_id) DO NOTHING RETURNING id")
# A repeated client_id stored nothing: give back the seq it took (the row is still locked).
UNDO_SEQ_SQL = "UPDATE chat_session SET last_seq = last_seq - 1 WHERE id = :session_id"

# PostgreSQL takes a message in one statement (data-modifying CTEs), so a batch goes out in
# psycopg's pipeline mode: one round trip for all of it, not two per message. It returns one
# row: (id, seq, status, agent_id, duplicate); id is NULL when nothing was stored.
POSTGRES_APPEND_SQL = (
    "WITH existing AS (SELECT 1 FROM message WHERE session_id = %(session_id)s AND client_id = %(client_id)s), "
    "next AS (UPDATE chat_session SET last_seq = last_seq + 1, last_activity_at = %(now)s, "
    "last_message_at = %(now)s, last_message_preview = COALESCE(%(preview)s, last_message_preview), "
    "first_response_at = COALESCE(first_response_at, %(first_response)s::timestamp) "
    "WHERE id = %(session_id)s" + ONLY_OPEN + " AND NOT EXISTS (SELECT 1 FROM existing) "
    "RETURNING last_seq, status, agent_id, site_id), "
    "stored AS (INSERT INTO message (session_id, seq, client_id, sender_type, sender_id, sender_name, text, "
    "private, extras, created_at) SELECT %(session_id)s, last_seq, %(client_id)s, %(sender_type)s, %(sender_id)s, "
    "%(sender_name)s, %(text)s, %(private)s, %(extras)s, %(now)s FROM next RETURNING id) "
    "SELECT (SELECT id FROM stored), next.last_seq, next.status, next.agent_id, next.site_id, EXISTS (SELECT 1 FROM existing) "
    "FROM (SELECT 1) AS one LEFT JOIN next ON true")

MAX_BATCH = 200
# The writer lets the other tasks run between every so many publications: publishing a
# batch of 200 in one go held the event loop for tens of milliseconds (docs/benchmarks.md).
PUBLISH_BEFORE_YIELD = 20
WAIT_SECONDS = 30


@functools.cache
def native(sql, paramstyle):
    """`sql` written with `:name` parameters, in the driver's own parameter style."""
    return re.sub(r":(\w+)", r"%(\1)s", sql) if paramstyle == "pyformat" else sql


class Statements:
    """The SQL above in the driver's parameter style, and how it wants datetimes."""

    def __init__(self, dialect):
        style = dialect.paramstyle
        self.next_seq = {True: native(NEXT_SEQ_SQL.format(only_open=ONLY_OPEN), style),
                         False: native(NEXT_SEQ_SQL.format(only_open=""), style)}
        self.insert = native(INSERT_SQL, style)
        self.undo_seq = native(UNDO_SEQ_SQL, style)
        self.datetime = db.DateTime().dialect_impl(dialect).bind_processor(dialect) or (lambda value: value)
        self.pipelined = dialect.name == "postgresql"


_statements = {}


def statements():
    dialect = db.engine.dialect
    if dialect.name not in _statements:
        _statements[dialect.name] = Statements(dialect)
    return _statements[dialect.name]


def fetch_one(sql, params):
    """One row of a read on the driver's cursor, on a pooled connection given back at once:
    for a read on every event of the hot path, without the ORM session (docs/benchmarks.md)."""
    connection = db.engine.raw_connection()
    # On PostgreSQL, outside a transaction: one round trip, not BEGIN, the read and ROLLBACK.
    autocommit = statements().pipelined
    try:
        if autocommit:
            connection.dbapi_connection.autocommit = True
        cursor = connection.cursor()
        try:
            cursor.execute(native(sql, db.engine.dialect.paramstyle), params)
            return cursor.fetchone()
        finally:
            cursor.close()
    finally:
        if autocommit:
            connection.dbapi_connection.autocommit = False
        connection.close()


def is_first_response(sender_type, private):
    return sender_type == "agent" and not private


def preview(text, private):
    """What a message leaves as its chat's last_message_preview: None (no change) for a note."""
    return None if private else text[:PREVIEW_LENGTH]


def append(cursor, session_id, sender_type, text, client_id=None, sender_id=None, sender_name=None,
           private=False, require_open=True, extras=None, attachment_ids=None, preview_text=None):
    """Add a message with the next seq, in the cursor's transaction.

    The counter update comes first, so the row lock (or SQLite's write lock) serialises
    senders of one session; it also returns the session's status and agent.
    Returns (message, (status, agent_id, site_id)); (None, "closed") when the session is not open;
    (None, "duplicate") when the client_id is already stored. A message naming attachments
    (`attachment_ids`, checked by attachments.for_message) claims them (claim_attachments);
    `preview_text` is its chat's preview when its text is empty.
    """
    sql = statements()
    now = utcnow()
    stamp = sql.datetime(now)
    cursor.execute(sql.next_seq[require_open], {
        "session_id": session_id, "now": stamp, "preview": preview(preview_text or text, private),
        "first_response": stamp if is_first_response(sender_type, private) else None})
    row = cursor.fetchone()
    if row is None:
        return None, "closed"
    seq, status, agent_id, site_id = row
    fields = dict(session_id=session_id, seq=seq, client_id=client_id, sender_type=sender_type,
                  sender_id=sender_id, sender_name=sender_name, text=text, private=private, extras=extras)
    cursor.execute(sql.insert, dict(fields, created_at=stamp))
    inserted = cursor.fetchone()
    if inserted is None:
        cursor.execute(sql.undo_seq, {"session_id": session_id})
        return None, "duplicate"
    if attachment_ids:
        claim_attachments(cursor, inserted[0], session_id, attachment_ids)
    return StoredMessage(id=inserted[0], created_at=now, **fields), (status, agent_id, site_id)


CLAIM_ATTACHMENTS_SQL = ("UPDATE attachment SET message_id = :message_id WHERE session_id = :session_id "
                         "AND message_id IS NULL AND id IN ({ids})")


def claim_attachments(cursor, message_id, session_id, attachment_ids):
    """The files a message names become its own, in its transaction: each must still be of the
    chat and in no other message (a racing message that named one first wins), else the whole
    message fails (and its transaction with it)."""
    names = {f"a{index}": attachment_id for index, attachment_id in enumerate(attachment_ids)}
    sql = native(CLAIM_ATTACHMENTS_SQL.format(ids=", ".join(f":{name}" for name in names)),
                 db.engine.dialect.paramstyle)
    cursor.execute(sql, {"message_id": message_id, "session_id": session_id, **names})
    if cursor.rowcount != len(attachment_ids):
        from .attachments import attach_again
        raise attach_again()


class PendingMessage:
    """A message waiting for the writer: what to store, and then what became of it."""

    def __init__(self, fields, event=None):
        self.fields = fields
        self.event = event
        self.message = None
        self.outcome = None       # (status, agent_id, site_id), "closed", "duplicate" or an exception


def store(batch, on_stored):
    """Store `batch` in one transaction; after the commit, call on_stored(pending) for each.
    When that fails, each message is tried again on its own, on a new connection, so a
    bad message fails alone and a connection the database dropped costs nothing."""
    try:
        results = _store_in_one_transaction(batch)
    except Exception as error:
        log.warning("storing %d messages failed (%s); trying each on its own", len(batch), type(error).__name__)
        _forget_pooled_connections_if_lost(error)
        results = []
        for pending in batch:
            try:
                results += _store_in_one_transaction([pending])
            except Exception as error:
                results.append((pending, None, error))
    for pending, message, outcome in results:
        pending.message, pending.outcome = message, outcome
        on_stored(pending)


@contextlib.contextmanager
def raw_transaction():
    """A pooled connection on the driver's level, committed when the block ends; on an error
    rolled back and never given back to the pool."""
    connection = db.engine.raw_connection()
    try:
        yield connection
        connection.commit()
    except Exception:
        # Roll back first: a SQLite connection closed while the error is still referenced
        # lingers with its write lock. Then never give it back to the pool.
        with contextlib.suppress(Exception):
            connection.rollback()
        connection.invalidate()
        raise
    finally:
        connection.close()


def _store_in_one_transaction(batch):
    with raw_transaction() as connection:
        if statements().pipelined:
            return _append_in_one_round_trip(connection.dbapi_connection, batch)
        cursor = connection.cursor()
        try:
            return [(pending, *append(cursor, **pending.fields)) for pending in batch]
        finally:
            cursor.close()


def _append_in_one_round_trip(connection, batch):
    """PostgreSQL: every message of the batch in one pipeline; (pending, message, outcome) each."""
    now = utcnow()
    fields = [{"client_id": None, "sender_id": None, "sender_name": None, "private": False, "extras": None,
               **pending.fields}
              for pending in batch]
    # A message with files (rare) keeps their ids and its preview apart from its columns.
    files = {index: (each.pop("attachment_ids"), each.pop("preview_text", None))
             for index, each in enumerate(fields) if "attachment_ids" in each}
    with connection.pipeline():
        cursors = [connection.execute(POSTGRES_APPEND_SQL, dict(
            each, now=now, preview=preview(files[index][1] or each["text"] if index in files else each["text"],
                                           each["private"]),
            first_response=now if is_first_response(each["sender_type"], each["private"]) else None))
            for index, each in enumerate(fields)]
        rows = [cursor.fetchone() for cursor in cursors]
    results = []
    for index, (pending, each, (message_id, seq, status, agent_id, site_id, duplicate)) in enumerate(
            zip(batch, fields, rows)):
        if message_id is None:
            results.append((pending, None, "duplicate" if duplicate else "closed"))
        else:
            if index in files:
                cursor = connection.cursor()
                try:
                    claim_attachments(cursor, message_id, each["session_id"], files[index][0])
                finally:
                    cursor.close()
            results.append((pending, StoredMessage(id=message_id, seq=seq, created_at=now, **each), (status, agent_id, site_id)))
    return results


def _forget_pooled_connections_if_lost(error):
    """A restarted database has closed every pooled connection, not just this one."""
    dbapi = db.engine.dialect.loaded_dbapi
    if isinstance(error, (dbapi.OperationalError, dbapi.InterfaceError)):
        db.engine.dispose(close=False)


class MessageWriter:
    """The serving process's one writer task (group commit)."""

    def __init__(self, app, on_stored):
        self.app = app
        self.on_stored = on_stored
        self.queue = socketio.server.eio.create_queue()
        self.queue_empty = socketio.server.eio.get_queue_empty_exception()
        self.busy = False
        self.published = 0

    def submit(self, fields):
        """Queue a message and wait until it is stored and published."""
        pending = PendingMessage(fields, socketio.server.eio.create_event())
        self.queue.put(pending)
        if not pending.event.wait(WAIT_SECONDS):
            raise TimeoutError("the message writer did not answer")
        return pending

    def run(self):
        while True:
            batch = [self.queue.get()]
            self.busy = True
            while len(batch) < MAX_BATCH:
                try:
                    batch.append(self.queue.get_nowait())
                except self.queue_empty:
                    break
            with self.app.app_context():
                try:
                    store(batch, self._finish)
                except Exception as error:       # the writer must outlive any failure
                    log.exception("storing %d messages failed", len(batch))
                    for pending in batch:
                        if not pending.event.is_set():
                            pending.outcome = error
                            pending.event.set()
                finally:
                    self.busy = False

    def _finish(self, pending):
        try:
            self.on_stored(pending)
        except Exception:
            # Stored but not announced: clients fetch it at their next gap or periodic check.
            log.exception("publishing a stored message failed")
        finally:
            pending.event.set()
        self.published += 1
        if self.published % PUBLISH_BEFORE_YIELD == 0:
            socketio.sleep(0)


_writer = None


def start_writer(app, on_stored):
    """Store messages through one group-committing task in this (serving) process."""
    global _writer
    _writer = MessageWriter(app, on_stored)
    socketio.start_background_task(_writer.run)


def writer_is_idle():
    """True when no received message is waiting to be stored (or no writer runs)."""
    return _writer is None or (not _writer.busy and _writer.queue.empty())


def store_one(fields, on_stored):
    """Store a message, through the writer when one runs; returns its PendingMessage."""
    if _writer is not None:
        return _writer.submit(fields)
    pending = PendingMessage(fields)
    store([pending], on_stored)
    return pending
