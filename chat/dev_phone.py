"""The development phone (`/dev/phone`, only when CHAT_ENV=development): a customer's WhatsApp or
LINE phone in the browser, so a developer tries the channels without a Meta or LINE account.

In development `create_app` calls `mount`: the page, and the fake providers of the test support
(tests/support/fake_whatsapp.py, fake_line.py) served by this same server under FAKE_PATHS. The
demo site's accounts point at them (`demo_data.connect_demo_channels`, run by `flask chat
seed-demo` at every `bin/run`): our outbox sends to the fake as it would to the provider, and the
fake posts signed webhooks back to our own `/channels/<name>/webhook`. The page talks to the fake's
"phone" surface (`/_phone/<id>/...`) only; it never touches the chat's own API.
"""
import importlib
import logging

from flask import Blueprint, current_app, render_template
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from .origins import public_origin

log = logging.getLogger(__name__)
bp = Blueprint("dev_phone", __name__)

FAKE_PATHS = {"whatsapp": "/dev/fake/whatsapp", "line": "/dev/fake/line"}
FAKE_MODULES = {"whatsapp": "tests.support.fake_whatsapp", "line": "tests.support.fake_line"}
# The demo site's accounts with the fakes: made-up credentials that only the fakes know (nothing
# here is a secret: these accounts exist in development only).
DEMO_ACCOUNTS = {
    "whatsapp": {"external_id": "100000000000001", "display_name": "+1 555-010-0001",
                 "business_account_id": "200000000000001", "access_token": "dev-whatsapp-access-token",
                 "signing_secret": "dev-whatsapp-app-secret", "verify_token": "dev-whatsapp-verify-token"},
    "line": {"external_id": "Ude000000000000000000000000000001", "display_name": "Demo Shop",
             "access_token": "dev-line-access-token", "signing_secret": "dev-line-channel-secret"},
}


def fake_api_base(channel):
    """The api_base of the demo site's account on `channel`: the fake mounted here."""
    return public_origin(current_app.config) + FAKE_PATHS[channel]


def mount(app):
    """The page and the fakes, in development only (create_app calls this for CHAT_ENV=development)."""
    if app.config["CHAT_ENV"] != "development":
        return
    app.register_blueprint(bp)
    fakes = {}
    for channel, path in FAKE_PATHS.items():
        try:
            fake = importlib.import_module(FAKE_MODULES[channel])
        except ImportError as error:
            log.warning("The development phone cannot play a %s phone: %s", channel, error)
            continue
        fakes[path] = fake.create_app(fake_state(fake, channel, public_origin(app.config)))
    if fakes:
        app.wsgi_app = DispatcherMiddleware(app.wsgi_app, fakes)


def fake_state(fake, channel, origin):
    """What the fake provider needs to play the demo account's side: its credentials and where our
    webhook is (the fake signs what it posts there with the account's secret)."""
    account, webhook_url = DEMO_ACCOUNTS[channel], origin + f"/channels/{channel}/webhook"
    if channel == "whatsapp":
        return fake.FakeState(phone_number_id=account["external_id"], display_phone_number=account["display_name"],
                              waba_id=account["business_account_id"], app_secret=account["signing_secret"],
                              access_token=account["access_token"], webhook_url=webhook_url)
    return fake.FakeLineState(channel_secret=account["signing_secret"], access_token=account["access_token"],
                              webhook_url=webhook_url, bot_user_id=account["external_id"],
                              display_name=account["display_name"])


@bp.get("/dev/phone")
def phone():
    """The development phone page (never linked in production, where this blueprint is not even
    registered: a 404 like any unknown path)."""
    return render_template("dev/phone.html", fake_paths=FAKE_PATHS, accounts=DEMO_ACCOUNTS,
                           dashboard_url=current_app.config.get("APP_ORIGIN", "") + "/dashboard")
