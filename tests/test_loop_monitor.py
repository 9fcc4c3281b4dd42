"""The event-loop watch logs a stall when its 10 ms wake-up comes late."""
import gc
import logging
import re
import time

import pytest

from chat.loop_monitor import watch_event_loop

pytestmark = pytest.mark.database_independent


class LoopThatBlocks:
    """Stands in for socketio: each sleep takes `sleeps` seconds, asleep, or (busy) working for that
    much of the thread's own CPU time, whatever other processes take of the machine meanwhile."""

    def __init__(self, *sleeps, busy=False):
        self.sleeps = list(sleeps)
        self.busy = busy

    def sleep(self, _seconds):
        if not self.sleeps:
            raise StopIteration
        seconds = self.sleeps.pop(0)
        if not self.busy:
            time.sleep(seconds)
            return
        until = time.thread_time() + seconds
        while time.thread_time() < until:
            pass

    def start_background_task(self, task):
        with pytest.raises(StopIteration):
            task()


def test_a_late_wake_up_is_logged_and_a_punctual_one_is_not(caplog):
    caplog.set_level(logging.WARNING, logger="chat.loop_monitor")
    watch_event_loop(LoopThatBlocks(0.010, 0.080), threshold_ms=40)
    stalls = [r.getMessage() for r in caplog.records if "event loop stalled" in r.getMessage()]
    assert len(stalls) == 1
    late_ms, cpu_ms = stall_figures(stalls[0])
    assert 60 <= late_ms < 1000
    assert cpu_ms < 20          # it slept: the loop waited, it did not work


def test_a_stall_says_how_much_of_it_the_loop_spent_working(caplog):
    caplog.set_level(logging.WARNING, logger="chat.loop_monitor")
    watch_event_loop(LoopThatBlocks(0.080, busy=True), threshold_ms=40)
    stalls = [r.getMessage() for r in caplog.records if "event loop stalled" in r.getMessage()]
    late_ms, cpu_ms = stall_figures(stalls[0])
    assert 60 <= late_ms < 1000
    assert cpu_ms >= 50         # the whole stall was work on the loop's own thread


def stall_figures(line):
    match = re.search(r"late_ms=(\d+) cpu_ms=(\d+)", line)
    return int(match[1]), int(match[2])


def test_a_long_garbage_collection_is_logged(caplog):
    from chat.loop_monitor import watch_garbage_collections
    caplog.set_level(logging.WARNING, logger="chat.loop_monitor")
    callbacks = list(gc.callbacks)
    try:
        watch_garbage_collections(threshold_ms=0)
        garbage = [[] for _ in range(1000)]
        for item in garbage:
            item.append(item)             # cycles: only a collection frees them
        del garbage, item
        gc.collect()
    finally:
        gc.callbacks[:] = callbacks
    lines = [r.getMessage() for r in caplog.records if "garbage collection" in r.getMessage()]
    assert lines and re.search(r"took_ms=\d+ generation=2 collected=(\d+)", lines[-1])
    assert int(re.search(r"collected=(\d+)", lines[-1])[1]) >= 1000
