"""Housekeeping jobs: each rule selects what is due and hands it to `sessions` (one
idempotent UPDATE ... WHERE each), run once per tick across every server process thanks
to a lease row."""
import logging
import os
import socket
from datetime import timedelta

from flask import current_app
from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from . import attachments, queue, sessions
from .channels import events as channel_events
from .realtime import presence
from .extensions import db
from .models import QUEUED_STATUSES, Agent, ChatSession, JobLease, utcnow

log = logging.getLogger(__name__)
LEASE_NAME = "housekeeping"
HOLDER = f"{socket.gethostname()}:{os.getpid()}"


def inactivity_limit():
    """How long a queued chat may go without a message or a page load before it is abandoned."""
    return timedelta(minutes=current_app.config["INACTIVITY_MINUTES"])


def silence_limit():
    """How long a queued chat's visitor may be neither connected nor heard from."""
    return timedelta(minutes=current_app.config["HEARTBEAT_TIMEOUT_MINUTES"])


def away_limit():
    """How long an agent with no dashboard connected keeps its chats."""
    return timedelta(minutes=current_app.config["AGENT_AWAY_MINUTES"])


def abandonment_deadlines(chat_session):
    """When the sweeps below would abandon this chat if nothing happened meanwhile, as
    (for inactivity, for a silent visitor); (None, None) for a chat no sweep abandons (an
    agent holds it, it is over, or it holds a message left for the team while nobody could
    answer, or it is a phone's: only expiry ends those). The silence one counts only while the
    visitor is offline."""
    if not chat_session.is_queued or chat_session.offline or chat_session.channel != "web":
        return None, None
    return (chat_session.last_activity_at + inactivity_limit(),
            chat_session.visitor_last_seen_at + silence_limit())


def expire_overdue_sessions(now):
    """Every open session ends 22 hours after it started (WhatsApp's 24-hour window), a phone's
    too: its customer is told (channels/words.py)."""
    return sessions.end_many(ChatSession.expires_at <= now, "expired", now=now)


# A phone's chat (WhatsApp, LINE) has no page and no heartbeat: the customer answers when
# they can, so only expiry ends it.
_on_the_widget = ChatSession.channel == "web"
# Unassigned chats a sweep may abandon: the widget's, and not one holding a message left through
# the offline form (it waits for the team however long the visitor is gone, until it expires).
_abandonable = and_(ChatSession.status.in_(QUEUED_STATUSES), ChatSession.offline.is_(False), _on_the_widget)


def abandon_inactive_sessions(now):
    """Unassigned sessions with no message and no page load for 30 minutes."""
    cutoff = now - inactivity_limit()
    return sessions.end_many(and_(_abandonable, ChatSession.last_activity_at <= cutoff),
                             "inactivity", status="abandoned", now=now)


def abandon_silent_visitors(now):
    """Visitors neither connected nor heard from for 5 minutes: a queued session is
    abandoned; an agent's open chat stays, and the agent sees the visitor as gone."""
    cutoff = now - silence_limit()
    silent = and_(_on_the_widget, ChatSession.visitor_last_seen_at <= cutoff)
    abandoned = sessions.end_many(and_(_abandonable, silent),
                                  "heartbeat_timeout", status="abandoned", now=now)
    return abandoned + sessions.mark_visitors_away(silent)


def requeue_chats_of_absent_agents(now):
    """Active chats whose agent has had no dashboard connected for AGENT_AWAY_MINUTES go
    back to the queue (seen by no process since; an agent online now is never absent)."""
    cutoff = now - away_limit()
    absent = select(Agent.id).where(or_(Agent.last_seen_at.is_(None), Agent.last_seen_at <= cutoff),
                                    Agent.id.notin_(presence.online_agent_ids()))
    return sessions.return_to_queue(ChatSession.agent_id.in_(absent), "away")


def offer_waiting_chats(now):
    """The backstop of auto-assignment: whatever still waits on an "auto" site is offered
    again (each event that frees an agent offers it at once; this catches what they missed)."""
    return queue.offer_waiting()


def delete_unsent_attachments(now):
    """Files uploaded ATTACHMENT_DRAFT_HOURS ago that no message names: a draft never sent."""
    return attachments.delete_unsent(now - timedelta(hours=current_app.config["ATTACHMENT_DRAFT_HOURS"]))


def retry_channel_events(now):
    """WhatsApp's and LINE's events a server kept but did not finish (it died after answering
    the webhook) are handled again; old ones are forgotten (channels/events.py)."""
    return channel_events.sweep(now)


def queue_unsent_channel_messages(now):
    """WhatsApp and LINE messages a crash left without their outbox row (channels/outbox.py)."""
    from .channels import outbox
    return outbox.sweep(now)


SWEEPS = (expire_overdue_sessions, abandon_silent_visitors, abandon_inactive_sessions,
          requeue_chats_of_absent_agents, offer_waiting_chats, delete_unsent_attachments,
          queue_unsent_channel_messages, retry_channel_events)


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

    from .realtime.disconnect import disconnect_signed_out_agents

    def tick():
        with app.app_context():
            try:
                disconnect_signed_out_agents()   # this process's own sockets: no lease
                presence.refresh()
                sessions.agents_seen(presence.local_agent_ids())
                run_jobs()
            finally:
                db.session.remove()

    scheduler = BackgroundScheduler(daemon=True)
    scheduler.add_job(tick, "interval", seconds=app.config["JOBS_INTERVAL_SECONDS"],
                      id="housekeeping", max_instances=1, coalesce=True)
    scheduler.start()
    return scheduler
