"""The knowledge base in a browser: an admin writes an article in Admin → Articles, previews it
(nothing an author types runs), publishes it, and a visitor reads it at /help/<site>/<id>, on a
desktop and on a phone."""
import re

from playwright.sync_api import expect

from tests.browser.pages import PHONE_OPTIONS, log_in, unique_name

BODY = ("Read this first: parcels leave **within a day**.\n\n"
        "<script>window.injected = 1; alert('script ran')</script>\n\n"
        "[x](javascript:alert(1)) or [our tracking page](https://shop.example/track)\n\n"
        "- keep your order number\n- check your spam folder\n")


def open_articles(admin, server):
    """From the dashboard, through the top bar and the admin menu, to the demo site's articles."""
    admin.get_by_role("link", name="Admin", exact=True).click()
    admin.get_by_role("link", name="Articles", exact=True).click()
    expect(admin.get_by_role("heading", name="Articles", exact=True)).to_be_visible()
    admin.goto(server.url + "/admin/articles?site=demo")      # other tests add sites to the shared server
    expect(admin.get_by_role("link", name="How long does shipping take?", exact=True)).to_be_visible()


def no_script_ran(page):
    assert page.evaluate("window.injected") is None
    assert not [dialog for dialog in page.dialogs if dialog[0] == "alert"]
    expect(page.locator('a[href^="javascript:" i]')).to_have_count(0)


def test_an_admin_previews_and_publishes_an_article_and_a_visitor_reads_it_safely(server, browser, new_page):
    admin = new_page()
    log_in(admin, server, "admin@example.com", "demo-password")
    open_articles(admin, server)
    admin.get_by_role("link", name="New article").click()
    title = unique_name("Where is my parcel?")
    admin.get_by_label("Title").fill(title)
    admin.get_by_label("Body").fill(BODY)
    admin.get_by_label("Tags").fill("tracking, parcel")

    admin.get_by_role("button", name="Preview").click()
    preview = admin.locator("#preview")
    expect(preview.get_by_role("heading", name=title)).to_be_visible()
    expect(preview.locator(".article-body strong")).to_have_text("within a day")
    expect(preview.locator(".article-body")).to_contain_text("<script>window.injected = 1; alert('script ran')</script>")
    expect(preview.locator(".article-body li")).to_have_text(["keep your order number", "check your spam folder"])
    expect(preview.locator(".article-tags li")).to_have_text(["tracking", "parcel"])
    expect(preview.locator(".article-body")).to_contain_text("[x](javascript:alert(1))")   # text, not a link
    expect(preview.locator(".article-body a")).to_have_count(1)
    expect(preview.get_by_role("link", name="our tracking page")).to_have_attribute("href", "https://shop.example/track")
    no_script_ran(admin)
    expect(admin.get_by_label("Body")).to_have_value(BODY)               # nothing typed is lost...
    assert admin.url.endswith("/admin/articles/new#preview")           # ...and nothing saved

    admin.get_by_label("Published").check()
    admin.get_by_role("button", name="Save").click()
    expect(admin.locator(".flash")).to_have_text(f"“{title}” is saved and published.")
    help_path = admin.locator(".article-editor").get_by_role("link").filter(has_text="/help/demo/").get_attribute("href")
    assert re.fullmatch(r"/help/demo/\d+", help_path)
    open_articles(admin, server)
    row = admin.locator("table.articles tr").filter(has_text=title)
    expect(row.locator(".badge")).to_have_text("Published")
    expect(row).to_contain_text("tracking, parcel")

    for options in (None, PHONE_OPTIONS):
        visitor = new_page(None if options is None else browser.new_context(**options))
        visitor.goto(server.url + help_path)
        expect(visitor.get_by_role("heading", name=title, level=1)).to_be_in_viewport()
        expect(visitor.locator(".topbar .brand")).to_have_text("Demo site · Help")
        expect(visitor.get_by_role("link", name="Admin")).to_have_count(0)
        expect(visitor.locator(".article-body")).to_contain_text("<script>window.injected = 1;")
        expect(visitor.get_by_role("link", name="our tracking page")).to_be_visible()
        no_script_ran(visitor)
        # Readable on a phone: nothing wider than the screen.
        assert visitor.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        if options is not None:
            visitor.context.close()


def test_a_refused_save_keeps_the_text_and_a_delete_asks_first(server, new_page):
    admin = new_page()
    log_in(admin, server, "admin@example.com", "demo-password")
    open_articles(admin, server)
    admin.get_by_role("link", name="New article").click()
    admin.get_by_label("Body").fill("Gift wrap is free in December.")
    admin.get_by_role("button", name="Save").click()
    expect(admin.locator(".field-error[role=alert]")).to_have_text("An article needs a title.")
    expect(admin.get_by_label("Body")).to_have_value("Gift wrap is free in December.")

    title = unique_name("Gift wrap")
    admin.get_by_label("Title").fill(title)
    admin.get_by_role("button", name="Save").click()
    expect(admin.locator(".flash")).to_have_text(f"“{title}” is saved as a draft.")

    admin.get_by_role("button", name="Delete").click()
    expect(admin.locator(".flash")).to_have_text(f"“{title}” is deleted.")
    assert ("confirm", f"Delete “{title}”? The bot and visitors lose it at once.") in admin.dialogs
    expect(admin.get_by_role("heading", name="Articles", exact=True)).to_be_visible()
    expect(admin.locator("table.articles")).not_to_contain_text(title)


def test_the_article_pages_fit_a_phone(server, browser, new_page):
    context = browser.new_context(**PHONE_OPTIONS)
    try:
        admin = new_page(context)
        log_in(admin, server, "admin@example.com", "demo-password")
        for path in ("/admin/articles?site=demo", "/admin/articles/new?site=demo"):
            admin.goto(server.url + path)
            assert admin.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), path
        admin.get_by_label("Body").fill("A *short* preview.")
        admin.get_by_role("button", name="Preview").tap()
        expect(admin.locator("#preview em")).to_have_text("short")
        expect(admin.locator("#preview")).to_be_in_viewport()
        assert admin.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    finally:
        context.close()
