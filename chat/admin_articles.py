"""The knowledge base's admin pages, on the `admin` blueprint (admins only, as every /admin
page): a site's articles, the editor with its Preview, delete. Views translate; the rules are
in `knowledge` (what an article may be) and `markdown` (what a page may show)."""
from flask import abort, flash, redirect, render_template, request, url_for

from . import knowledge, markdown
from .admin import bp, site_or_404
from .errors import ChatError
from .extensions import db
from .models import Article, Site


def chosen_site(key):
    """The site of `key`, or with none given the first by name (404 when there is none)."""
    if key:
        return site_or_404(key)
    return db.session.scalars(db.select(Site).order_by(Site.name).limit(1)).first() or abort(404)


def article_or_404(article_id):
    return db.session.get(Article, article_id) or abort(404)


@bp.get("/articles")
def article_list():
    """A site's articles (a site picker when there are several). See docs/protocol.md, HTTP: pages."""
    site = chosen_site(request.args.get("site"))
    all_sites = db.session.scalars(db.select(Site).order_by(Site.name)).all()
    return render_template("admin/articles.html", site=site, sites=all_sites,
                           articles=knowledge.articles_of(site.id), public_url=knowledge.public_url)


def editor(site, article=None, status=200, draft=None, **shown):
    """The editor page: `draft` (the form as sent) wins over the stored article."""
    values = draft or ({"title": article.title, "body": article.body, "tags": article.tags,
                        "published": article.published} if article else {})
    return render_template("admin/article.html", site=site, article=article, values=values,
                           public_url=knowledge.public_url, max_title=knowledge.MAX_TITLE,
                           max_body=knowledge.MAX_BODY, **shown), status


def save_or_preview(site, article=None):
    """The editor's two buttons. Preview shows the sanitised rendering and saves nothing (with
    the sentence of anything a save would refuse); Save stores, or keeps the form with the sentence."""
    form = request.form
    # A browser sends a textarea's line breaks as CRLF; the article keeps "\n", as imported files do.
    draft = {"title": form.get("title", ""), "body": form.get("body", "").replace("\r\n", "\n"),
             "tags": form.get("tags", ""),
             "published": bool(form.get("published"))}
    if form.get("action") == "preview":
        try:
            knowledge.checked(draft["title"], draft["body"], draft["tags"])
            error = None
        except ChatError as refused:
            error = refused.message
        fits = len(draft["body"].strip()) <= knowledge.MAX_BODY
        return editor(site, article, draft=draft, error=error,
                      preview=markdown.render(draft["body"]) if fits else None,
                      preview_article=Article(title=draft["title"], tags=draft["tags"]))
    try:
        saved = knowledge.save(site, draft["title"], draft["body"], draft["tags"], draft["published"], article=article)
    except ChatError as refused:
        db.session.rollback()
        return editor(site, article, 400, draft=draft, error=refused.message)
    flash(f"“{saved.title}” is saved{' and published' if saved.published else ' as a draft'}.")
    return redirect(url_for("admin.edit_article", article_id=saved.id))


@bp.get("/articles/new")
def new_article():
    return editor(chosen_site(request.args.get("site")))


@bp.post("/articles/new")
def add_article():
    return save_or_preview(site_or_404(request.form.get("site")))


@bp.get("/articles/<id:article_id>")
def edit_article(article_id):
    article = article_or_404(article_id)
    return editor(article.site, article)


@bp.post("/articles/<id:article_id>")
def save_article(article_id):
    article = article_or_404(article_id)
    return save_or_preview(article.site, article)


@bp.post("/articles/<id:article_id>/delete")
def delete_article(article_id):
    article = article_or_404(article_id)
    title, site_key = article.title, article.site.key
    knowledge.delete(article)
    flash(f"“{title}” is deleted.")
    return redirect(url_for("admin.article_list", site=site_key))
