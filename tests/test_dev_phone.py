"""The development phone's server side: the page and the fake providers exist only in development,
and the demo site's accounts follow the fakes without touching an account a team connected."""
import pytest
from flask_migrate import upgrade
from sqlalchemy import select

from chat import create_app, demo_data, dev_phone
from chat.extensions import db
from chat.models import ChannelAccount
from tests.support import fresh_database_url


def accounts(site):
    return {account.channel: account for account in db.session.execute(
        select(ChannelAccount).filter_by(site_id=site.id)).scalars()}


@pytest.fixture
def development(app, monkeypatch):
    """`flask chat seed-demo` connects the demo accounts in development only."""
    monkeypatch.setitem(app.config, "CHAT_ENV", "development")


def test_the_demo_accounts_point_at_the_fakes_of_this_server(site, development, monkeypatch):
    monkeypatch.setenv("PORT", "5123")
    assert demo_data.connect_demo_channels(site) == ["whatsapp", "line"]
    found = accounts(site)
    assert found["whatsapp"].api_base == "http://127.0.0.1:5123/dev/fake/whatsapp"
    assert found["line"].api_base == "http://127.0.0.1:5123/dev/fake/line"
    assert found["whatsapp"].external_id == dev_phone.DEMO_ACCOUNTS["whatsapp"]["external_id"]
    assert found["line"].signing_secret == dev_phone.DEMO_ACCOUNTS["line"]["signing_secret"]

    monkeypatch.setenv("PORT", "5200")                 # the next bin/run on another port
    demo_data.connect_demo_channels(site)
    assert accounts(site)["whatsapp"].api_base == "http://127.0.0.1:5200/dev/fake/whatsapp"
    assert len(accounts(site)) == 2


def test_an_account_the_team_connected_is_left_alone(site, development):
    db.session.add(ChannelAccount(site_id=site.id, channel="whatsapp", external_id="555000", access_token="real-token",
                                  signing_secret="real-secret", api_base=None))
    db.session.commit()
    assert demo_data.connect_demo_channels(site) == ["line"]
    whatsapp = accounts(site)["whatsapp"]
    assert (whatsapp.access_token, whatsapp.api_base, whatsapp.external_id) == ("real-token", None, "555000")


def test_there_is_no_phone_page_outside_development(app):
    client = app.test_client()
    assert client.get("/dev/phone").status_code == 404
    assert client.get("/dev/fake/whatsapp/_phone/15550001111/messages").status_code == 404


def test_development_serves_the_page_and_both_fakes(tmp_path, monkeypatch):
    monkeypatch.setenv("CHAT_ENV", "development")
    monkeypatch.setenv("DATABASE_URL", fresh_database_url(tmp_path))
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path))
    app = create_app()
    with app.app_context():
        upgrade()
        client = app.test_client()
        page = client.get("/dev/phone")
        assert page.status_code == 200
        assert b'data-whatsapp-path="/dev/fake/whatsapp"' in page.data
        for channel in ("whatsapp", "line"):
            answer = client.get(f"/dev/fake/{channel}/_phone/U{'0' * 31}1/messages?after=0")
            assert answer.status_code == 200, channel
            assert answer.get_json()["messages"] == []
        db.session.remove()
        db.engine.dispose()
