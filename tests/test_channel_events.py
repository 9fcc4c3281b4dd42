"""A provider's events, in-process with a fake channel (no HTTP): kept once before the webhook
answers, handled in order per contact in a background task, a failure left for the jobs'
sweep, and old events forgotten after CHANNEL_EVENT_DAYS."""
import json
import threading
from collections import deque
from datetime import timedelta

import pytest

from chat import jobs
from chat.channels import CHANNELS, Channel, events
from chat.extensions import db, socketio
from chat.models import ChannelAccount, ChannelEvent


class RecordingChannel(Channel):
    """A channel that notes each event it is handed; a payload {"fail": n} fails n times."""

    def __init__(self):
        super().__init__(name="whatsapp")
        self.handled = []
        self.failures = {}

    def handle(self, account, event):
        payload = json.loads(event.payload)
        if self.failures.get(event.event_id, payload.get("fail", 0)) > 0:
            self.failures[event.event_id] = self.failures.get(event.event_id, payload.get("fail", 0)) - 1
            raise RuntimeError("the provider's media server is down")
        self.handled.append(event.event_id)


@pytest.fixture(autouse=True)
def nothing_in_hand(monkeypatch):
    """Each test starts with no event waiting in this process (a test may leave some unhandled)."""
    for name, empty in (("_lines", {}), ("_ready", deque()), ("_in_hand", set()), ("_workers", [0]),
                        ("_arrivals", deque(maxlen=events.BURST_WEBHOOKS))):
        monkeypatch.setattr(events, name, empty)


@pytest.fixture
def channel(app, monkeypatch):
    fake = RecordingChannel()
    monkeypatch.setitem(CHANNELS, "whatsapp", fake)
    return fake


@pytest.fixture
def account(site, channel):
    account = ChannelAccount(site_id=site.id, channel="whatsapp", external_id="1555000111",
                             access_token="token", signing_secret="secret")
    db.session.add(account)
    db.session.commit()
    return account


@pytest.fixture
def tasks(monkeypatch):
    """Background tasks started, run when the test says (a webhook answers before them)."""
    started = []
    monkeypatch.setattr(socketio, "start_background_task", lambda task, *args: started.append((task, args)))
    return started


def run(tasks):
    while tasks:
        task, args = tasks.pop(0)
        task(*args)


def event(event_id, contact="33612345678", kind="message", **payload):
    return ChannelEvent(channel="whatsapp", event_id=event_id, kind=kind, contact=contact,
                        payload=json.dumps({"id": event_id, **payload}))


def stored(event_id):
    return db.session.get(ChannelEvent, ("whatsapp", event_id), populate_existing=True)


def test_events_are_kept_once_and_a_redelivery_keeps_nothing_new(app, account):
    new = events.keep(account, [event("wamid.1"), event("wamid.2")])
    assert [row.event_id for row in new] == ["wamid.1", "wamid.2"]
    again = events.keep(account, [event("wamid.2"), event("wamid.3")])
    assert [row.event_id for row in again] == ["wamid.3"]
    assert db.session.execute(db.select(db.func.count()).select_from(ChannelEvent)).scalar() == 3
    row = stored("wamid.1")
    assert (row.account_id, row.kind, row.contact, row.processed_at, row.attempts) == (
        account.id, "message", "33612345678", None, 0)


def test_the_same_event_twice_in_one_webhook_is_kept_once(app, account):
    assert [row.event_id for row in events.keep(account, [event("wamid.1"), event("wamid.1")])] == ["wamid.1"]


def test_kept_events_are_handled_after_the_answer_and_marked_processed(app, account, channel, tasks):
    new = events.keep(account, [event("wamid.1"), event("wamid.2")])
    events.process_soon(app, new)
    assert channel.handled == []                      # the webhook has answered first
    run(tasks)
    assert channel.handled == ["wamid.1", "wamid.2"]
    assert stored("wamid.1").processed_at is not None and stored("wamid.2").processed_at is not None


def test_each_contacts_events_are_handled_in_order_and_the_contacts_take_turns(app, account, channel, tasks):
    events.process_soon(app, events.keep(account, [event("wamid.a1", contact="A"), event("wamid.b1", contact="B")]))
    events.process_soon(app, events.keep(account, [event("wamid.a2", contact="A"), event("wamid.c1", contact="C")]))
    events.process_soon(app, events.keep(account, [event("wamid.a3", contact="A")]))
    assert len(tasks) == 3                            # a task per contact waiting, up to WORKERS
    run(tasks)
    # One event a turn: A's second waits for B's and C's first, not for all of A's.
    assert channel.handled == ["wamid.a1", "wamid.b1", "wamid.c1", "wamid.a2", "wamid.a3"]


def test_a_thousand_contacts_at_once_are_handled_by_a_few_workers(app, account, channel, tasks):
    for number in range(1000):
        events.process_soon(app, events.keep(account, [event(f"wamid.{number}", contact=f"3361{number:07d}")]))
    assert len(tasks) == events.WORKERS
    run(tasks)
    assert channel.handled == [f"wamid.{number}" for number in range(1000)]


def test_an_event_waiting_on_the_provider_lets_another_customers_event_be_handled_meanwhile(
        app, account, channel, monkeypatch):
    """One event at a time, except while one waits on the provider (a photo's download): the
    others must not wait for a slow download. Real background tasks (threads, here)."""
    other_handled, both_handled = threading.Event(), threading.Event()
    workers, start = [], socketio.start_background_task
    monkeypatch.setattr(socketio, "start_background_task", lambda *args: workers.append(start(*args)))

    def handle(account, row):
        if row.event_id == "wamid.photo":
            with events.waiting_on_provider():
                other_handled.wait(10)
        else:
            other_handled.set()
        channel.handled.append(row.event_id)
        if len(channel.handled) == 2:
            both_handled.set()

    channel.handle = handle
    events.process_soon(app, events.keep(account, [event("wamid.photo", contact="A")]))
    events.process_soon(app, events.keep(account, [event("wamid.text", contact="B")]))
    assert both_handled.wait(15)
    for worker in workers:
        worker.join(10)                               # their connections back before the database goes
    assert channel.handled == ["wamid.text", "wamid.photo"]    # the text did not wait for the photo


def test_a_failed_event_is_counted_and_left_for_the_sweep_after_a_minute(app, account, channel, tasks):
    new = events.keep(account, [event("wamid.1", fail=1), event("wamid.2")])
    events.process_soon(app, new)
    run(tasks)
    assert channel.handled == ["wamid.2"]             # the next one is not held up
    row = stored("wamid.1")
    assert (row.processed_at, row.attempts) == (None, 1)
    assert events.sweep(row.received_at + timedelta(seconds=30)) == []
    assert events.sweep(row.received_at + timedelta(seconds=61)) == ["wamid.1"]
    assert channel.handled == ["wamid.2", "wamid.1"]
    assert stored("wamid.1").processed_at is not None


def test_an_event_left_by_a_server_that_died_after_answering_is_handled_by_the_jobs(app, account, channel):
    [row] = events.keep(account, [event("wamid.1")])  # kept, answered, and the server died
    later = row.received_at + timedelta(seconds=61)
    assert jobs.run_jobs(now=later, use_lease=False)["retry_channel_events"] == 1
    assert channel.handled == ["wamid.1"]
    assert jobs.run_jobs(now=later, use_lease=False)["retry_channel_events"] == 0


def test_an_event_that_keeps_failing_is_given_up_after_five_attempts(app, account, channel):
    [row] = events.keep(account, [event("wamid.1", fail=99)])
    later = row.received_at + timedelta(minutes=2)
    for _ in range(7):
        events.sweep(later)
    assert (stored("wamid.1").attempts, stored("wamid.1").processed_at) == (events.MAX_ATTEMPTS, None)
    assert channel.handled == []


def test_the_sweep_leaves_an_event_this_process_is_still_handling(app, account, channel, tasks):
    new = events.keep(account, [event("wamid.1")])
    events.process_soon(app, new)                     # its task has not run yet
    assert events.sweep(new[0].received_at + timedelta(minutes=5)) == []
    run(tasks)
    assert channel.handled == ["wamid.1"]


def test_an_event_of_a_disconnected_account_is_not_handled(app, account, channel, tasks):
    new = events.keep(account, [event("wamid.1")])
    account.active = False
    db.session.commit()
    events.process_soon(app, new)
    run(tasks)
    assert channel.handled == [] and stored("wamid.1").processed_at is not None


def test_events_are_remembered_for_channel_event_days_then_forgotten(app, account, channel, tasks):
    events.process_soon(app, events.keep(account, [event("wamid.1")]))
    run(tasks)
    received = stored("wamid.1").received_at
    events.sweep(received + timedelta(days=7))
    assert events.keep(account, [event("wamid.1")]) == []          # a redelivery within 7 days
    events.sweep(received + timedelta(days=8, seconds=1))
    assert stored("wamid.1") is None


class Clock:
    def __init__(self, now):
        self.now = now

    def monotonic(self):
        return self.now


def test_webhooks_pouring_in_make_a_burst_that_passes_with_its_window(app, account, channel, tasks, monkeypatch):
    clock = Clock(5000.0)
    monkeypatch.setattr(events, "time", clock)
    for number in range(events.BURST_WEBHOOKS - 1):
        events.process_soon(app, events.keep(account, [event(f"wamid.burst{number}")]))
        clock.now += 0.005
    assert not events.in_a_burst()                   # 19 webhooks: not yet
    events.process_soon(app, events.keep(account, [event("wamid.burst-last")]))
    assert events.in_a_burst()                       # 20 within 0.1 s
    clock.now += events.BURST_WINDOW
    assert not events.in_a_burst()


def test_a_worker_holds_its_next_event_at_most_a_second_however_long_the_burst(monkeypatch):
    slept = []
    monkeypatch.setattr(events, "in_a_burst", lambda: True)
    monkeypatch.setattr(socketio, "sleep", slept.append)
    events.hold_during_a_burst()
    assert sum(slept) == pytest.approx(events.HOLD_SECONDS, abs=events.HOLD_STEP)
    slept.clear()
    monkeypatch.setattr(events, "in_a_burst", lambda: False)
    events.hold_during_a_burst()
    assert slept == []


@pytest.fixture
def several_processes(app, monkeypatch):
    """The app as one of several processes (a message queue between them)."""
    monkeypatch.setitem(app.config, "SOCKETIO_MESSAGE_QUEUE", "redis://127.0.0.1:6379/0")


def test_an_event_waits_while_another_process_handles_an_earlier_one_of_its_contact(
        app, account, channel, tasks, several_processes, monkeypatch):
    events.keep(account, [event("wamid.1")])          # kept by the other process, handled there
    happened = []

    def other_process_finishes(seconds):
        if seconds and not happened:
            db.session.execute(db.update(ChannelEvent).where(ChannelEvent.event_id == "wamid.1")
                               .values(processed_at=db.func.current_timestamp()))
            db.session.commit()
            happened.append("wamid.1 handled elsewhere")

    monkeypatch.setattr(socketio, "sleep", other_process_finishes)
    channel.handle = lambda account, row: happened.append(row.event_id)
    events.process_soon(app, events.keep(account, [event("wamid.2")]))
    run(tasks)
    assert happened == ["wamid.1 handled elsewhere", "wamid.2"]
    assert stored("wamid.2").processed_at is not None


def test_an_earlier_event_that_never_comes_holds_the_next_one_only_so_long(
        app, account, channel, tasks, several_processes, monkeypatch, caplog):
    events.keep(account, [event("wamid.1")])          # its process died after answering
    slept = []
    monkeypatch.setattr(socketio, "sleep", lambda seconds: seconds and slept.append(seconds))
    monkeypatch.setattr(events, "ORDER_WAIT_SECONDS", 0.5)
    events.process_soon(app, events.keep(account, [event("wamid.2")]))
    run(tasks)
    assert channel.handled == ["wamid.2"]
    assert sum(slept) == pytest.approx(0.5)
    assert "handled out of order" in caplog.text
    assert stored("wamid.1").processed_at is None    # left to the sweep


def test_a_process_does_not_wait_for_events_in_its_own_hands_nor_for_a_failed_one(
        app, account, channel, tasks, several_processes, monkeypatch):
    slept = []
    monkeypatch.setattr(socketio, "sleep", lambda seconds: seconds and slept.append(seconds))
    events.process_soon(app, events.keep(account, [event("wamid.1", fail=1), event("wamid.2"), event("wamid.3")]))
    run(tasks)
    assert channel.handled == ["wamid.2", "wamid.3"] and slept == []


def test_one_process_alone_never_looks_for_earlier_events(app, account, channel, tasks, monkeypatch):
    events.keep(account, [event("wamid.1")])
    slept = []
    monkeypatch.setattr(socketio, "sleep", lambda seconds: seconds and slept.append(seconds))
    events.process_soon(app, events.keep(account, [event("wamid.2")]))
    run(tasks)
    assert channel.handled == ["wamid.2"] and slept == []
