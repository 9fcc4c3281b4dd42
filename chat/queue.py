"""The queue: the dashboard's lists (the chats waiting for an agent, an agent's own chats, how
much of each an agent has read), and routing (an agent's capacity, a waiting visitor's place in
line and wait estimate, auto-assignment)."""
import logging
import statistics
import threading
from contextlib import contextmanager
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from . import access, publish
from .errors import ChatError
from .extensions import db
from .models import (
    EVERY_SITE_ROLES, Agent, ChatRead, ChatSession, Message, Site, agent_site, utcnow,
)
from .realtime import presence

log = logging.getLogger(__name__)


# The line: chats waiting for an agent (LINE_STATUSES; an equality walks the index in order).
_in_line = ChatSession.status == "waiting"


def waiting_sessions(agent, limit=100):
    """The queue of the sites `agent` serves, oldest first, and how many wait in all
    (the list shows the first `limit`)."""
    queued = _in_line
    if not access.supervises(agent):
        queued = queued & ChatSession.site_id.in_(agent.site_ids)
    rows = db.session.execute(
        select(ChatSession).where(queued).order_by(ChatSession.started_at).limit(limit)
    ).scalars().all()
    total = len(rows)
    if total == limit:
        total = db.session.execute(select(db.func.count()).select_from(ChatSession).where(queued)).scalar_one()
    return rows, total


def sessions_of_agent(agent):
    """The chats `agent` holds, most recent message first."""
    return db.session.execute(
        select(ChatSession).where(ChatSession.agent_id == agent.id, ChatSession.status == "active")
        .order_by(ChatSession.last_message_at.desc())
    ).scalars().all()


def mark_read(agent_id, chat, seq):
    """The agent has seen `chat` up to `seq` (never past its latest message, never backwards).
    Returns the seq now recorded."""
    seq = max(0, min(seq, chat.last_seq))
    postgres = db.engine.dialect.name == "postgresql"
    insert = (postgresql.insert if postgres else sqlite.insert)(ChatRead).values(
        agent_id=agent_id, session_id=chat.id, last_read_seq=seq)
    larger = func.greatest if postgres else func.max          # SQLite's max(a, b) is the scalar one
    db.session.execute(insert.on_conflict_do_update(
        index_elements=["agent_id", "session_id"],
        set_={"last_read_seq": larger(ChatRead.last_read_seq, insert.excluded.last_read_seq)}))
    db.session.commit()
    return db.session.execute(select(ChatRead.last_read_seq).where(
        ChatRead.agent_id == agent_id, ChatRead.session_id == chat.id)).scalar_one()


def unread_counts(agent_id, session_ids):
    """{session_id: how many visitor messages the agent has not read} for these chats (absent: none)."""
    if not session_ids:
        return {}
    read_up_to = (select(ChatRead.last_read_seq)
                  .where(ChatRead.agent_id == agent_id, ChatRead.session_id == Message.session_id)
                  .scalar_subquery())
    rows = db.session.execute(
        select(Message.session_id, func.count())
        .where(Message.session_id.in_(list(session_ids)), Message.sender_type == "visitor",
               Message.seq > func.coalesce(read_up_to, 0))
        .group_by(Message.session_id)
    ).all()
    return dict(rows)


# ---- capacity ----

def active_chat_count(agent_id):
    return db.session.execute(select(func.count()).select_from(ChatSession).where(
        ChatSession.agent_id == agent_id, ChatSession.status == "active")).scalar_one()


def require_capacity(agent, taken_by=None):
    """A plain agent holds at most `max_chats` active chats; supervisors and admins are not
    capped. Called inside a claim's transaction, which it opens with a write to the agent's row:
    that row (PostgreSQL) or the database (SQLite) stays locked until the claim commits, so two
    claims for one agent, from any processes, are counted one after the other. `taken_by`:
    someone else giving the agent the chat (a transfer), whom the refusal is worded for."""
    if access.supervises(agent):
        return
    max_chats = db.session.execute(
        update(Agent).where(Agent.id == agent.id).values(max_chats=Agent.max_chats)
        .returning(Agent.max_chats).execution_options(synchronize_session=False)).scalar_one()
    held = active_chat_count(agent.id)
    if held >= max_chats:
        chats = "1 chat" if held == 1 else f"{held} chats"
        if taken_by is not None and taken_by.id != agent.id:
            raise ChatError("at_capacity", f"{agent.display_name} already has {chats}, their maximum; "
                                           "choose someone else.")
        raise ChatError("at_capacity", f"You already have {chats}, your maximum; end one first.")


# ---- a waiting visitor's place in line and the wait estimate ----

POSITIONS_TOLD = 50           # on each change of a site's queue, the first 50 in line hear their place
WAIT_SAMPLE_CLAIMS = 20       # the wait estimate: the median wait of the site's last 20 claims...
WAIT_SAMPLE_MINUTES = 60      # ...within the last hour (none in that hour: no estimate)

_line_order = (ChatSession.queued_at, ChatSession.id)


def queue_position(chat):
    """1-based place of a queued chat among its site's queued chats, by when each joined the
    queue (then by id); None when the chat is not queued."""
    if not chat.in_line:
        return None
    queued_at = chat.queued_at or chat.started_at
    of_site = (ChatSession.site_id == chat.site_id, _in_line)
    # Two counts, so that the first reads the index alone (a long line is counted in a few ms).
    earlier = select(func.count()).select_from(ChatSession).where(*of_site, ChatSession.queued_at < queued_at)
    tied = select(func.count()).select_from(ChatSession).where(
        *of_site, ChatSession.queued_at == queued_at, ChatSession.id < chat.id)
    ahead = db.session.execute(select(earlier.scalar_subquery() + tied.scalar_subquery())).scalar_one()
    return ahead + 1


def first_in_line(site_id, limit):
    """(id, queued_at) of the first `limit` chats in the site's line, in line order (the query
    walks the index in order)."""
    rows = db.session.execute(
        select(ChatSession.id, ChatSession.queued_at)
        .where(ChatSession.site_id == site_id, _in_line)
        .order_by(*_line_order).limit(limit)).all()
    return rows


def estimated_wait(site_id, now=None):
    """How long the site's visitors waited lately, in seconds: the median of claimed_at -
    queued_at over its last WAIT_SAMPLE_CLAIMS claims of the last WAIT_SAMPLE_MINUTES; None
    without any (no estimate rather than a made-up one)."""
    now = now or utcnow()
    rows = db.session.execute(
        select(ChatSession.queued_at, ChatSession.claimed_at)
        .where(ChatSession.site_id == site_id, ChatSession.queued_at.is_not(None),
               ChatSession.claimed_at >= now - timedelta(minutes=WAIT_SAMPLE_MINUTES))
        .order_by(ChatSession.claimed_at.desc()).limit(WAIT_SAMPLE_CLAIMS)
    ).all()
    waits = [max(0.0, (claimed - queued).total_seconds()) for queued, claimed in rows]
    return statistics.median(waits) if waits else None


def wait_left(site_wait, queued_at, now):
    """The estimate for one visitor: the recent median wait less what it has waited already;
    None once it has waited that long (the estimate no longer says anything)."""
    if site_wait is None or queued_at is None:
        return None
    left = site_wait - (now - queued_at).total_seconds()
    return round(left) if left >= 1 else None


def position_payload(chat):
    """The `queue_position` event of a queued chat: `{session_id, position, estimated_wait_seconds}`;
    None when the chat is not queued."""
    position = queue_position(chat)
    if position is None:
        return None
    now = utcnow()
    return {"session_id": chat.id, "position": position,
            "estimated_wait_seconds": wait_left(estimated_wait(chat.site_id, now), chat.queued_at, now)}


_batch = threading.local()          # within line_changes_batched: the sites whose line moved


@contextmanager
def line_changes_batched():
    """Within it, a line that moves is told once, at the end, however many chats left it (an
    assignment round, a sweep that ends many chats); nested, the outermost tells."""
    if getattr(_batch, "sites", None) is not None:
        yield
        return
    _batch.sites = set()
    try:
        yield
    finally:
        moved, _batch.sites = _batch.sites, None
    for site_id in moved:
        tell_positions(site_id)


def queue_moved(chat):
    """After a status change of `chat` is committed: the waiting visitors of its site whose
    place changed hear it. A chat that joined the queue is last in line (only it is told); one that
    left it (claimed, or ended while it waited) moves everyone behind it up."""
    if chat.in_line:
        publish.queue_position(chat.id, position_payload(chat))
    elif chat.status != "bot" and (chat.status == "active" or chat.claimed_at is None):
        batched = getattr(_batch, "sites", None)
        if batched is not None:
            batched.add(chat.site_id)
        else:
            tell_positions(chat.site_id)


def tell_positions(site_id, now=None):
    """Each of the first POSITIONS_TOLD queued chats of the site hears its place and wait (a
    query per queued status for the line, one for the estimate, one emit each: bounded however
    long the line).
    Those further back heard their place when they joined, and hear it again once they are
    among the first POSITIONS_TOLD."""
    now = now or utcnow()
    line = first_in_line(site_id, POSITIONS_TOLD)
    if not line:
        return
    site_wait = estimated_wait(site_id, now)
    for position, (session_id, queued_at) in enumerate(line, start=1):
        publish.queue_position(session_id, {"session_id": session_id, "position": position,
                                            "estimated_wait_seconds": wait_left(site_wait, queued_at, now)})


# ---- auto-assignment ----

def choose_agent(candidates):
    """Who takes the next waiting chat: among `candidates` (objects with `agent_id`, `held`,
    `max_chats`, `idle_since`), those under capacity, the least busy; then the one idle longest
    (idle since its last claim or its last chat's end; never either: idle longest of all); then
    the lowest id. None when nobody can."""
    able = [c for c in candidates if c.held < c.max_chats]
    if not able:
        return None
    return min(able, key=lambda c: (c.held, c.idle_since or datetime.min, c.agent_id))


class Candidate:
    __slots__ = ("agent_id", "held", "max_chats", "idle_since")

    def __init__(self, agent_id, held, max_chats, idle_since):
        self.agent_id, self.held, self.max_chats, self.idle_since = agent_id, held, max_chats, idle_since


def candidates(site_id):
    """The agents who may be given a chat of the site: online (a dashboard connected, any
    process), enabled, plain agents (supervisors and admins are never auto-assigned: they
    watch every site and pick up chats themselves) who serve the site; with their load."""
    online = presence.online_agent_ids()
    if not online:
        return []
    mine = ChatSession.agent_id == Agent.id
    held = select(func.count()).select_from(ChatSession).where(mine, ChatSession.status == "active")
    last_claim = select(func.max(ChatSession.claimed_at)).where(mine)
    last_end = select(func.max(ChatSession.ended_at)).where(mine)
    rows = db.session.execute(
        select(Agent.id, Agent.max_chats, held.scalar_subquery(), last_claim.scalar_subquery(),
               last_end.scalar_subquery())
        .join(agent_site, agent_site.c.agent_id == Agent.id)
        .where(agent_site.c.site_id == site_id, Agent.id.in_(online), Agent.active.is_(True),
               Agent.role.notin_(EVERY_SITE_ROLES))
    ).all()
    return [Candidate(agent_id, held, max_chats, max((t for t in (claimed, ended) if t), default=None))
            for agent_id, max_chats, held, claimed, ended in rows]


def assign(site_id):
    """Auto-assignment for a site whose routing is "auto": each waiting chat, first in line
    first, is claimed (sessions.claim_session: the joined message, the events) for the agent
    `choose_agent` picks, until the line or the agents' capacity runs out; a chat nobody can
    take waits for the next offer. Safe against manual claims and other processes: a claim is
    one conditional UPDATE (a chat claimed meanwhile is skipped) and capacity is checked under
    the agent's lock. Returns the ids of the chats assigned."""
    site = db.session.get(Site, site_id)
    if site is None or site.routing != "auto":
        return []
    assigned = []
    with line_changes_batched():
        _assign_waiting(site_id, assigned)
    return assigned


def _assign_waiting(site_id, assigned):
    """Claim the site's waiting chats, first in line first, while anyone can take one."""
    from . import sessions          # sessions tells the queue of its changes
    waiting = db.session.execute(
        select(ChatSession).where(ChatSession.site_id == site_id, ChatSession.status == "waiting")
        .order_by(*_line_order).limit(200)).scalars().all()
    for chat in waiting:
        for _attempt in range(3):
            choice = choose_agent(candidates(site_id))
            if choice is None:
                return
            try:
                sessions.claim_session(chat, db.session.get(Agent, choice.agent_id))
            except ChatError as refusal:
                db.session.rollback()
                if refusal.code == "at_capacity":
                    continue                # filled up meanwhile (another process): choose again
                break                       # claimed by hand or ended meanwhile: the next chat
            log.info("session assigned session=%s agent=%s", chat.id, choice.agent_id)
            assigned.append(chat.id)
            break


def offer_waiting(site_ids=None):
    """Offer the waiting chats again (someone came online, freed up or got more capacity):
    `assign` for each of `site_ids` (default: every site) whose routing is "auto" and which has
    chats waiting. Returns the ids assigned. A failure is logged, never raised: what offered the
    chats (a start, an end, a connect) has happened, and the next offer or tick tries again."""
    query = (select(Site.id).where(Site.routing == "auto")
             .where(select(ChatSession.id).where(ChatSession.site_id == Site.id,
                                                 ChatSession.status == "waiting").exists()))
    if site_ids is not None:
        site_ids = list(site_ids)
        if not site_ids:
            return []
        query = query.where(Site.id.in_(site_ids))
    assigned = []
    for site_id in db.session.execute(query).scalars().all():
        try:
            assigned += assign(site_id)
        except Exception:
            db.session.rollback()
            log.exception("auto-assignment failed site=%s", site_id)
    return assigned


def offer_after(session_ids):
    """These chats left an agent (ended, or back in the queue): offer their sites' waiting chats."""
    if not session_ids:
        return []
    sites = db.session.execute(select(ChatSession.site_id).where(
        ChatSession.id.in_(list(session_ids))).distinct()).scalars().all()
    return offer_waiting(sites)
