"""The knowledge base: each site's articles (title, Markdown body, tags, published or draft),
written in /admin and by `flask chat kb-import`, searched by the bot (knowledge_search.py) and
shown to visitors at /help/<site key>/<id>.

Files for import and export are Markdown with a small header:

    ---
    title: How long does shipping take?
    tags: shipping, delivery
    published: true
    ---
    The body, in Markdown.
"""
import re
from pathlib import Path

from sqlalchemy import select

from .errors import ChatError
from .extensions import db
from .knowledge_search import count_terms, index_fields, terms_of
from .models import Article, Site, UnansweredQuestion, utcnow
from .validation import invalid

MAX_TITLE = 200
MAX_BODY = 50_000
MAX_TAGS = 500
HEADER = re.compile(r"\A---\n(?P<header>.*?)\n---\n?(?P<body>.*)\Z", re.S)


def checked(title, body, tags):
    """(title, body, tags) trimmed, or ChatError with a sentence for the author."""
    title, body = (title or "").strip(), (body or "").strip()
    tags = ", ".join(dict.fromkeys(tag.strip() for tag in (tags or "").split(",") if tag.strip()))
    if not title:
        raise invalid("An article needs a title.")
    if len(title) > MAX_TITLE:
        raise invalid(f"A title can be up to {MAX_TITLE} characters.")
    if not body:
        raise invalid("An article needs a body.")
    if len(body) > MAX_BODY:
        raise invalid(f"An article's body can be up to {MAX_BODY:,} characters.")
    if len(tags) > MAX_TAGS:
        raise invalid(f"The tags can be up to {MAX_TAGS} characters in all.")
    return title, body, tags


def save(site, title, body, tags="", published=False, article=None):
    """Create an article of `site`, or change `article`; returns it (committed)."""
    title, body, tags = checked(title, body, tags)
    held = set()
    if article is None:
        article = Article(site_id=site.id)
        db.session.add(article)
    else:
        held = terms_of(article.search_title, article.search_body)
    article.title, article.body, article.tags, article.published = title, body, tags, bool(published)
    article.search_title, article.search_body, article.search_length = index_fields(title, tags, body)
    article.updated_at = utcnow()
    holds = terms_of(article.search_title, article.search_body)
    count_terms(added=holds - held, removed=held - holds)
    db.session.commit()
    return article


def delete(article):
    count_terms(added=set(), removed=terms_of(article.search_title, article.search_body))
    db.session.delete(article)
    db.session.commit()


def articles_of(site_id):
    return db.session.scalars(select(Article).where(Article.site_id == site_id).order_by(Article.title)).all()


def published_article(site, article_id):
    """A published article of the site, or None (drafts are for the admins only)."""
    article = db.session.get(Article, article_id)
    return article if article is not None and article.site_id == site.id and article.published else None


def public_url(article, site_key=None):
    """Where visitors read the article: the path of `knowledge.article_page` (built here
    without url_for, so the bot's background task needs no request). `site_key`, when the
    caller has it, spares loading the article's site."""
    return f"/help/{site_key or article.site.key}/{article.id}"


def unanswered_questions(limit=200):
    """The newest questions the knowledge base had no answer for, with their site and chat."""
    return db.session.execute(
        select(UnansweredQuestion, Site.name).join(Site, Site.id == UnansweredQuestion.site_id)
        .order_by(UnansweredQuestion.asked_at.desc(), UnansweredQuestion.id.desc()).limit(limit)).all()


# ---- files

def parse_file(content, name="the file"):
    """(title, body, tags, published) from a file's text; ChatError naming the file and what is wrong."""
    match = HEADER.match(content.replace("\r\n", "\n"))
    if match is None:
        raise invalid(f"{name}: it must start with a header between two '---' lines (title: ...).")
    fields = {}
    for line in match["header"].splitlines():
        key, colon, value = line.partition(":")
        if line.strip() and not colon:
            raise invalid(f"{name}: the header line {line.strip()!r} is not 'name: value'.")
        fields[key.strip().lower()] = value.strip()
    published = fields.get("published", "false").lower()
    if published not in ("true", "false", "yes", "no"):
        raise invalid(f"{name}: published must be true or false.")
    try:
        title, body, tags = checked(fields.get("title"), match["body"], fields.get("tags"))
    except ChatError as error:
        raise invalid(f"{name}: {error.message}") from error
    return title, body, tags, published in ("true", "yes")


def file_text(article):
    return (f"---\ntitle: {article.title}\ntags: {article.tags}\n"
            f"published: {'true' if article.published else 'false'}\n---\n{article.body}\n")


def import_folder(site, folder):
    """Every `.md` file of `folder` as an article of `site`: an article with the same title is
    updated, others created. All files are checked before any is saved. Returns (created, updated)."""
    files = sorted(Path(folder).glob("*.md"))
    if not files:
        raise invalid(f"No .md file in {folder}.")
    parsed, names = [], {}
    for path in files:
        parsed.append(parse_file(path.read_text(encoding="utf-8"), path.name))
        title = parsed[-1][0]
        if title in names:
            raise invalid(f"{path.name}: {names[title]} has the same title; a title names one article.")
        names[title] = path.name
    existing = {article.title: article for article in articles_of(site.id)}
    created = updated = 0
    for title, body, tags, published in parsed:
        article = existing.get(title)
        save(site, title, body, tags, published, article=article)
        created, updated = created + (article is None), updated + (article is not None)
    return created, updated


def export_folder(site, folder):
    """Every article of `site` as `<id>-<slug>.md` in `folder` (made if missing); returns how many."""
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    articles = articles_of(site.id)
    for article in articles:
        slug = re.sub(r"[^a-z0-9]+", "-", article.title.lower()).strip("-")[:60] or "article"
        (target / f"{article.id}-{slug}.md").write_text(file_text(article), encoding="utf-8")
    return len(articles)
