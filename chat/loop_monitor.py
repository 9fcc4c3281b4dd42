"""Watch the event loop of an eventlet or gevent server.

A task asks to wake every 10 ms; when it wakes late, every other task that was ready
waited as long (a blocking call, a long handler, a garbage collection pause, or simply
more work than one core can do), so the delay is logged.
"""
import logging
import time

log = logging.getLogger(__name__)
INTERVAL_SECONDS = 0.01


def watch_event_loop(socketio, threshold_ms):
    """Log a warning whenever the loop was held for `threshold_ms` or more."""
    def watch():
        while True:
            started = time.perf_counter()
            socketio.sleep(INTERVAL_SECONDS)
            late_ms = (time.perf_counter() - started - INTERVAL_SECONDS) * 1000
            if late_ms >= threshold_ms:
                log.warning("event loop stalled late_ms=%.0f", late_ms)
    socketio.start_background_task(watch)
