"""A site's WhatsApp and LINE accounts (chat/channels/accounts.py): checked, described by the
provider (a fake channel in the test process), replaced, disconnected; by `flask chat` and on
the site's admin page; secrets never shown back in full."""
import html
from dataclasses import dataclass, field

import pytest

from chat import messages
from chat.channels import CHANNELS, Channel, SendError, accounts
from chat.cli import save_agent
from chat.errors import ChatError
from chat.extensions import db
from chat.models import ChannelAccount, Message, Site
from tests.support import csrf_token, fresh, logged_in_client
from tests.test_channel_outbox import FakePhone, channel_chat

TOKEN = "EAAGm0PX4ZCpsBAKZCZAaBcdEfGh1234"
APP_SECRET = "9f86d081884c7d659a2feaa0c55ad015"
CHANNEL_SECRET = "2bd1a0cf3e9c4f5e8f1d0123456789ab"


@dataclass
class Provider(Channel):
    """The provider's side of connecting: who these credentials are (or a refusal)."""
    asked: list = field(default_factory=list)
    refusal: Exception = None

    def describe_account(self, fields):
        self.asked.append(dict(fields))
        if self.refusal is not None:
            raise self.refusal
        if self.name == "whatsapp":
            return {"external_id": fields["phone_number_id"], "display_name": "+1 555-0100"}
        return {"external_id": "U4af4980629c0e4b1d2f3a4b5c6d7e8f9", "display_name": "Demo Shop"}


@pytest.fixture
def providers(monkeypatch):
    found = {name: Provider(name=name) for name in ("whatsapp", "line")}
    for name, provider in found.items():
        monkeypatch.setitem(CHANNELS, name, provider)
    return found


def whatsapp_fields(**changes):
    return {"phone_number_id": "106540352242922", "access_token": TOKEN, "app_secret": APP_SECRET,
            "verify_token": "a-verify-word", "business_account_id": None, "api_base": None, **changes}


def test_connecting_whatsapp_stores_the_account_the_provider_describes(site, providers):
    account = accounts.connect(site, "whatsapp", **whatsapp_fields(api_base="http://127.0.0.1:9000/"))
    assert (account.channel, account.external_id, account.display_name) == ("whatsapp", "106540352242922",
                                                                           "+1 555-0100")
    assert (account.access_token, account.signing_secret, account.verify_token) == (TOKEN, APP_SECRET,
                                                                                    "a-verify-word")
    assert account.api_base == "http://127.0.0.1:9000"
    assert providers["whatsapp"].asked == [{**whatsapp_fields(), "api_base": "http://127.0.0.1:9000"}]


def test_connecting_line_learns_the_bots_id_that_its_webhooks_name(site, providers):
    account = accounts.connect(site, "line", channel_secret=CHANNEL_SECRET, access_token=TOKEN)
    assert (account.external_id, account.display_name, account.signing_secret) == (
        "U4af4980629c0e4b1d2f3a4b5c6d7e8f9", "Demo Shop", CHANNEL_SECRET)
    assert account.verify_token is None and account.api_base is None


def test_reconnecting_replaces_the_credentials_of_the_same_account(site, providers):
    first = accounts.connect(site, "whatsapp", **whatsapp_fields(business_account_id="waba-1"))
    again = accounts.connect(site, "whatsapp", **whatsapp_fields(access_token="EAAnewtoken0123456789"))
    assert again.id == first.id and db.session.query(ChannelAccount).count() == 1
    assert (again.access_token, again.business_account_id) == ("EAAnewtoken0123456789", "waba-1")


def test_a_number_connected_to_another_site_is_refused_with_its_name(site, providers):
    accounts.connect(site, "whatsapp", **whatsapp_fields())
    other = Site(key="other", name="Other shop", allowed_origins="self")
    db.session.add(other)
    db.session.commit()
    with pytest.raises(ChatError) as refused:
        accounts.connect(other, "whatsapp", **whatsapp_fields())
    assert refused.value.message == ("This WhatsApp account is already connected to the site Demo; "
                                     "disconnect it there first.")


@pytest.mark.parametrize("changes, sentence", [
    ({"phone_number_id": ""}, "Please give the phone number ID."),
    ({"phone_number_id": "12 34"}, "The phone number ID is letters and digits, at most 64 of them."),
    ({"access_token": "   "}, "Please give the access token."),
    ({"access_token": "a b"}, "The access token must be one word of at most 4096 characters."),
    ({"access_token": "x" * 4097}, "The access token must be one word of at most 4096 characters."),
    ({"app_secret": "s" * 257}, "The app secret must be one word of at most 256 characters."),
    ({"verify_token": None}, "Please give the verify token."),
    ({"api_base": "ftp://graph.example"}, "The API address must be an http:// or https:// address such as "
                                          "https://graph.facebook.com."),
    ({"api_base": "https://graph.example/?x=1"}, "The API address must be an http:// or https:// address such as "
                                                 "https://graph.facebook.com."),
    ({"api_base": "javascript:alert(1)"}, "The API address must be an http:// or https:// address such as "
                                          "https://graph.facebook.com."),
])
def test_wrong_details_are_refused_with_a_sentence_before_the_provider_is_asked(site, providers, changes, sentence):
    with pytest.raises(ChatError) as refused:
        accounts.connect(site, "whatsapp", **whatsapp_fields(**changes))
    assert refused.value.message == sentence
    assert providers["whatsapp"].asked == []


def test_credentials_the_provider_refuses_are_not_stored(site, providers):
    providers["line"].refusal = SendError("401", "The access token is not valid.")
    with pytest.raises(ChatError) as refused:
        accounts.connect(site, "line", channel_secret=CHANNEL_SECRET, access_token=TOKEN)
    assert refused.value.message == "LINE refused these details: The access token is not valid."
    providers["line"].refusal = SendError("network", "LINE could not be reached.", retry=True)
    with pytest.raises(ChatError) as busy:
        accounts.connect(site, "line", channel_secret=CHANNEL_SECRET, access_token=TOKEN)
    assert busy.value.message == "LINE could not check these details just now: LINE could not be reached."
    providers["line"].refusal = ConnectionError("no route")
    with pytest.raises(ChatError) as unreachable:
        accounts.connect(site, "line", channel_secret=CHANNEL_SECRET, access_token=TOKEN)
    assert unreachable.value.message.startswith("LINE could not be reached to check these details")
    assert db.session.query(ChannelAccount).count() == 0


@pytest.mark.parametrize("secret, shown", [
    ("EAAGm0PX4ZCpsBAKZCZAaBcdEfGh1234", "••••1234"), ("short-secret", "••••"), ("", ""), (None, ""),
])
def test_a_secret_is_shown_masked(secret, shown):
    assert accounts.masked(secret) == shown


def test_disconnecting_fails_what_was_still_waiting_to_go(site, agents, monkeypatch):
    monkeypatch.setitem(CHANNELS, "whatsapp", FakePhone(name="whatsapp"))
    db.session.add(ChannelAccount(site_id=site.id, channel="whatsapp", external_id="1065", access_token=TOKEN,
                                  signing_secret=APP_SECRET))
    db.session.commit()
    chat = channel_chat(site, agents[0])
    reply = messages.post_agent(chat, agents[0], "hello", "c1")
    assert accounts.disconnect(site, "whatsapp") is True
    assert db.session.query(ChannelAccount).count() == 0
    stored = db.session.get(Message, reply.id)
    assert (stored.delivery_state, stored.delivery_error) == (
        "failed", "The WhatsApp account was disconnected before this message was sent.")
    assert accounts.disconnect(site, "whatsapp") is False


# ---- flask chat ----

def test_the_cli_connects_whatsapp_and_says_what_to_paste_where_without_the_secrets(app, site, providers):
    app.config["APP_ORIGIN"] = "https://chat.example.com"
    result = app.test_cli_runner().invoke(args=[
        "chat", "connect-whatsapp", "--site", "demo", "--phone-number-id", "106540352242922",
        "--access-token", TOKEN, "--app-secret", APP_SECRET, "--verify-token", "a-verify-word",
        "--api-base", "http://127.0.0.1:9000"])
    assert result.exit_code == 0, result.output
    assert "Demo is connected to WhatsApp as +1 555-0100 (106540352242922); access token ••••1234." in result.output
    assert "https://chat.example.com/channels/whatsapp/webhook" in result.output
    assert TOKEN not in result.output and APP_SECRET not in result.output and "a-verify-word" not in result.output
    assert db.session.execute(db.select(ChannelAccount.api_base)).scalar() == "http://127.0.0.1:9000"


def test_the_cli_connects_line_and_disconnects_it(app, site, providers):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["chat", "connect-line", "--site", "demo", "--channel-secret", CHANNEL_SECRET,
                                 "--access-token", TOKEN])
    assert result.exit_code == 0, result.output
    assert "Demo is connected to LINE as Demo Shop (U4af4980629c0e4b1d2f3a4b5c6d7e8f9)" in result.output
    assert "/channels/line/webhook" in result.output and CHANNEL_SECRET not in result.output
    result = runner.invoke(args=["chat", "disconnect-channel", "--site", "demo", "--channel", "line"])
    assert result.output == "Demo is no longer connected to LINE.\n"
    assert db.session.query(ChannelAccount).count() == 0


def test_the_cli_names_what_is_wrong(app, site, providers):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["chat", "connect-line", "--site", "demo", "--channel-secret", CHANNEL_SECRET,
                                 "--access-token", TOKEN, "--api-base", "graph.example"])
    assert result.exit_code == 1
    assert "The API address must be an http:// or https:// address such as https://api.line.me." in result.output
    result = runner.invoke(args=["chat", "connect-line", "--site", "nope", "--channel-secret", CHANNEL_SECRET,
                                 "--access-token", TOKEN])
    assert result.exit_code == 2 and "--site" in result.output


# ---- the site's admin page ----





@pytest.fixture
def admin(app, site):
    save_agent("admin@example.com", "Ada", "admin", "password-9")
    return logged_in_client(app, "admin@example.com", "password-9")[0]


def site_page(client):
    page = fresh(client).get("/admin/sites/demo")
    assert page.status_code == 200
    return page.text


def test_an_admin_connects_whatsapp_on_the_sites_page_and_sees_only_masked_secrets(app, admin, providers):
    page = site_page(admin)
    assert 'id="channels"' in page and "Not connected" in page
    assert "http://localhost/channels/whatsapp/webhook" in page
    form = {**whatsapp_fields(api_base="http://127.0.0.1:9000"), "csrf_token": csrf_token(page)}
    saved = fresh(admin).post("/admin/sites/demo/channels/whatsapp", data=form)
    assert saved.status_code == 302 and saved.headers["Location"].endswith("/admin/sites/demo#channels")
    page = site_page(admin)
    assert "Demo is connected to WhatsApp as +1 555-0100." in html.unescape(page)
    assert "••••1234" in page and "106540352242922" in page
    assert TOKEN not in page and APP_SECRET not in page and "a-verify-word" not in page


def test_a_refusal_is_a_sentence_on_the_page_with_what_was_typed_except_the_secrets(app, admin, providers):
    providers["whatsapp"].refusal = SendError("190", "The access token has expired.")
    form = {**whatsapp_fields(business_account_id="waba-77"), "csrf_token": csrf_token(site_page(admin))}
    refused = fresh(admin).post("/admin/sites/demo/channels/whatsapp", data=form)
    assert refused.status_code == 400
    page = html.unescape(refused.text)
    assert "WhatsApp refused these details: The access token has expired." in page
    assert 'value="waba-77"' in page and 'value="106540352242922"' in page
    assert TOKEN not in page and APP_SECRET not in page


def test_an_admin_disconnects_a_channel(app, admin, site, providers):
    accounts.connect(site, "line", channel_secret=CHANNEL_SECRET, access_token=TOKEN)
    page = site_page(admin)
    assert "Demo Shop" in page and "Disconnect" in page
    gone = fresh(admin).post("/admin/sites/demo/channels/line/disconnect", data={"csrf_token": csrf_token(page)})
    assert gone.status_code == 302
    assert db.session.query(ChannelAccount).count() == 0
    assert "Demo is no longer connected to LINE." in site_page(admin)


def test_only_admins_manage_channels(app, site, agents, providers):
    supervisor = logged_in_client(app, "s@example.com", "password-3")[0]
    token = csrf_token(fresh(supervisor).get("/dashboard").text)
    refused = fresh(supervisor).post("/admin/sites/demo/channels/line",
                                     data={"channel_secret": CHANNEL_SECRET, "access_token": TOKEN,
                                           "csrf_token": token})
    assert refused.status_code == 403
    assert db.session.query(ChannelAccount).count() == 0
    assert providers["line"].asked == []


def test_an_unknown_channel_is_not_found(app, admin):
    token = csrf_token(site_page(admin))
    assert fresh(admin).post("/admin/sites/demo/channels/telegram", data={"csrf_token": token}).status_code == 404
