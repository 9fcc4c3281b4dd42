"""/reports (supervisors and admins): the figures of `reports` for a date range, as a page
with charts and tables, and each table as CSV. Views translate; the figures are in `reports`."""
import csv
import io

from flask import Blueprint, Response, abort, render_template, request
from flask_login import current_user, login_required

from . import access, reports
from .errors import ChatError, refused_page
from .models import utcnow

bp = Blueprint("reports", __name__, url_prefix="/reports")

TIMED_COLUMNS = ("waiting_median_s", "waiting_p90_s", "first_response_median_s", "first_response_p90_s",
                 "duration_median_s", "duration_p90_s")


@bp.app_context_processor
def reports_link():
    """Pages show the Reports link to those who may read them."""
    return {"may_read_reports": current_user.is_authenticated and access.reads_reports(current_user)}


@bp.app_template_filter("seconds")
def seconds_in_words(value):
    """45 s, 2 min 05 s, 1 h 05 min; a dash for no value."""
    if value is None:
        return "–"
    if value < 60:
        return f"{value} s"
    if value < 3600:
        return f"{value // 60} min {value % 60:02d} s"
    return f"{value // 3600} h {value % 3600 // 60:02d} min"


@bp.before_request
@login_required
def supervisors_only():
    if not access.reads_reports(current_user):
        return refused_page("Supervisors only", "Only a supervisor or an admin may read the reports.")
    return None


def asked_range():
    return reports.date_range(request.args.get("from"), request.args.get("to"), utcnow().date())


@bp.get("")
def index():
    """The figures of the chats started in `?from=&to=` (UTC days; the last 7 by default).
    See docs/protocol.md, HTTP: pages."""
    try:
        first_day, last_day = asked_range()
    except ChatError as error:
        return render_template("reports/index.html", error=error.message, asked=request.args), 400
    report = reports.report(first_day, last_day)
    return render_template("reports/index.html", report=report, chart_data=chart_data(report),
                           bot=reports.bot_figures(first_day, last_day), handoff_words=HANDOFF_WORDS,
                           range_args={"from": first_day.isoformat(), "to": last_day.isoformat()},
                           asked={"from": first_day.isoformat(), "to": last_day.isoformat()})


def chart_data(report):
    """What static/js/reports.js draws (the same numbers as the tables)."""
    return {
        "days": [day.label for day in report.days],
        "started": [day.started for day in report.days],
        "handled": [day.handled for day in report.days],
        "abandoned": [day.abandoned for day in report.days],
        "waiting_median": [day.waiting_median for day in report.days],
        "waiting_p90": [day.waiting_p90 for day in report.days],
        "hours": report.hours,
        "reasons": [reason for reason, _ in report.abandoned],
        "reason_counts": [count for _, count in report.abandoned],
    }


def rate(figures):
    return "" if figures.restoration_rate is None else f"{figures.restoration_rate:.4f}"


def timed(figures):
    return [figures.waiting_median, figures.waiting_p90, figures.response_median, figures.response_p90,
            figures.duration_median, figures.duration_p90]


def counted(figures):
    return [figures.started, figures.handled, figures.abandoned, figures.restored, rate(figures)]


COUNTED_COLUMNS = ("started", "handled", "abandoned", "restored", "restoration_rate")
TABLES = {
    "summary": (("from", "to", *COUNTED_COLUMNS, *TIMED_COLUMNS),
                lambda r: [[r.first_day.isoformat(), r.last_day.isoformat(), *counted(r.summary), *timed(r.summary)]]),
    "days": (("day", *COUNTED_COLUMNS, *TIMED_COLUMNS),
             lambda r: [[day.label, *counted(day), *timed(day)] for day in r.days]),
    "agents": (("agent", "handled", "restored", *TIMED_COLUMNS),
               lambda r: [[agent.label, agent.handled, agent.restored, *timed(agent)] for agent in r.agents]),
    "abandoned": (("end_reason", "chats"), lambda r: [list(row) for row in r.abandoned]),
    "hours": (("hour_utc", "chats"), lambda r: [[f"{hour:02d}:00", count] for hour, count in enumerate(r.hours)]),
}
# The bot's table: its totals, then its handoffs by reason (reports.bot_figures).
BOT_TABLE = (("figure", "chats"), lambda b: [["with_bot", b.chats], ["resolved_by_bot", b.resolved],
                                             ["handed_off", b.handed_off], ["unanswered_questions", b.unanswered],
                                             *[[f"handed_off:{reason}", count] for reason, count in b.handoffs]])
HANDOFF_WORDS = {"button": 'The visitor pressed "Talk to an expert"', "words": "The visitor asked for a person in words",
                 "no_match": "No article matched a question", "not_understood": "Two weak answers in a row",
                 "offline": "A message left while nobody could answer"}


def cell(value):
    """A CSV cell no spreadsheet runs as a formula (text starting = + - @ tab or CR gets a ')."""
    if value is None:
        return ""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


@bp.get("/<name>.csv")
def table_csv(name):
    """One table of the report as CSV (UTC days, times in seconds), same range arguments.
    See docs/protocol.md, HTTP: reports."""
    if name not in TABLES and name != "bot":
        abort(404)
    first_day, last_day = asked_range()
    header, rows = BOT_TABLE if name == "bot" else TABLES[name]
    figures = reports.bot_figures(first_day, last_day) if name == "bot" else reports.report(first_day, last_day)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([cell(value) for value in row] for row in rows(figures))
    filename = f"chats-{name}-{first_day.isoformat()}-to-{last_day.isoformat()}.csv"
    return Response(out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
