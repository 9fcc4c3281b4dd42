"""Housekeeping jobs: each rule is one idempotent sweep (UPDATE ... WHERE), run
once per tick across every server process thanks to a lease row."""
import logging
import os
import socket
from datetime import timedelta

from flask import current_app
from sqlalchemy import and_, insert, update
from sqlalchemy.exc import IntegrityError

from . import publish
from .extensions import db
from .models import OPEN_STATUSES, QUEUED_STATUSES, ChatSession, JobLease, utcnow
from .sessions import _append_system_message, end_message

log = logging.getLogger(__name__)
LEASE_NAME = "housekeeping"
HOLDER = f"{socket.gethostname()}:{os.getpid()}"


def _end_where(condition, reason, status, now):
    """End every open session matching `condition` with a system message; returns them."""
    ended_ids = db.session.execute(
        update(ChatSession).where(ChatSession.status.in_(OPEN_STATUSES), condition)
        .values(status=status, ended_at=now, end_reason=reason)
        .returning(ChatSession.id).execution_options(synchronize_session=False)
    ).scalars().all()
    text = end_message(reason)
    messages = [_append_system_message(session_id, text, require_open=False) for session_id in ended_ids]
    db.session.commit()
    for message in messages:
        chat_session = db.session.get(ChatSession, message.session_id)
        db.session.refresh(chat_session)
        publish.to_session("message", message.to_dict(), chat_session.id)
        publish.status_changed(chat_session)
    return ended_ids


def expire_overdue_sessions(now):
    """Every open session ends 22 hours after it started (WhatsApp's 24-hour window)."""
    return _end_where(ChatSession.expires_at <= now, "expired", "ended", now)


def abandon_inactive_sessions(now):
    """Unassigned sessions with no message and no page load for 30 minutes."""
    cutoff = now - timedelta(minutes=current_app.config["INACTIVITY_MINUTES"])
    return _end_where(and_(ChatSession.agent_id.is_(None), ChatSession.status.in_(QUEUED_STATUSES),
                           ChatSession.last_activity_at <= cutoff),
                      "inactivity", "abandoned", now)


def abandon_silent_visitors(now):
    """Visitors neither connected nor heard from for 5 minutes: a queued session is
    abandoned; an agent's open chat stays, and the agent sees the visitor as gone."""
    cutoff = now - timedelta(minutes=current_app.config["HEARTBEAT_TIMEOUT_MINUTES"])
    silent = ChatSession.visitor_last_seen_at <= cutoff
    abandoned = _end_where(and_(ChatSession.status.in_(QUEUED_STATUSES), silent),
                           "heartbeat_timeout", "abandoned", now)
    gone_ids = db.session.execute(
        update(ChatSession).where(ChatSession.status == "active", silent, ChatSession.visitor_away.is_(False))
        .values(visitor_away=True).returning(ChatSession.id)
        .execution_options(synchronize_session=False)
    ).scalars().all()
    db.session.commit()
    for session_id in gone_ids:
        publish.to_session("presence", {"session_id": session_id, "visitor_online": False,
                                        "reason": "heartbeat_timeout"}, session_id)
    return abandoned + gone_ids


SWEEPS = (expire_overdue_sessions, abandon_silent_visitors, abandon_inactive_sessions)


def take_lease(now, seconds):
    """True if this process holds the jobs' lease until now + seconds."""
    until = now + timedelta(seconds=seconds)
    taken = db.session.execute(
        update(JobLease).where(JobLease.name == LEASE_NAME,
                               (JobLease.expires_at <= now) | (JobLease.holder == HOLDER))
        .values(holder=HOLDER, expires_at=until).execution_options(synchronize_session=False)
    ).rowcount
    if not taken:
        try:
            db.session.execute(insert(JobLease).values(name=LEASE_NAME, holder=HOLDER, expires_at=until))
            taken = 1
        except IntegrityError:
            taken = 0
    if taken:
        db.session.commit()
    else:
        db.session.rollback()
    return bool(taken)


def run_jobs(now=None, use_lease=True):
    """One tick: every sweep once, if this process holds the lease. Returns counts or None."""
    now = now or utcnow()
    lease_seconds = max(current_app.config["JOBS_INTERVAL_SECONDS"] - 1, 1)
    if use_lease and not take_lease(utcnow(), lease_seconds):
        return None
    counts = {}
    for sweep in SWEEPS:
        try:
            counts[sweep.__name__] = len(sweep(now))
        except Exception:
            db.session.rollback()
            log.exception("job %s failed", sweep.__name__)
    if any(counts.values()):
        log.info("jobs: %s", counts)
    return counts


def start_scheduler(app):
    """Run the jobs every JOBS_INTERVAL_SECONDS in this (serving) process."""
    if not app.config["SCHEDULER_ENABLED"]:
        return None
    from apscheduler.schedulers.background import BackgroundScheduler

    from .realtime import presence
    from .realtime.disconnect import disconnect_signed_out_agents

    def tick():
        with app.app_context():
            try:
                disconnect_signed_out_agents()   # this process's own sockets: no lease
                presence.refresh()
                run_jobs()
            finally:
                db.session.remove()

    scheduler = BackgroundScheduler(daemon=True)
    scheduler.add_job(tick, "interval", seconds=app.config["JOBS_INTERVAL_SECONDS"],
                      id="housekeeping", max_instances=1, coalesce=True)
    scheduler.start()
    return scheduler
