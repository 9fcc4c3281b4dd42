"""Sites: origins checked and stored as browsers send them, keys, the embed tag; and, on a live
server, a site created with the CLI opens the public API to its origin and no other."""
import pytest
import requests

from chat import sites
from chat.errors import ChatError
from chat.extensions import db
from chat.models import Site
from chat.origins import CACHE_SECONDS, any_site_origins, forget_site_origins

from tests.support import ROOT, flask_cli, free_port, wait_until


@pytest.mark.parametrize("text, stored", [
    ("https://shop.example", "https://shop.example"),
    ("  HTTPS://Shop.Example/ ", "https://shop.example"),
    ("https://shop.example:443", "https://shop.example"),
    ("http://shop.example:80", "http://shop.example"),
    ("http://shop.example:443", "http://shop.example:443"),
    ("https://shop.example:8443", "https://shop.example:8443"),
    ("http://127.0.0.1:5001", "http://127.0.0.1:5001"),
    ("http://[::1]:8000", "http://[::1]:8000"),
    ("https://bücher.example", "https://xn--bcher-kva.example"),
])
def test_an_origin_is_stored_as_a_browser_sends_it(text, stored):
    assert sites.normalise_origin(text) == stored


@pytest.mark.parametrize("text", [
    "https://shop.example/path", "https://shop.example/?x=1", "https://shop.example#top",
    "https://user:secret@shop.example", "ftp://shop.example", "shop.example", "localhost:5000",
    "https://", "https://shop.example:99999", "https://shop.example:0", "https://shop example",
    "https://shop.exa\tmple", "https://shop..example", "http://[shop.example]", "http://[fe80::1%25eth0]",
    "javascript:alert(1)", "null", "*", "",
])
def test_anything_but_an_origin_is_refused_with_a_sentence(text):
    with pytest.raises(ChatError) as refused:
        sites.normalise_origin(text)
    assert refused.value.message.endswith("is not an origin: use scheme://host[:port], e.g. https://shop.example")


def test_the_refusal_names_what_was_written():
    with pytest.raises(ChatError, match="^https://shop.example/path is not an origin: use scheme://host"):
        sites.normalise_origin("https://shop.example/path")


def site_count():
    return db.session.execute(db.select(db.func.count(Site.id))).scalar()


def test_a_new_site_gets_a_fresh_key_and_its_origins(app):
    first = sites.create_site("Shop", ["HTTPS://Shop.Example/", "https://shop.example", "self"],
                              greeting="Hello!", color="#0F766E")
    second = sites.create_site("Blog", ["http://127.0.0.1:5001"])
    assert first.key != second.key and len(first.key) >= 16
    assert first.origin_list == ["https://shop.example", "self"]
    assert (first.greeting, first.color) == ("Hello!", "#0f766e")
    assert second.greeting == "Hi! How can we help?"
    assert db.session.get(Site, second.id).origin_list == ["http://127.0.0.1:5001"]


def test_a_new_key_is_never_taken_and_never_reads_as_an_option(app, monkeypatch):
    drawn = iter(["demo", "-looks-like-an-option", "fresh-key"])
    monkeypatch.setattr(sites.secrets, "token_urlsafe", lambda _size: next(drawn))
    assert sites.create_site("Shop", ["https://shop.example"]).key == "fresh-key"


@pytest.mark.parametrize("fields, sentence", [
    ({"origins": ["https://shop.example", "https://shop.example/about"]}, "is not an origin"),
    ({"name": "  "}, "A site's name is 1 to 120 characters."),
    ({"color": "teal"}, "teal is not a colour"),
    ({"greeting": "x" * 501}, "A greeting is at most 500 characters."),
])
def test_a_refused_site_writes_nothing(app, fields, sentence):
    before = site_count()
    with pytest.raises(ChatError, match=sentence):
        sites.create_site(**{"name": "Shop", "origins": ["https://shop.example"], **fields})
    db.session.rollback()
    assert site_count() == before


def test_origins_are_removed_then_added(site):
    assert site.origin_list == ["self", "https://shop.example"]
    result = sites.change_origins(site, add=["https://new.example:8443/", "https://new.example:8443"],
                                  remove=["HTTPS://SHOP.example"])
    assert result == ["self", "https://new.example:8443"]
    db.session.expire_all()
    assert site.origin_list == result
    assert sites.change_origins(site, add=["self"]) == result


def test_removing_an_origin_the_site_does_not_list_is_refused(site):
    with pytest.raises(ChatError, match="https://other.example is not one of the origins of site demo"):
        sites.change_origins(site, add=["https://new.example"], remove=["https://other.example"])
    db.session.rollback()
    assert site.origin_list == ["self", "https://shop.example"]


def test_an_origin_added_or_removed_counts_at_once_in_this_process(site):
    forget_site_origins()           # another test's app may have filled the cache
    assert "https://shop.example" in any_site_origins()   # loaded now, cached for CACHE_SECONDS
    sites.change_origins(site, add=["https://new.example"], remove=["https://shop.example"])
    assert {"https://new.example"} == any_site_origins()
    sites.create_site("Blog", ["https://blog.example"])
    assert "https://blog.example" in any_site_origins()


def test_the_embed_tag_is_the_one_the_readme_shows(site):
    tag = sites.embed_snippet(site, "https://chat.example.com/")
    assert tag == '<script src="https://chat.example.com/widget.js" data-site="demo" async></script>'
    assert tag.replace('"demo"', '"SITE_KEY"') in (ROOT / "README.md").read_text()


def start_from(server, origin, site_key):
    return requests.post(server.api("/start"), json={"site_key": site_key}, headers={"Origin": origin},
                         timeout=5)


def test_every_agent_answers_a_new_site(site, agents):
    shop = sites.create_site("Shop", ["https://shop.example"])
    assert all(shop.id in agent.site_ids for agent in agents)


def test_updating_a_site_replaces_its_settings_or_writes_nothing(site):
    shop = sites.create_site("Shop", ["https://shop.example"])
    sites.update_site(shop, "Shop & Co", ["https://shop.example", " ", "HTTPS://WWW.Shop.Example/"],
                      greeting="Hello!", color="#AA3300", position="bottom-left")
    assert (shop.name, shop.origin_list, shop.greeting, shop.color, shop.position) == (
        "Shop & Co", ["https://shop.example", "https://www.shop.example"], "Hello!", "#aa3300", "bottom-left")
    assert sites.embed_snippet(shop, "https://chat.example") == (
        f'<script src="https://chat.example/widget.js" data-site="{shop.key}" data-color="#aa3300" '
        'data-position="bottom-left" async></script>')
    for bad, sentence in (({"origins": []}, "List at least one origin"),
                          ({"position": "top"}, "The launcher sits bottom-right or bottom-left."),
                          ({"origins": ["https://ok.example", "ftp://no.example"]}, "is not an origin")):
        with pytest.raises(ChatError) as refused:
            sites.update_site(shop, **{"name": "Renamed", "origins": ["https://shop.example"], **bad})
        assert sentence in refused.value.message
        db.session.rollback()
        db.session.refresh(shop)
        assert shop.name == "Shop & Co"


def test_a_site_created_with_the_cli_opens_the_api_to_its_origin_only(own_server):
    server = own_server()
    shop, elsewhere = f"http://127.0.0.1:{free_port()}", f"http://127.0.0.1:{free_port()}"
    created = flask_cli(server.env, "chat", "create-site", "--name", "Shop", "--origin", shop)
    assert created.returncode == 0, created.stderr
    key = created.stdout.split("key ")[1].split(";")[0]
    assert f'data-site="{key}"' in created.stdout

    def preflight_passes():     # a running server learns of a new origin within CACHE_SECONDS
        return requests.options(server.api("/start"), headers={"Origin": shop}, timeout=5).status_code == 204
    wait_until(preflight_passes, timeout=CACHE_SECONDS + 5, message="the server to allow the new origin")
    started = start_from(server, shop, key)
    assert started.status_code == 201, started.text
    assert started.headers["Access-Control-Allow-Origin"] == shop

    refused = start_from(server, elsewhere, key)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "origin_not_allowed"
    assert start_from(server, shop, "demo").status_code == 403       # the demo site does not list it

    removed = flask_cli(server.env, "chat", "site-origins", key, "--remove", shop)
    assert removed.returncode == 0, removed.stderr
    assert start_from(server, shop, key).json()["error"]["code"] == "origin_not_allowed"


def test_a_sites_routing_is_manual_or_auto(site):
    assert site.routing == "manual"
    sites.update_site(site, "Demo", ["self"], routing="auto")
    assert site.routing == "auto"
    with pytest.raises(ChatError) as refused:
        sites.update_site(site, "Demo", ["self"], routing="round-robin")
    assert refused.value.message == ("Chats are routed manual (agents accept them) or auto "
                                     "(given to the least busy agent).")
