"""The agent dashboard: the page, its session list and chat window partials."""
from flask import Blueprint, abort, render_template, request
from flask_login import current_user, login_required

from . import access, messages, queue, sessions, team, validation, visitors
from .realtime import presence
from .errors import ChatError

bp = Blueprint("dashboard", __name__)
HISTORY_PAGE = 100
QUEUE_PAGE = 100


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
                               chat_session, access.readable_transcripts(current_user, chat_session)))


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
