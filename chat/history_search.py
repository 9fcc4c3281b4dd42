"""History: finding past chats by agent, status, channel, dates and words, and reading one.

A chat matches the words when its visitor's name or email contains the text as typed, or
when one of its messages (private notes included) holds every word of it. Words are the
letters and digits of the text; quotes, `OR`, `*`, `-` and the like are no syntax, only
separators, so nothing typed can break the query. Accents do not matter ("cafe" finds
"café"). Message text is searched through the full-text index the migration d4f8b2c6a1e3
built: FTS5 on SQLite, a GIN index over to_tsvector('simple', chat_unaccent(text)) on
PostgreSQL. Who sees which chat is `access.history_condition`.
"""
import math
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Integer, and_, any_, column, false, func, or_, select, table, text, true

from . import access, validation
from .extensions import db
from .models import CHANNELS, SESSION_STATUSES, Agent, Attachment, ChatSession, Message, Site, Visitor, utcnow, visitor_label
from .validation import invalid

MAX_SEARCH_LENGTH = 200
MAX_WORDS = 10
MAX_PER_PAGE = 100
MAX_PAGE = 10_000
EXPORT_LIMIT = 10_000           # rows in one CSV export
WORD = re.compile(r"[^\W_]+")   # letters and digits, as FTS5's unicode61 and PostgreSQL split them


@dataclass(frozen=True)
class HistoryFilters:
    agent_id: int | None = None
    status: str | None = None
    channel: str | None = None
    search: str | None = None
    start_date: date | None = None
    end_date: date | None = None        # inclusive


# ---- reading the filters from a query string (the page, the CSV and the API share them)

def filters_from(args):
    """HistoryFilters from query arguments (seed 004's names: agent_id, status, search,
    start_date, end_date; and channel). Empty means no filter. Raises ChatError."""
    search = _argument(args, "search", MAX_SEARCH_LENGTH)
    start, end = _date(args, "start_date"), _date(args, "end_date")
    if start and end and end < start:
        raise invalid("The end date comes before the start date.")
    return HistoryFilters(agent_id=_whole_number(args, "agent_id", validation.MAX_ROW_ID),
                          status=_choice(args, "status", SESSION_STATUSES),
                          channel=_choice(args, "channel", CHANNELS),
                          search=search, start_date=start, end_date=end)


def page_from(args, default_per_page=25):
    """(page, per_page): page from 1 to MAX_PAGE, per_page from 1 to MAX_PER_PAGE."""
    page = _whole_number(args, "page", MAX_PAGE) or 1
    per_page = _whole_number(args, "per_page", MAX_PER_PAGE) or default_per_page
    return page, per_page


def _argument(args, name, max_length):
    value = args.get(name, "").strip()
    if len(value) > max_length:
        raise invalid(f"The {name.replace('_', ' ')} can be up to {max_length} characters.")
    return value or None


def _whole_number(args, name, maximum):
    value = _argument(args, name, 12)
    if value is None:
        return None
    if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= maximum:
        raise invalid(f"The {name.replace('_', ' ')} must be a whole number from 1 to {maximum:,}.")
    return int(value)


def _choice(args, name, choices):
    value = _argument(args, name, 20)
    if value is not None and value not in choices:
        raise invalid(f"The {name} must be one of: {', '.join(choices)}.")
    return value


def _date(args, name):
    value = _argument(args, name, 10)
    return None if value is None else validation.day(value, name.removesuffix("_date"))


# ---- words

def search_words(search):
    """The words of a search, lower case, at most MAX_WORDS, each at most 100 characters."""
    return [word[:100] for word in WORD.findall((search or "").lower())][:MAX_WORDS]


def fts5_query(words):
    """Every word as an FTS5 string (no operator is read from it): all must match."""
    return " ".join('"' + word.replace('"', '""') + '"' for word in words)


def tsquery(words):
    """Every word as a tsquery lexeme (letters and digits only, quoted): all must match."""
    return " & ".join("'" + word.replace("'", "''") + "'" for word in words)


MATCH_CAP = 1_000               # a search lists and counts at most this many chats
WINDOW = 50_000                 # message ids searched at first, newest first; then 4 times more each time
OWN_CHATS_READ = 20_000         # a plain agent's own chats read up to this many; more: checked by id


def matching_messages(words):
    """(select, key): a select of the messages holding every word (the FTS5 table joined to
    `message` on SQLite) and its message id column, to bound and order by."""
    if db.engine.dialect.name == "postgresql":
        return select(Message.id).where(text(
            "to_tsvector('simple', chat_unaccent(message.text)) @@ to_tsquery('simple', chat_unaccent(:words))"
        ).bindparams(words=tsquery(words))), Message.id
    fts = table("message_fts", column("rowid", Integer))
    return (select(fts.c.rowid).select_from(fts).join(Message, Message.id == fts.c.rowid)
            .where(text("message_fts MATCH :words").bindparams(words=fts5_query(words)))), fts.c.rowid


def chats_in_window(words, conditions, low, high, among=None):
    """[(chat id, kept)]: the chats with a message holding every word whose id is in (low, high],
    the newest such message first (ids grow with time), in the chats `among` if given; `kept`
    says whether the chat meets `conditions`. One statement: the id range bounds the rows read
    however common the words (FTS5 takes it as a rowid range, PostgreSQL as a bitmap of
    message_pkey ANDed with the GIN's), and each chat of the window is checked once."""
    matches, key = matching_messages(words)
    matches = matches.where(key > low, key <= high)
    if among is not None:
        matches = matches.where(one_of(Message.session_id, among))
    window = (matches.with_only_columns(Message.session_id.label("chat_id"), func.max(key).label("newest"))
              .group_by(Message.session_id).subquery())
    chats = select(window.c.chat_id, and_(*conditions)).join(ChatSession, ChatSession.id == window.c.chat_id) \
        if conditions else select(window.c.chat_id, true())
    return db.session.execute(chats.order_by(window.c.newest.desc())).all()


def chats_with_words(words, agent, filters, cap):
    """The ids of up to `cap` chats that `agent` may find, meeting `filters`, one of whose
    messages holds every word: those with the newest such messages. Reads the matches newest
    first, a window of ids at a time (`chats_in_window`), and stops at `cap` chats, so a common
    word costs about what a rare one does. A plain agent's search reads only the matches in its own chats
    (`own_chats`) if it has few enough: on PostgreSQL from the start and in one statement
    (their messages are a bitmap ANDed with the GIN's, so the list bounds the rows read); on
    SQLite, where FTS5 still reads every match of a window, once more than `cap` chats failed
    the access rule or the filters (a common word). In its own chats only the filters are
    checked: the access rule holds there."""
    conditions, postgres = _conditions(agent, filters), db.engine.dialect.name == "postgresql"
    high = db.session.execute(select(func.max(Message.id))).scalar() or 0
    chats, seen, window = [], set(), WINDOW
    among = own_chats(agent) if postgres else None
    failed, read_own = 0, postgres
    while high > 0 and len(chats) < cap:
        low = 0 if among is not None and postgres else max(0, high - window)
        checked = conditions if among is None else _filter_conditions(filters)
        for chat_id, kept in chats_in_window(words, checked, low, high, among):
            if chat_id not in seen:
                seen.add(chat_id)
                if kept:
                    chats.append(chat_id)
                else:
                    failed += 1
        high, window = low, window * 4
        if failed > cap and not read_own and high > 0 and len(chats) < cap:
            among, read_own = own_chats(agent), True
    return chats[:cap]


def own_chats(agent):
    """The ids of the chats a plain agent may find (`access.history_chats`), as a list, when
    there are at most OWN_CHATS_READ of them; else None (a supervisor: None)."""
    chats = access.history_chats(agent)
    if chats is None:
        return None
    ids = db.session.scalars(chats.limit(OWN_CHATS_READ + 1)).all()
    return ids if len(ids) <= OWN_CHATS_READ else None


def one_of(column, chat_ids):
    """`column IN chat_ids`. On PostgreSQL `= ANY` of one parameter, the ids joined by commas
    (a chat id is a UUID), which the planner reads as an array of known size and can turn into a
    bitmap of the column's index; not one parameter an id, nor an array for the driver to quote."""
    if db.engine.dialect.name == "postgresql":
        return column == any_(func.string_to_array(",".join(chat_ids), ","))
    return column.in_(chat_ids)


def chats_of_visitors(search, conditions, cap):
    """The ids of the newest `cap` chats meeting `conditions` whose visitor's name or email contains `search`."""
    return db.session.scalars(
        select(ChatSession.id).where(ChatSession.visitor_id.in_(visitors_containing(search)), *conditions)
        .order_by(ChatSession.started_at.desc(), ChatSession.id.desc()).limit(cap)).all()


def plan_each_statement():
    """PostgreSQL, for the rest of the transaction: plan each statement for its values, with
    neither JIT compilation nor parallel workers. A search's best plan depends on its values
    (how common the words are, how many chats an agent has); psycopg prepares a statement run 5
    times on a connection, and PostgreSQL then may keep one generic plan for every value. JIT
    compiling a large window cost more than it saved, and so did starting workers: the bitmap,
    most of the work, is built by one process anyway (docs/benchmarks.md)."""
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text(
            "SELECT set_config('plan_cache_mode', 'force_custom_plan', true), set_config('jit', 'off', true), "
            "set_config('max_parallel_workers_per_gather', '0', true)"))


def chats_matching(agent, filters):
    """(ids, more): the chats `agent` may find, meeting the filters, that the search finds (by
    the visitor's name or email, or by one message holding every word); at most MATCH_CAP + 1 of
    each kind are read, and `more` says there are more than MATCH_CAP. Only these ids are then
    sorted and paged."""
    plan_each_statement()
    cap = MATCH_CAP
    found = dict.fromkeys(chats_of_visitors(filters.search, _conditions(agent, filters), cap + 1))
    words = search_words(filters.search)
    if words:
        found.update(dict.fromkeys(chats_with_words(words, agent, filters, cap + 1)))
    return list(found), len(found) > cap


# ---- the list

def _conditions(agent, filters):
    """The conditions on chat_session of the access rule (none for a supervisor) and of every
    filter but the words."""
    rule = access.history_condition(agent)
    return ([] if rule is true() else [rule]) + _filter_conditions(filters)


def _filter_conditions(filters):
    """The conditions on chat_session of every filter but the words."""
    conditions = []
    if filters.agent_id is not None:
        conditions.append(ChatSession.agent_id == filters.agent_id)
    if filters.status:
        conditions.append(ChatSession.status == filters.status)
    if filters.channel:
        conditions.append(ChatSession.channel == filters.channel)
    if filters.start_date:
        conditions.append(ChatSession.started_at >= datetime.combine(filters.start_date, datetime.min.time()))
    if filters.end_date:
        day_after = datetime.combine(filters.end_date + timedelta(days=1), datetime.min.time())
        conditions.append(ChatSession.started_at < day_after)
    return conditions


def visitors_containing(search):
    """A subquery: the ids of visitors whose name or email contains `search`, any case, `%` and
    `_` as themselves. Through trigram indexes (from 3 characters): FTS5's on SQLite, pg_trgm's
    on lower(name) and lower(email) on PostgreSQL."""
    pattern = "%" + re.sub(r"([\\%_])", r"\\\1", search.lower()) + "%"
    if db.engine.dialect.name == "postgresql":
        return select(Visitor.id).where(or_(func.lower(Visitor.name).like(pattern, escape="\\"),
                                            func.lower(Visitor.email).like(pattern, escape="\\")))
    # FTS5's trigram index takes no ESCAPE clause: a pattern holding % or _ is checked row by row.
    escape = " ESCAPE '\\'" if re.search(r"[%_]", search) else ""
    return text(f"SELECT rowid FROM visitor_fts WHERE name LIKE :pattern{escape} "
                f"UNION SELECT rowid FROM visitor_fts WHERE email LIKE :pattern{escape}").bindparams(pattern=pattern if escape else "%" + search.lower() + "%").columns(rowid=Integer)


@dataclass(frozen=True)
class HistoryRow:
    """One chat as the history list shows it."""
    id: str
    started_at: datetime
    ended_at: datetime | None
    status: str
    end_reason: str | None
    channel: str
    site_name: str
    visitor_name: str | None
    visitor_email: str | None
    agent_id: int | None
    agent_name: str | None
    message_count: int

    @property
    def visitor_label(self):
        return visitor_label(self.visitor_name, self.id)

    @property
    def duration_seconds(self):
        """From start to end (to now while open)."""
        return int(((self.ended_at or utcnow()) - self.started_at).total_seconds())


def _rows(conditions):
    return (select(ChatSession.id, ChatSession.started_at, ChatSession.ended_at, ChatSession.status,
                   ChatSession.end_reason, ChatSession.channel, Site.name, Visitor.name, Visitor.email,
                   ChatSession.agent_id, Agent.display_name, ChatSession.last_seq)
            .join(Visitor, Visitor.id == ChatSession.visitor_id)
            .join(Site, Site.id == ChatSession.site_id)
            .outerjoin(Agent, Agent.id == ChatSession.agent_id)
            .where(*conditions)
            .order_by(ChatSession.started_at.desc(), ChatSession.id.desc()))


@dataclass(frozen=True)
class HistoryPage:
    """One page of the list and the total. `total_is_lower_bound`: a search found more than
    MATCH_CAP chats; `total` is then MATCH_CAP, and the pages end there."""
    rows: list
    total: int
    total_is_lower_bound: bool = False

    def pages(self, per_page):
        return max(1, math.ceil(self.total / per_page))


def find_chats(agent, filters, page=1, per_page=25):
    """A HistoryPage of the chats `agent` may read that match, newest first. Without words the
    total is exact (a window count over the page's query). A search reads at most MATCH_CAP + 1
    matching chats (`chats_matching`), so its cost is bounded by the cap, not by how many chats
    the words are in; those are sorted by start and paged."""
    if filters.search:
        ids, more = chats_matching(agent, filters)
        offset = (page - 1) * per_page
        size = min(per_page, MATCH_CAP - offset)
        rows = db.session.execute(_rows([one_of(ChatSession.id, ids)]).limit(size).offset(offset)).all() \
            if ids and size > 0 else []
        return HistoryPage([HistoryRow(*row) for row in rows], min(len(ids), MATCH_CAP), more)
    conditions = _conditions(agent, filters)
    rows = db.session.execute(_rows(conditions).add_columns(func.count().over())
                              .limit(per_page).offset((page - 1) * per_page)).all()
    if rows:
        total = rows[0][-1]
    elif page == 1:
        total = 0
    else:
        total = db.session.execute(select(func.count()).select_from(ChatSession).where(*conditions)).scalar_one()
    return HistoryPage([HistoryRow(*row[:-1]) for row in rows], total)


def chats_to_export(agent, filters, limit=EXPORT_LIMIT):
    """The first `limit` matching chats, for a CSV export (for a search, the MATCH_CAP it lists)."""
    if filters.search:
        conditions = [one_of(ChatSession.id, chats_matching(agent, filters)[0])]
        limit = min(limit, MATCH_CAP)
    else:
        conditions = _conditions(agent, filters)
    return [HistoryRow(*row) for row in db.session.execute(_rows(conditions).limit(limit)).all()]


def attachment_counts(session_ids):
    """{chat id: files sent in its public messages} for these chats (the CSV export's column)."""
    counts = {}
    ids = list(session_ids)
    for start in range(0, len(ids), 1000):
        counts.update(db.session.execute(
            select(Attachment.session_id, func.count())
            .join(Message, Message.id == Attachment.message_id)
            .where(Attachment.session_id.in_(ids[start:start + 1000]), Message.private == false())
            .group_by(Attachment.session_id)).all())
    return counts


def agents_to_filter_by():
    """(id, name) of every agent, for the agent filter."""
    return db.session.execute(select(Agent.id, Agent.display_name).order_by(Agent.display_name)).all()


# ---- one transcript

def transcript(chat, notes=True):
    """Every message of a chat, system messages included, in order; the private notes too when `notes`."""
    query = select(Message).where(Message.session_id == chat.id)
    if not notes:
        query = query.where(Message.private == false())
    return db.session.execute(query.order_by(Message.seq)).scalars().all()
