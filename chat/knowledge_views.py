"""The public help pages: a published article of a site at /help/<site key>/<id>, for the
visitors the bot links to. Drafts, other sites' ids and unknown keys are all a plain 404."""
from flask import Blueprint, abort, render_template

from . import knowledge, markdown, sites
from .errors import ChatError

bp = Blueprint("knowledge", __name__, url_prefix="/help")


@bp.get("/<site_key>/<id:article_id>")
def article_page(site_key, article_id):
    """One published article: title, tags and its sanitised body. See docs/protocol.md, HTTP: pages."""
    try:
        site = sites.site_with_key(site_key)
    except ChatError:
        abort(404)
    article = knowledge.published_article(site, article_id) or abort(404)
    return render_template("knowledge/article.html", site=site, article=article, body=markdown.render(article.body))
