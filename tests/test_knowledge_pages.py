"""The knowledge base's pages on a live server: an admin writes, previews, saves and deletes
articles in /admin/articles, and a visitor reads a published one at /help/<site key>/<id>,
its Markdown sanitised, and nothing else (drafts, other sites' ids, unknown keys: 404)."""
import re
import uuid

import pytest
import requests
from markupsafe import escape

from tests.support import add_site_and_agent, csrf_token, flask_cli, login

SHIPPING = "Orders ship within one working day; delivery takes 2-3 working days in France and 5-7 elsewhere in Europe."
HOSTILE_BODY = ("Read this first.\n\n<script>alert(1)</script>\n\n"
                "[x](javascript:alert(1)) and <img src=x onerror=alert(1)> and [our page](https://shop.example/a)\n\n"
                "- one\n- two\n")


@pytest.fixture(scope="module")
def admin_http(server):
    return login(server, "admin@example.com", "demo-password")


def has_script_href(page):
    return re.search(r"(href|src)\s*=\s*[\"']?\s*javascript:", page, re.I) is not None


def unique_title(words):
    return f"{words} {uuid.uuid4().hex[:6]}"


def post_editor(server, http, path, **fields):
    """Send the editor's form (Save unless `action` says otherwise) with the page's token."""
    token = csrf_token(http.get(server.url + "/admin/articles", params={"site": "demo"}, timeout=5).text)
    data = {"csrf_token": token, "action": "save", **fields}
    return http.post(server.url + path, data=data, allow_redirects=False, timeout=5)


def create_article(server, http, title, body="Some words.", tags="", published=True, site="demo"):
    """A new article through the editor; its id."""
    fields = {"site": site, "title": title, "body": body, "tags": tags}
    if published:
        fields["published"] = "1"
    response = post_editor(server, http, "/admin/articles/new", **fields)
    assert response.status_code == 302, response.text
    return int(re.search(r"/admin/articles/(\d+)$", response.headers["Location"]).group(1))


def help_page(server, site_key, article_id):
    return requests.get(f"{server.url}/help/{site_key}/{article_id}", timeout=5)


def test_a_published_article_is_a_help_page_anyone_can_read_with_its_markdown_made_safe(server, admin_http):
    title = unique_title("Where is my <parcel>?")
    article_id = create_article(server, admin_http, title, HOSTILE_BODY, tags="tracking, parcel")
    page = help_page(server, "demo", article_id)
    assert page.status_code == 200
    assert f"<h1>{escape(title)}</h1>" in page.text
    assert "<li>tracking</li>" in page.text and "<li>parcel</li>" in page.text
    assert "<p>Read this first.</p>" in page.text and "<li>one</li>" in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text                  # shown as text
    assert "<script>alert" not in page.text and "<img" not in page.text
    assert "[x](javascript:alert(1))" in page.text and not has_script_href(page.text)   # not a link
    assert re.search(r'<a [^>]*href="https://shop.example/a"', page.text)
    assert 'rel="noopener noreferrer nofollow"' in page.text
    assert "script-src 'self';" in page.headers["Content-Security-Policy"]
    assert page.headers["X-Frame-Options"] == "DENY"


@pytest.mark.parametrize("path", ["/help/demo/0", "/help/demo/2147483648", "/help/demo/abc", "/help/demo/-1",
                                  "/help/no-such-site/1", "/help/demo"])
def test_what_is_not_a_published_article_is_a_404(server, path):
    assert requests.get(server.url + path, timeout=5).status_code == 404


def test_drafts_and_another_sites_articles_are_a_404_under_the_wrong_key(server, admin_http, tmp_path):
    draft = create_article(server, admin_http, unique_title("Draft"), published=False)
    assert help_page(server, "demo", draft).status_code == 404
    shop = "kb-" + uuid.uuid4().hex[:8]
    add_site_and_agent(server, shop, f"{shop}@example.com", "shop-password")
    (tmp_path / "hours.md").write_text("---\ntitle: Shop hours\npublished: true\n---\nOpen at nine.\n")
    imported = flask_cli(server.env, "chat", "kb-import", str(tmp_path), "--site", shop)
    assert imported.returncode == 0 and imported.stdout.strip() == "1 created, 0 updated.", imported.stderr
    listing = admin_http.get(server.url + "/admin/articles", params={"site": shop}, timeout=5).text
    shop_article = int(re.search(r'data-article-id="(\d+)"', listing).group(1))
    assert "Open at nine." in help_page(server, shop, shop_article).text
    assert help_page(server, "demo", shop_article).status_code == 404


def test_only_admins_open_the_article_pages(server):
    agent = login(server)
    for path in ("/admin/articles", "/admin/articles/new", "/admin/articles/1"):
        refused = agent.get(server.url + path, timeout=5)
        assert refused.status_code == 403 and "Admins only" in refused.text
    anonymous = requests.get(server.url + "/admin/articles", allow_redirects=False, timeout=5)
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]


def test_the_list_shows_a_sites_articles_with_their_tags_state_and_a_site_picker(server, admin_http):
    draft_title = unique_title("Winter sale")
    create_article(server, admin_http, draft_title, tags="sale, winter", published=False)
    add_site_and_agent(server, "kb-other-" + uuid.uuid4().hex[:6], f"other-{uuid.uuid4().hex[:6]}@example.com",
                       "other-password")
    page = admin_http.get(server.url + "/admin/articles", params={"site": "demo"}, timeout=5).text
    assert '<select id="articleSite" name="site">' in page and '<option value="demo" selected>' in page
    assert "How long does shipping take?" in page                      # seed-demo's articles
    row = re.search(rf'<tr data-article-id="\d+">\s*<td class="article-title">.*?{re.escape(draft_title)}.*?</tr>',
                    page, re.S).group(0)
    assert "sale, winter" in row and "Draft" in row and "UTC" in row
    shipping = re.search(r'<tr data-article-id="\d+">\s*<td class="article-title">[^\n]*How long does shipping take'
                         r'.*?</tr>', page, re.S).group(0)
    assert "Published" in shipping and re.search(r'href="/help/demo/\d+"', shipping)
    assert 'href="/admin/articles/new?site=demo"' in page
    nav = page.split('class="admin-nav"')[1].split("</nav>")[0]
    assert 'href="/admin/articles">Articles</a>' in nav                    # in the admin's menu


@pytest.mark.parametrize("fields, sentence", [
    ({"title": "   "}, "An article needs a title."),
    ({"title": "x" * 201}, "A title can be up to 200 characters."),
    ({"body": "  \n "}, "An article needs a body."),
    ({"body": "x" * 50_001}, "An article's body can be up to 50,000 characters."),
    ({"tags": "t" * 501}, "The tags can be up to 500 characters in all."),
])
def test_a_refused_article_says_why_keeps_what_was_typed_and_saves_nothing(server, admin_http, fields, sentence):
    typed = {"site": "demo", "title": unique_title("Typed"), "body": "Kept *as typed* <b>", "tags": "kept, tags",
             "published": "1", **fields}
    refused = post_editor(server, admin_http, "/admin/articles/new", **typed)
    assert refused.status_code == 400
    assert f'<p class="field-error" role="alert">{escape(sentence)}</p>' in refused.text
    assert escape(typed["body"]) in refused.text and escape(typed["tags"]) in refused.text
    assert f'value="{escape(typed["title"])}"' in refused.text
    assert 'name="published" value="1" checked' in refused.text
    listing = admin_http.get(server.url + "/admin/articles", params={"site": "demo"}, timeout=5).text
    if typed["title"].strip():
        assert escape(typed["title"]) not in listing


def test_preview_shows_the_safe_rendering_and_saves_nothing(server, admin_http):
    title = unique_title("Preview only")
    preview = post_editor(server, admin_http, "/admin/articles/new", site="demo", title=title,
                          body=HOSTILE_BODY, tags="a, b", action="preview")
    assert preview.status_code == 200
    shown = preview.text.split('<section id="preview"', 1)[1]
    assert "<p>Read this first.</p>" in shown and "&lt;script&gt;" in shown and "<li>a</li>" in shown
    assert not has_script_href(preview.text) and "<script>alert" not in preview.text and "<img" not in shown
    assert escape(HOSTILE_BODY) in preview.text                   # the textarea keeps the Markdown
    listing = admin_http.get(server.url + "/admin/articles", params={"site": "demo"}, timeout=5).text
    assert title not in listing
    empty = post_editor(server, admin_http, "/admin/articles/new", site="demo", title="", body="Words.",
                        action="preview")
    assert empty.status_code == 200 and "An article needs a title." in empty.text and "<p>Words.</p>" in empty.text


def test_an_article_is_changed_unpublished_and_deleted(server, admin_http):
    title = unique_title("Gift wrap")
    article_id = create_article(server, admin_http, title, "We wrap gifts for free.")
    editor = admin_http.get(f"{server.url}/admin/articles/{article_id}", timeout=5)
    assert "We wrap gifts for free." in editor.text and f'href="/help/demo/{article_id}"' in editor.text
    assert 'data-confirm="Delete “' in editor.text

    changed = post_editor(server, admin_http, f"/admin/articles/{article_id}", title=title,
                          body="Gift wrap costs €2.\r\n\r\nChoose it at checkout.", tags="gift", published="1")
    assert changed.status_code == 302
    page = help_page(server, "demo", article_id).text
    assert "<p>Gift wrap costs €2.</p>" in page and "<p>Choose it at checkout.</p>" in page
    assert "\r" not in admin_http.get(f"{server.url}/admin/articles/{article_id}", timeout=5).text.split(
        'id="articleBody"', 1)[1].split("</textarea>", 1)[0]             # stored with plain line breaks

    post_editor(server, admin_http, f"/admin/articles/{article_id}", title=title, body="Gift wrap costs €2.")
    assert help_page(server, "demo", article_id).status_code == 404    # unpublished: the box was unticked

    token = csrf_token(admin_http.get(server.url + "/admin/articles", timeout=5).text)
    deleted = admin_http.post(f"{server.url}/admin/articles/{article_id}/delete", data={"csrf_token": token},
                              timeout=5)
    assert deleted.status_code == 200 and f"“{escape(title)}” is deleted." in deleted.text
    assert admin_http.get(f"{server.url}/admin/articles/{article_id}", timeout=5).status_code == 404


def test_an_unknown_article_or_site_in_the_admin_is_a_404(server, admin_http):
    assert admin_http.get(server.url + "/admin/articles/2147483647", timeout=5).status_code == 404
    assert admin_http.get(server.url + "/admin/articles", params={"site": "nope"}, timeout=5).status_code == 404
    assert post_editor(server, admin_http, "/admin/articles/new", site="nope", title="T", body="B").status_code == 404
