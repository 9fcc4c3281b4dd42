"""Searching the knowledge base: `search(site_id, query, k)` finds the published articles of a
site that best answer a question, the same way on SQLite and PostgreSQL.

Words are folded (lower case, accents removed: "café" is "cafe"), English stop words are
dropped and the rest stemmed (Snowball: "shipping" and "ships" are "ship"), in Python, for the
articles when they are saved (`Article.search_title`, `search_body`) and for the question.
The database's full-text index then only has to find articles holding any of the stems
(FTS5 over those columns; a GIN index over to_tsvector('simple', ...) on PostgreSQL), and the
candidates are ranked here by BM25 over the same stems, so both databases rank alike.
"""
import functools
import math
import re
import threading
import unicodedata
from collections import Counter
from dataclasses import dataclass

import snowballstemmer
from flask import current_app
from sqlalchemy import create_engine, delete, select, text, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from . import off_loop
from .extensions import db
from .markdown import blocks
from .models import Article, ArticleTerm

WORD = re.compile(r"[^\W_]+")
MAX_QUERY_TERMS = 12
CANDIDATES = 50            # articles the index hands over for ranking
TITLE_WEIGHT = 3           # a word of the title or the tags counts this many times one of the body
K1, B = 1.2, 0.75          # BM25's usual constants
STOP_WORDS = frozenset("""
a about above after again against all am an and any are as at be because been before being below between
both but by can could did do does doing down during each few for from further had has have having he her
here hers herself him himself his how i if in into is it its itself just me more most my myself no nor not
now of off on once only or other our ours ourselves out over own same she should so some such than that the
their theirs them themselves then there these they this those through to too under until up very was we were
what when where which while who whom why will with would you your yours yourself yourselves
hi hello please thanks thank tell know get got want need can't don't i'm
""".split())

_stemmer = snowballstemmer.stemmer("english")


def fold(value):
    """Lower case without accents: the form every word is compared in."""
    if (value or "").isascii():               # most text: no accent to take off, character by character
        return (value or "").lower()
    decomposed = unicodedata.normalize("NFKD", value or "")
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def stems(value):
    """The stems of the words that carry meaning, in order (repeats kept)."""
    return [stem_of(word) for word in WORD.findall(fold(value)) if word not in STOP_WORDS]


@functools.lru_cache(maxsize=100_000)
def stem_of(word):
    """A folded word's stem, remembered: Snowball in pure Python costs ~25 µs a word, and the
    best passage of each hit is stemmed on every search (a language has few words, reused)."""
    return _stemmer.stemWord(word)


def query_terms(question):
    """The distinct stems of a question, at most MAX_QUERY_TERMS, in order."""
    return list(dict.fromkeys(stem[:100] for stem in stems(question)))[:MAX_QUERY_TERMS]


def index_fields(title, tags, body):
    """(search_title, search_body, search_length) for an article: what the index holds."""
    title_stems, body_stems = stems(f"{title} {tags}"), stems(body)
    return " ".join(title_stems), " ".join(body_stems), TITLE_WEIGHT * len(title_stems) + len(body_stems)


@dataclass
class Hit:
    article: Article
    score: float
    matched: int          # how many of the question's terms the article holds
    terms: list           # the question's terms

    @property
    def coverage(self):
        return self.matched / len(self.terms) if self.terms else 0.0

    @functools.cached_property
    def passage(self):
        """The block of the body that holds most of the question's terms (made when asked:
        an answer without a model needs only the best hit's)."""
        return best_passage(self.article.title, self.article.body, self.terms)


def search(site_id, question, k=3, session=None):
    """The `k` published articles of the site that best match any word of the question, best
    first, each with its best passage. Nothing typed is read as query syntax."""
    session = session or db.session
    terms = query_terms(question)
    if not terms:
        return []
    total, average_length, frequencies = corpus_statistics(session, terms)
    ids = candidates(session, site_id, finding_terms(terms, frequencies, total))
    if not ids:
        return []
    articles = session.scalars(select(Article).where(Article.id.in_(ids))).all()
    scored = []
    for article in articles:
        counts = Counter(article.search_title.split())
        title_counts = {term: counts[term] for term in terms}
        body_counts = Counter(word for word in article.search_body.split() if word in title_counts)
        score, matched = 0.0, 0
        for term in terms:
            weighted = TITLE_WEIGHT * title_counts[term] + body_counts[term]
            if not weighted:
                continue
            matched += 1
            idf = math.log(1 + (total - frequencies[term] + 0.5) / (frequencies[term] + 0.5))
            norm = K1 * (1 - B + B * article.search_length / (average_length or 1))
            score += idf * weighted * (K1 + 1) / (weighted + norm)
        if matched:
            scored.append((score, article, matched))
    scored.sort(key=lambda entry: (-entry[0], entry[1].id))
    return [Hit(article, round(score, 6), matched, terms) for score, article, matched in scored[:k]]


COMMON_SHARE = 0.25            # in a large knowledge base, a word in more articles than this...
LARGE = 500                    # ...finds no candidates when the question holds a rarer word


SEARCH_THREADS = 2             # searches at once off the event loop, each with its own connection
_search_slots = threading.BoundedSemaphore(SEARCH_THREADS)


def search_off_loop(site_id, question, k=3):
    """search(), in the live server run in an OS thread with a database connection of its own,
    with the best hit's passage made there too: the index's work (SQLite's runs inside the
    server's process) and the ranking then leave the event loop free for every other socket
    (docs/benchmarks.md, "200 conversations at once"). At most SEARCH_THREADS at once. The
    hits' articles are then detached: their columns are loaded, their relationships are not."""
    if off_loop.patched_library() is None:
        return _search_and_passage(db.session, site_id, question, k)
    engine = search_engine(current_app._get_current_object())
    with _search_slots:
        return off_loop.run(_search_in_thread, engine, site_id, question, k)


def _search_in_thread(engine, site_id, question, k):
    with Session(engine) as session:
        return _search_and_passage(session, site_id, question, k)


def _search_and_passage(session, site_id, question, k):
    hits = search(site_id, question, k, session=session)
    if hits:
        hits[0].passage                     # noqa: B018 (made here, remembered by the hit)
    return hits


_engines_guard = threading.Lock()


def search_engine(app):
    """The searches' own engine: SEARCH_THREADS pooled connections, never waited for (the
    slots above let no more searches run), so no OS thread ever waits on the pool's green locks."""
    with _engines_guard:
        engine = app.extensions.get("knowledge_search_engine")
        if engine is None:
            url = db.engines[None].url
            options = {"connect_args": {"check_same_thread": False}} if url.get_backend_name() == "sqlite" else {}
            engine = create_engine(url, pool_size=SEARCH_THREADS, max_overflow=0, pool_recycle=1800, **options)
            app.extensions["knowledge_search_engine"] = engine
        return engine


def finding_terms(terms, frequencies, total):
    """The terms the index looks candidates up by: all of them, but in a knowledge base of more
    than LARGE articles only the question's rarer words (in at most COMMON_SHARE of the articles)
    when it has any. A common word matches thousands of articles, and BM25 weighs it little:
    the candidates it alone would add rarely rank, and reading them was most of a search."""
    if total <= LARGE:
        return terms
    rarer = [term for term in terms if 0 < frequencies[term] <= COMMON_SHARE * total]
    return rarer or terms


def best_passage(title, body, terms):
    """The block of an article's body that holds most of the terms (the first such; with no
    terms, the first block); the title when the body has no text."""
    wanted = set(terms)
    parts = blocks(body)
    if not parts:
        return title
    return max(parts, key=lambda part: (len(wanted & set(stems(part))), -parts.index(part)))


def candidates(session, site_id, terms):
    """Ids of up to CANDIDATES published articles of the site holding any term, by the index."""
    if session.get_bind().dialect.name == "postgresql":
        statement = text(
            "SELECT id FROM article WHERE site_id = :site AND published "
            f"AND {PG_VECTOR} @@ to_tsquery('simple', :query) "
            f"ORDER BY ts_rank({PG_VECTOR}, to_tsquery('simple', :query)) DESC, id LIMIT :limit")
        query = " | ".join(pg_lexeme(term) for term in terms)
    else:
        # The site's published ids come from ix_article_site_published: joining each match to
        # its article row read past the body (overflow pages) to reach `published`. The `+`
        # keeps FTS5 from running the MATCH once per id of the list.
        statement = text(
            "SELECT rowid FROM article_fts WHERE article_fts MATCH :query AND +rowid IN "
            "(SELECT id FROM article WHERE site_id = :site AND published) "
            f"ORDER BY bm25(article_fts, {TITLE_WEIGHT}.0, 1.0), rowid LIMIT :limit")
        query = " OR ".join(fts5_string(term) for term in terms)
    return session.scalars(statement, {"site": site_id, "query": query, "limit": CANDIDATES}).all()


def corpus_statistics(session, terms):
    """(articles, their average length, {term: articles holding it}) over every article: the
    figures BM25 weighs a word by (a word in most articles says little). The counts are kept
    by key in `article_term` (counting them over the matching articles at each search read
    most of the knowledge base for a question of common words)."""
    total, average = session.execute(text("SELECT COUNT(*), AVG(search_length) FROM article")).one()
    counts = dict(session.execute(select(ArticleTerm.term, ArticleTerm.articles)
                                  .where(ArticleTerm.term.in_(terms))).all())
    return total or 0, float(average or 0), {term: counts.get(term, 0) for term in terms}


def terms_of(search_title, search_body):
    """The distinct stems an article's index fields hold (as `article_term` counts them)."""
    return {term[:100] for term in f"{search_title} {search_body}".split()}


def count_terms(added, removed):
    """One more article holds each of `added`, one fewer each of `removed` (in the caller's
    transaction, in a fixed order, so two saves at once never wait on each other in a cycle)."""
    if added:
        insert = postgresql_insert if db.engine.dialect.name == "postgresql" else sqlite_insert
        statement = insert(ArticleTerm).values([{"term": term, "articles": 1} for term in sorted(added)])
        db.session.execute(statement.on_conflict_do_update(
            index_elements=[ArticleTerm.term], set_={"articles": ArticleTerm.articles + 1}))
    if removed:
        db.session.execute(update(ArticleTerm).where(ArticleTerm.term.in_(sorted(removed)))
                           .values(articles=ArticleTerm.articles - 1))
        db.session.execute(delete(ArticleTerm).where(ArticleTerm.term.in_(sorted(removed)),
                                                     ArticleTerm.articles <= 0))


def recount_terms():
    """`article_term` made again from every article (after articles are written in bulk, past
    knowledge.save)."""
    counts = Counter()
    for search_title, search_body in db.session.execute(select(Article.search_title, Article.search_body)):
        counts.update(terms_of(search_title, search_body))
    db.session.execute(delete(ArticleTerm))
    if counts:
        db.session.execute(ArticleTerm.__table__.insert(),
                           [{"term": term, "articles": n} for term, n in counts.items()])
    db.session.commit()


# The indexed text on PostgreSQL: to_tsvector('simple', search_title || ' ' || search_body),
# stored by the database as a generated column and GIN-indexed (migration a9e4c2d8b6f1).
PG_VECTOR = "search_vector"


def fts5_string(term):
    return '"' + term.replace('"', '""') + '"'


def pg_lexeme(term):
    return "'" + term.replace("'", "''").replace("\\", "\\\\") + "'"
