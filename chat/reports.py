"""The figures of /reports, computed in SQL that gives the same numbers on SQLite and
PostgreSQL. Every figure is about the chats *started* in the date range (UTC days):

- started: every chat whose `started_at` falls in the range;
- handled: an agent accepted it and kept it (`claimed_at` is set; a chat handed back to the
  queue counts again only when accepted again);
- abandoned: closed (`ended` or `abandoned`) before any agent accepted it, by `end_reason`;
- waiting time: `claimed_at` - `queued_at` (else `started_at`), for handled chats;
- first response time: `first_response_at` - `claimed_at`, for handled chats with a reply
  after their claim;
- duration: `ended_at` - `started_at`, for closed chats;
- restored: the visitor's widget brought it back after a page reload at least once
  (`restored_count` > 0, seed 002); the rate is restored / started;
- busiest hours: chats started per hour of the day.

Times are whole seconds (each timestamp counted to its second); median and 90th percentile
are nearest-rank: the value at rank ceil(p x n) of the n values in ascending order.
"""
import functools
import json
import sqlite3
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import DateTime, bindparam, event, text
from sqlalchemy.engine import Engine

from . import validation
from .errors import ChatError
from .extensions import db

MAX_DAYS = 366
DEFAULT_DAYS = 7
EPOCH_DAY = date(1970, 1, 1)
TIMES = ("waiting", "response", "duration")          # the timed figures, each with median and p90
KINDS = {"all": 0, "day": 1, "agent": 2, "hour": 3, "reason": 4}   # the groupings of report_sql's rows

# Seconds since 1970 of a timestamp, counted to its second, in each dialect. PostgreSQL's
# date_part is float8 (EXTRACT's numeric is several times slower), exact to the microsecond here.
SECONDS_SQL = {"sqlite": "CAST(strftime('%s', {0}) AS INTEGER)",
               "postgresql": "CAST(FLOOR(date_part('epoch', {0})) AS BIGINT)"}


def seconds(column):
    return SECONDS_SQL[db.engine.dialect.name].format(column)


IN_RANGE = "c.started_at >= :start AND c.started_at < :end"


def stamps_sql():
    """Each chat of the range once: its group keys, flags, and the seconds of the timestamps its
    timed figures need (NULL where the figure does not apply)."""
    return (
        f"SELECT c.agent_id AS agent, COALESCE(c.end_reason, 'unknown') AS reason, "
        "CASE WHEN c.claimed_at IS NOT NULL THEN 1 ELSE 0 END AS handled, "
        "CASE WHEN c.claimed_at IS NULL AND c.status IN ('ended', 'abandoned') THEN 1 ELSE 0 END AS abandoned, "
        "CASE WHEN c.restored_count > 0 THEN 1 ELSE 0 END AS restored, "
        f"{seconds('c.started_at')} AS started, {seconds('COALESCE(c.queued_at, c.started_at)')} AS queued, "
        f"{seconds('c.claimed_at')} AS claimed, "
        f"CASE WHEN c.first_response_at >= c.claimed_at THEN {seconds('c.first_response_at')} END AS replied, "
        f"CASE WHEN c.status IN ('ended', 'abandoned') THEN {seconds('c.ended_at')} END AS ended "
        f"FROM chat_session c WHERE {IN_RANGE}")


# The timed figures from a chat's stamps: NULL when a stamp is (not handled, no reply, not closed).
TIMED = {"waiting": "claimed - queued", "response": "replied - claimed", "duration": "ended - started"}


def percentile(name, percent):
    """The nearest-rank `percent`th percentile of the figure `name` in the group, in the dialect's SQL:
    PostgreSQL's percentile_disc(p) is the value at rank ceil(p x n); SQLite (3.40 has no percentile
    function) gets the group's values as a JSON array and picks the rank with `nearest_rank`."""
    if db.engine.dialect.name == "postgresql":
        return f"percentile_disc({percent / 100}) WITHIN GROUP (ORDER BY {name})"
    return f"nearest_rank(json_group_array({name}), {percent})"


@functools.lru_cache(maxsize=1)
def sorted_values(values_json):
    """The numbers of a JSON array, NULLs left out, in ascending order (kept for the next call: a
    figure's median and p90 are asked one after the other of the same values)."""
    return sorted(value for value in json.loads(values_json) if value is not None)


def nearest_rank(values_json, percent):
    """SQLite's nearest_rank(values, percent): of the n numbers of the JSON array `values` (NULLs
    left out), the one at rank ceil(percent / 100 x n) in ascending order; NULL with none."""
    values = sorted_values(values_json)
    return values[(len(values) * percent + 99) // 100 - 1] if values else None


@event.listens_for(Engine, "connect")
def _add_nearest_rank(dbapi_connection, connection_record):
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.create_function("nearest_rank", 2, nearest_rank, deterministic=True)


def report_sql():
    """The whole report in one statement, one row per (kind, group): 'all', each 'day' and
    'agent' with counts, medians and p90s; each 'hour' and abandonment 'reason' with a count.

    The chats of the range are read and their timestamps turned to seconds once (MATERIALIZED
    CTEs), then grouped each way (UNION ALL of one GROUP BY per kind). Groups are integers
    (sorting text is slow, PostgreSQL's collations slower still): a day is its number since
    1970-01-01. The range's row is there even without any chat (COUNT(*) 0, the rest NULL)."""
    values = ", ".join(f"{expression} AS {name}" for name, expression in TIMED.items())
    numbers = "COUNT(*), SUM(handled), SUM(abandoned), SUM(restored), " + ", ".join(
        f"{percentile(name, 50)}, {percentile(name, 90)}" for name in TIMES)
    no_times = ", ".join("NULL, NULL" for _ in TIMES)
    return (
        f"WITH stamps AS MATERIALIZED ({stamps_sql()}), "
        "chats AS MATERIALIZED (SELECT started / 86400 AS day, started % 86400 / 3600 AS hour, agent, reason, "
        f"handled, abandoned, restored, {values} FROM stamps) "
        f"SELECT {KINDS['all']} AS kind, 0 AS g, NULL AS reason, {numbers} FROM chats"
        f" UNION ALL SELECT {KINDS['day']}, day, NULL, {numbers} FROM chats GROUP BY day"
        f" UNION ALL SELECT {KINDS['agent']}, agent, NULL, {numbers} FROM chats WHERE agent IS NOT NULL GROUP BY agent"
        f" UNION ALL SELECT {KINDS['hour']}, hour, NULL, COUNT(*), 0, 0, 0, {no_times} FROM chats GROUP BY hour"
        f" UNION ALL SELECT {KINDS['reason']}, 0, reason, COUNT(*), 0, 0, 0, {no_times} FROM chats "
        "WHERE abandoned = 1 GROUP BY reason")


@dataclass
class Figures:
    """One row of figures: the whole range, a day, or an agent."""
    label: str
    started: int = 0
    handled: int = 0
    abandoned: int = 0
    restored: int = 0
    waiting_median: int | None = None
    waiting_p90: int | None = None
    response_median: int | None = None
    response_p90: int | None = None
    duration_median: int | None = None
    duration_p90: int | None = None

    @property
    def restoration_rate(self):
        """Restored / started, as a fraction (None with no chat)."""
        return self.restored / self.started if self.started else None


@dataclass
class Report:
    first_day: date
    last_day: date
    summary: Figures
    days: list            # Figures per day, every day of the range
    agents: list          # Figures per agent who handled a chat started in the range
    abandoned: list       # (end_reason, chats), most first
    hours: list           # chats started in each hour 0..23


def run(statement, first_day, last_day):
    start = datetime.combine(first_day, time())
    end = datetime.combine(last_day + timedelta(days=1), time())
    query = text(statement).bindparams(bindparam("start", type_=DateTime), bindparam("end", type_=DateTime))
    return db.session.execute(query, {"start": start, "end": end}).all()


def figures(numbers, label):
    """The Figures of one row's numbers (started, handled, ..., duration p90); none, or no chat
    started: all zero."""
    if numbers is None or not numbers[0]:
        return Figures(label)
    return Figures(label, *(int(number) if number is not None else None for number in numbers))


def report(first_day, last_day):
    """Every figure of the chats started from `first_day` to `last_day`, both included (UTC)."""
    rows = {kind: {} for kind in KINDS.values()}
    for kind, group, reason, *numbers in run(report_sql(), first_day, last_day):
        rows[kind][reason if kind == KINDS["reason"] else int(group)] = numbers
    by_day = {EPOCH_DAY + timedelta(days=day): numbers for day, numbers in rows[KINDS["day"]].items()}
    days = [figures(by_day.get(day), day.isoformat())
            for day in (first_day + timedelta(days=n) for n in range((last_day - first_day).days + 1))]
    names = dict(db.session.execute(text("SELECT id, display_name FROM agent")).all())
    agents = [figures(numbers, names.get(agent, f"Agent {agent}")) for agent, numbers in rows[KINDS["agent"]].items()]
    agents.sort(key=lambda row: (-row.handled, row.label))
    abandoned = sorted(((reason, int(numbers[0])) for reason, numbers in rows[KINDS["reason"]].items()),
                       key=lambda pair: (-pair[1], pair[0]))
    hours = {hour: int(numbers[0]) for hour, numbers in rows[KINDS["hour"]].items()}
    return Report(first_day, last_day, figures(rows[KINDS["all"]].get(0), "All"), days, agents, abandoned,
                  [hours.get(hour, 0) for hour in range(24)])


def date_range(first, last, today):
    """The range asked for (`from`, `to` as YYYY-MM-DD, either may be empty): by default the
    last DEFAULT_DAYS days up to `today`. ChatError for a date that is not one (validation.day),
    a start after the end, or more than MAX_DAYS days."""
    last_day = validation.day(last, "end") if last else today
    first_day = validation.day(first, "start") if first else last_day - timedelta(days=DEFAULT_DAYS - 1)
    if first_day > last_day:
        raise ChatError("invalid_payload", "The start date is after the end date.")
    if (last_day - first_day).days + 1 > MAX_DAYS:
        raise ChatError("invalid_payload", f"A report covers at most {MAX_DAYS} days; choose a shorter range.")
    return first_day, last_day


# ---- the bot's figures (chats of sites with the bot on)

@dataclass
class BotFigures:
    """The bot's part of the chats started in a range: how many it had, how many it resolved (the
    visitor said an answer helped and the chat closed without a person), how many it handed to
    the team (by reason, most first), and how many questions it had no answer for."""
    chats: int = 0
    resolved: int = 0
    handed_off: int = 0
    handoffs: list = None           # (reason, chats), most first
    unanswered: int = 0


BOT_SQL = (
    "SELECT COALESCE(c.handoff_reason, ''), COUNT(*), "
    "SUM(CASE WHEN c.handoff_reason IS NULL AND c.bot_helped AND c.status IN ('ended', 'abandoned') "
    "THEN 1 ELSE 0 END) FROM chat_session c WHERE c.with_bot AND " + IN_RANGE + " GROUP BY c.handoff_reason")
UNANSWERED_SQL = ("SELECT COUNT(*) FROM unanswered_question q JOIN chat_session c ON c.id = q.session_id "
                  "WHERE " + IN_RANGE)


def bot_figures(first_day, last_day):
    """The bot's figures of the chats started from `first_day` to `last_day` (UTC), in SQL."""
    figures = BotFigures(handoffs=[])
    for reason, chats, resolved in run(BOT_SQL, first_day, last_day):
        figures.chats += chats
        figures.resolved += int(resolved or 0)
        if reason:
            figures.handed_off += chats
            figures.handoffs.append((reason, chats))
    figures.handoffs.sort(key=lambda pair: (-pair[1], pair[0]))
    figures.unanswered = run(UNANSWERED_SQL, first_day, last_day)[0][0]
    return figures
