"""History: past chats as a page (filters, a paginated table, a read-only transcript), a CSV
export and a JSON endpoint. Views translate; the query is `history_search`, who may see what
is `access`. See docs/protocol.md, HTTP: history."""
import csv
import io
import math

from flask import Blueprint, Response, abort, jsonify, render_template, request
from flask_login import current_user, login_required

from . import access, history_search, sessions
from .auth import api_login_required
from .errors import ChatError
from .models import CHANNELS, SESSION_STATUSES, isoformat

bp = Blueprint("history", __name__)
FILTER_NAMES = ("agent_id", "status", "channel", "search", "start_date", "end_date")


@bp.app_template_filter("duration")
def duration(seconds):
    """3 h 05 min, 4 min 10 s, 45 s."""
    hours, rest = divmod(max(0, int(seconds)), 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    return f"{minutes} min {seconds:02d} s" if minutes else f"{seconds} s"


def row_payload(row):
    """One chat of the list, as the JSON endpoint answers it (seed 004's names where it has them)."""
    return {
        "id": row.id, "agent_id": row.agent_id, "agent_name": row.agent_name, "status": row.status,
        "end_reason": row.end_reason, "channel": row.channel, "site_name": row.site_name,
        "visitor_name": row.visitor_label, "visitor_email": row.visitor_email,
        "started_at": isoformat(row.started_at), "ended_at": isoformat(row.ended_at),
        "message_count": row.message_count, "duration_seconds": row.duration_seconds,
    }


@bp.get("/history")
@login_required
def index():
    """The filter form and one page of matching chats, newest first."""
    shown = {name: request.args.get(name, "") for name in FILTER_NAMES}
    try:
        filters = history_search.filters_from(request.args)
        page, per_page = history_search.page_from(request.args)
    except ChatError as error:
        return history_page(shown, error=error.message), 400
    found = history_search.find_chats(current_user, filters, page, per_page)
    return history_page(shown, found=found, page=page, pages=found.pages(per_page))


def history_page(shown, found=history_search.HistoryPage([], 0), page=1, pages=1, error=None):
    query = {name: value for name, value in shown.items() if value}
    return render_template("history/index.html", shown=shown, query=query, rows=found.rows, total=found.total,
                           more=found.total_is_lower_bound, page=page, pages=pages, error=error,
                           statuses=SESSION_STATUSES, channels=CHANNELS, agents=history_search.agents_to_filter_by())


@bp.get("/history/<session_id>")
@login_required
def transcript(session_id):
    """Every message of one chat the agent may read, notes marked (to those who may read them);
    read only."""
    try:
        chat = access.require_transcript(current_user, sessions.find_session(session_id))
    except ChatError:
        abort(404)
    notes = access.may_read_notes(current_user, chat)
    messages = [message.to_dict() for message in history_search.transcript(chat, notes=notes)]
    return render_template("history/transcript.html", chat=chat, messages=messages)


CSV_COLUMNS = ("started_at", "ended_at", "visitor_name", "visitor_email", "site_name", "channel", "agent_name",
               "status", "end_reason", "message_count", "attachment_count", "duration_seconds", "id")


def csv_cell(value):
    """A cell no spreadsheet runs as a formula: text starting with = + - @ (or a tab or
    carriage return) gets a leading quote."""
    if value is None:
        return ""
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@bp.get("/history.csv")
@login_required
def export():
    """The filtered list (every page, up to history_search.EXPORT_LIMIT chats; for a search, the
    MATCH_CAP chats it lists) as CSV."""
    try:
        filters = history_search.filters_from(request.args)
    except ChatError as error:
        return Response(error.message, status=400, mimetype="text/plain")
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    rows = history_search.chats_to_export(current_user, filters)
    files = history_search.attachment_counts(row.id for row in rows)
    for row in rows:
        payload = dict(row_payload(row), attachment_count=files.get(row.id, 0))
        writer.writerow([csv_cell(payload[column]) for column in CSV_COLUMNS])
    return Response(out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="chat-history.csv"'})


@bp.get("/api/v1/agent/sessions/history")
@api_login_required
def api_history():
    """JSON: {items, total, total_is_lower_bound, page, per_page, pages}; filters as the page.
    400 invalid_payload."""
    filters = history_search.filters_from(request.args)
    page, per_page = history_search.page_from(request.args, default_per_page=50)
    found = history_search.find_chats(current_user, filters, page, per_page)
    return jsonify({"items": [row_payload(row) for row in found.rows], "total": found.total,
                    "total_is_lower_bound": found.total_is_lower_bound, "page": page,
                    "per_page": per_page, "pages": math.ceil(found.total / per_page)})
