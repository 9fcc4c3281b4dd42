"""The agent dashboard: the page, its session list and chat window partials."""
from flask import Blueprint, abort, render_template, request
from flask_login import current_user, login_required

from . import access, messages, payloads, queue, sessions, team, validation, visitors
from .models import CHANNEL_TITLES, OPEN_STATUSES, isoformat, utcnow
from .realtime import presence
from .errors import ChatError

bp = Blueprint("dashboard", __name__)
HISTORY_PAGE = 100
QUEUE_PAGE = 100


@bp.app_template_filter("channel_title")
def channel_title(channel):
    """A chat's channel as people read it: "WhatsApp", "LINE", "Website"."""
    return CHANNEL_TITLES.get(channel, channel)


@bp.get("/")
def home():
    """See docs/protocol.md, HTTP: pages."""
    return render_template("home.html")


@bp.get("/dashboard")
@login_required
def index():
    """The agent's workspace: session list on the left, chat window on the right.
    See docs/protocol.md, HTTP: pages."""
    return render_template("dashboard/index.html")


@bp.get("/dashboard/sessions")
@login_required
def session_list():
    """Partial: Waiting and My chats, refreshed by HTMX on every queue change.
    See docs/protocol.md, HTTP: pages."""
    waiting, waiting_total = queue.waiting_sessions(current_user, limit=QUEUE_PAGE)
    mine = queue.sessions_of_agent(current_user)
    return render_template("dashboard/_session_list.html", waiting=waiting, waiting_total=waiting_total,
                           mine=mine, unread=queue.unread_counts(current_user.id, [chat.id for chat in mine]))


def viewable_session(session_id):
    chat_session = sessions.find_session(session_id)
    if chat_session is None or not access.may_view(current_user, chat_session):
        abort(404)
    return chat_session


@bp.get("/dashboard/sessions/<session_id>")
@login_required
def chat_window(session_id):
    """Partial: one chat's latest history (older pages on demand) and its controls.
    See docs/protocol.md, HTTP: pages."""
    chat_session = viewable_session(session_id)
    may_transfer = access.may_transfer(current_user, chat_session)
    return render_template("dashboard/_chat_window.html", chat=chat_session,
                           messages=[message.to_dict() for message in
                                     messages.latest(chat_session.id, limit=HISTORY_PAGE)],
                           may_write=access.may_write(current_user, chat_session),
                           may_note=access.may_note(current_user, chat_session),
                           may_claim=access.may_claim(current_user, chat_session),
                           may_end=access.may_end(current_user, chat_session),
                           may_join=access.may_join(current_user, chat_session) and not access.holds(current_user, chat_session),
                           may_transfer=may_transfer,
                           transfer_to=team.who_can_take(chat_session) if may_transfer else [],
                           online=set(presence.online_agent_ids()) if may_transfer else set(),
                           earlier=visitors.earlier_conversations(
                               chat_session, access.readable_transcripts(current_user, chat_session)),
                           reply_window=reply_window(chat_session))


def reply_window(chat_session):
    """An open WhatsApp chat's customer-service window, for the header's countdown and the
    template picker (static/js/reply-window.js): when it closes (None: the customer never wrote,
    so it is closed), the server's clock, and the window's length, which a customer's next message
    starts again. None on the other channels, which have no window."""
    if chat_session.channel != "whatsapp" or chat_session.status not in OPEN_STATUSES:
        return None
    closes_at = payloads.window_closes_at(chat_session)
    last = chat_session.visitor.last_inbound_at
    return {"closes_at": isoformat(closes_at), "now": isoformat(utcnow()),
            "seconds": int((closes_at - last).total_seconds()) if closes_at and last else 0}


@bp.get("/dashboard/sessions/<session_id>/earlier")
@login_required
def earlier_messages(session_id):
    """Partial: the page of history before `?before=<seq>`. See docs/protocol.md, HTTP: pages."""
    chat_session = viewable_session(session_id)
    try:
        before = validation.seq_argument(request.args, "before")
    except ChatError:
        abort(400)
    if before < 1:
        abort(400)
    return render_template("dashboard/_earlier_messages.html", chat=chat_session,
                           messages=[message.to_dict() for message in
                                     messages.latest(chat_session.id, before, limit=HISTORY_PAGE)])
