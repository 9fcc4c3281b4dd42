"""The event-loop watch logs a stall when its 10 ms wake-up comes late."""
import logging
import time

import pytest

from chat.loop_monitor import watch_event_loop


class LoopThatBlocks:
    """Stands in for socketio: each sleep takes `sleeps` seconds (a busy loop), then stops."""

    def __init__(self, *sleeps):
        self.sleeps = list(sleeps)

    def sleep(self, _seconds):
        if not self.sleeps:
            raise StopIteration
        time.sleep(self.sleeps.pop(0))

    def start_background_task(self, task):
        with pytest.raises(StopIteration):
            task()


def test_a_late_wake_up_is_logged_and_a_punctual_one_is_not(caplog):
    caplog.set_level(logging.WARNING, logger="chat.loop_monitor")
    watch_event_loop(LoopThatBlocks(0.010, 0.080), threshold_ms=40)
    stalls = [r.getMessage() for r in caplog.records if "event loop stalled" in r.getMessage()]
    assert len(stalls) == 1
    assert 60 <= int(stalls[0].split("late_ms=")[1]) < 1000
