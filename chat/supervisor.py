"""The supervisor view (roles supervisor and admin): every open chat live, the team, and
chats side by side. The page draws itself from `GET /supervisor/overview` and then from the
events of the `supervisors` room (docs/protocol.md, "The supervisor view"); its actions are
the /agent socket events, each checked by `access`."""
import json
from dataclasses import dataclass, fields
from datetime import datetime

from flask import Blueprint, current_app, render_template, request
from flask_login import current_user, login_required
from sqlalchemy import func, select

from . import access, payloads
from .errors import json_error, refused_page
from .extensions import db, socketio
from .models import (
    OPEN_STATUSES, Agent, ChatSession, Site, StatusGroups, Visitor, isoformat, utcnow, visitor_label,
)
from .realtime import presence

bp = Blueprint("supervisor", __name__, url_prefix="/supervisor")
REFUSAL = "Only a supervisor or an admin may see every chat and the team."


@bp.app_context_processor
def supervisor_link():
    """Pages show the Supervisor link to those who may use it."""
    return {"may_supervise": current_user.is_authenticated and access.supervises(current_user)}


@bp.before_request
@login_required
def supervisors_only():
    if access.supervises(current_user):
        return None
    if request.endpoint == "supervisor.overview":
        return json_error("forbidden", REFUSAL, 403)
    return refused_page("Supervisors only", REFUSAL)


@bp.get("")
def index():
    """The page: the list of open chats, the team, the chat panes. See docs/protocol.md, HTTP: pages."""
    return render_template("supervisor/index.html")


ROWS_PER_PIECE = 100


@bp.get("/overview")
def overview():
    """Every open chat as a row, longest waiting first, and the team. See docs/protocol.md,
    "The supervisor view".

    A thousand rows take tens of milliseconds to read and encode: done in one go, that holds
    every socket of the process (an event-loop stall). So they are read, built and encoded
    ROWS_PER_PIECE at a time, letting the loop serve others between pieces."""
    online_visitors = presence.online_visitor_ids()
    viewing = presence.viewers_by_chat()
    pieces = []
    for chats in open_chats(ROWS_PER_PIECE):
        pieces.append(",".join(json.dumps(payloads.overview(chat, chat.id in online_visitors, viewing.get(chat.id, [])))
                               for chat in chats))
        socketio.sleep(0)
    body = (f'{{"chats": [{",".join(piece for piece in pieces if piece)}], '
            f'"team": {json.dumps(team())}, "now": {json.dumps(isoformat(utcnow()))}}}')
    return current_app.response_class(body, mimetype="application/json")


# A row's columns read without the ORM: building 1,000 ChatSession objects (with their site,
# visitor and agent) was most of the view's load (docs/benchmarks.md). A ChatRow answers what
# payloads.overview asks of a ChatSession.

@dataclass(frozen=True)
class Named:
    name: str | None

    @property
    def display_name(self):
        return self.name


@dataclass(frozen=True)
class VisitorFacts:
    """What a row needs of its visitor: WhatsApp's window runs from its last message."""
    name: str | None
    last_inbound_at: datetime | None


@dataclass(frozen=True)
class ChatRow(StatusGroups):
    id: str
    status: str
    agent_id: int | None
    channel: str
    last_message_preview: str | None
    started_at: datetime
    last_message_at: datetime | None
    end_reason: str | None
    last_seq: int
    queued_at: datetime | None
    claimed_at: datetime | None
    expires_at: datetime
    last_activity_at: datetime
    visitor_last_seen_at: datetime
    visitor_away: bool
    offline: bool
    visitor_name: str | None
    visitor_last_inbound_at: datetime | None
    agent_name: str | None
    site_name: str

    @property
    def visitor_label(self):
        return visitor_label(self.visitor_name, self.id)

    @property
    def visitor(self):
        return VisitorFacts(self.visitor_name, self.visitor_last_inbound_at)

    @property
    def agent(self):
        return Named(self.agent_name) if self.agent_id is not None else None

    @property
    def site(self):
        return Named(self.site_name)


ROW_COLUMNS = [getattr(ChatSession, field.name) for field in fields(ChatRow)[:-4]] + [
    Visitor.name, Visitor.last_inbound_at, Agent.display_name, Site.name]


def open_chats(size):
    """Every open chat, the one that joined the queue longest ago first, `size` ChatRows at a time."""
    result = db.session.execute(
        select(*ROW_COLUMNS).join(Visitor, Visitor.id == ChatSession.visitor_id)
        .join(Site, Site.id == ChatSession.site_id).outerjoin(Agent, Agent.id == ChatSession.agent_id)
        .where(ChatSession.status.in_(OPEN_STATUSES))
        .order_by(func.coalesce(ChatSession.queued_at, ChatSession.started_at)))
    for rows in result.partitions(size):
        yield [ChatRow(*row) for row in rows]


def team():
    """Every enabled member of the team with its presence, the chats it holds and its capacity."""
    held = dict(db.session.execute(
        select(ChatSession.agent_id, func.count()).where(ChatSession.status == "active")
        .group_by(ChatSession.agent_id)).all())
    online = set(presence.online_agent_ids())
    agents = db.session.execute(select(Agent).where(Agent.active).order_by(Agent.display_name)).scalars().all()
    return [payloads.team_member(agent, agent.id in online, held.get(agent.id, 0)) for agent in agents]
