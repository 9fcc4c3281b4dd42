"""Watch the event loop of an eventlet or gevent server.

A task asks to wake every 10 ms; when it wakes late, every other task that was ready
waited as long (a blocking call, a long handler, a garbage collection pause, or simply
more work than one core can do), so the delay is logged, with the CPU time the loop's
thread used meanwhile: near the delay, the loop was held by work; far below it, the
process was waiting for a core (a busy machine), which no change of code would mend.
"""
import gc
import logging
import time

log = logging.getLogger(__name__)
INTERVAL_SECONDS = 0.01


def watch_event_loop(socketio, threshold_ms):
    """Log a warning whenever the loop was held for `threshold_ms` or more."""
    def watch():
        while True:
            started, cpu_started = time.perf_counter(), time.thread_time()
            socketio.sleep(INTERVAL_SECONDS)
            late_ms = (time.perf_counter() - started - INTERVAL_SECONDS) * 1000
            if late_ms >= threshold_ms:
                cpu_ms = (time.thread_time() - cpu_started) * 1000
                log.warning("event loop stalled late_ms=%.0f cpu_ms=%.0f", late_ms, cpu_ms)
    socketio.start_background_task(watch)


def watch_garbage_collections(threshold_ms):
    """Log a warning for each garbage collection that took `threshold_ms` or more: it holds the
    loop (and every OS thread) for its whole length, so it explains a stall whose CPU was high."""
    started = {}

    def timed(phase, info):
        if phase == "start":
            started["at"] = time.perf_counter()
        elif "at" in started:
            took_ms = (time.perf_counter() - started.pop("at")) * 1000
            if took_ms >= threshold_ms:
                log.warning("garbage collection took_ms=%.0f generation=%d collected=%d",
                            took_ms, info["generation"], info["collected"])
    gc.callbacks.append(timed)
