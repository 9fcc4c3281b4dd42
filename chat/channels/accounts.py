"""A site's accounts with WhatsApp and LINE: connected (checked, and described by the provider),
replaced, disconnected. Secrets are stored as given, shown back only masked, never logged.
The CLI (`flask chat connect-whatsapp`, `connect-line`, `disconnect-channel`) and the site's
admin page both come here."""
import logging
import re
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import select, update

from .. import message_store, publish
from ..errors import ChatError
from ..extensions import db
from ..models import CHANNEL_PROVIDERS, CHANNEL_TITLES, ChannelAccount, ChannelOutbox, Message
from . import SendError, channel_named

log = logging.getLogger(__name__)

ID_PATTERN = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
MAX_TOKEN_LENGTH = 4096
MAX_SECRET_LENGTH = 256
MAX_URL_LENGTH = 500
# What each channel's form and command ask for: (field, label, required, kind).
FIELDS = {
    "whatsapp": (("phone_number_id", "phone number ID", True, "id"),
                 ("access_token", "access token", True, "token"),
                 ("app_secret", "app secret", True, "secret"),
                 ("verify_token", "verify token", True, "secret"),
                 ("business_account_id", "business account ID", False, "id"),
                 ("api_base", "API address", False, "url")),
    "line": (("channel_secret", "channel secret", True, "secret"),
             ("access_token", "channel access token", True, "token"),
             ("api_base", "API address", False, "url")),
}
SECRET_FIELDS = ("access_token", "app_secret", "verify_token", "channel_secret")
PROVIDER_API = {"whatsapp": "https://graph.facebook.com", "line": "https://api.line.me"}


def invalid(text):
    return ChatError("invalid_payload", text)


def checked(channel, fields):
    """The fields of `channel`'s account, trimmed and checked (a sentence for the first wrong one)."""
    if channel not in CHANNEL_PROVIDERS:
        raise invalid(f"There is no channel called {channel!r}; choose whatsapp or line.")
    values = {}
    for name, label, required, kind in FIELDS[channel]:
        value = (fields.get(name) or "").strip()
        if not value:
            if required:
                raise invalid(f"Please give the {label}.")
            values[name] = None
            continue
        if kind == "id" and not ID_PATTERN.match(value):
            raise invalid(f"The {label} is letters and digits, at most 64 of them.")
        if kind == "token" and (len(value) > MAX_TOKEN_LENGTH or any(c.isspace() for c in value)):
            raise invalid(f"The {label} must be one word of at most {MAX_TOKEN_LENGTH} characters.")
        if kind == "secret" and (len(value) > MAX_SECRET_LENGTH or any(c.isspace() for c in value)):
            raise invalid(f"The {label} must be one word of at most {MAX_SECRET_LENGTH} characters.")
        if kind == "url":
            value = api_base(value, label, PROVIDER_API[channel])
        values[name] = value
    return values


def api_base(value, label, example):
    """An http(s) URL without query or fragment, kept without its trailing slash."""
    parts = urlsplit(value)
    if (len(value) > MAX_URL_LENGTH or parts.scheme not in ("http", "https") or not parts.hostname
            or parts.query or parts.fragment or parts.username or parts.password):
        raise invalid(f"The {label} must be an http:// or https:// address such as {example}.")
    return value.rstrip("/")


def described(channel, values):
    """The account's id and name as the provider knows them ({external_id, display_name}),
    asked with the credentials themselves: a wrong token is refused here, not at the first send."""
    provider = channel_named(channel)
    try:
        found = provider.describe_account(values)
    except SendError as error:
        if error.retry:                    # unreachable, or busy: nothing was said of the details
            raise ChatError("channel_refused", f"{CHANNEL_TITLES[channel]} could not check these details just now: "
                                               f"{error.text}") from None
        raise ChatError("channel_refused", f"{CHANNEL_TITLES[channel]} refused these details: {error.text}") from None
    except Exception as error:
        log.warning("describing a %s account failed: %s", channel, type(error).__name__)
        raise ChatError("channel_refused", f"{CHANNEL_TITLES[channel]} could not be reached to check these details; "
                                           "check the API address and try again.") from None
    external_id = (found.get("external_id") or values.get("phone_number_id") or "").strip()
    if not external_id:
        raise ChatError("channel_refused", f"{CHANNEL_TITLES[channel]} did not say which account these details are for.")
    return external_id[:64], (found.get("display_name") or "").strip()[:120] or None


# ---- the account a webhook is for ----

@dataclass(frozen=True)
class WebhookAccount:
    """What a webhook needs of an active account: who it is and the secret its body is signed with."""
    id: int
    site_id: int
    channel: str
    external_id: str
    signing_secret: str
    business_account_id: str | None


# Read from the database at most once per KEPT_SECONDS per process, not per webhook (it was a
# sixth of the server's CPU at 500 webhooks a second, docs/benchmarks.md). Connecting and
# disconnecting forget it in their own process at once; another process serves the old
# account up to KEPT_SECONDS longer, and what it keeps for an account disconnected meanwhile
# is left unhandled (events.handle). Unknown ids are not kept: a new account works at once.
KEPT_SECONDS = 5
WEBHOOK_ACCOUNT_SQL = ("SELECT id, site_id, signing_secret, business_account_id FROM channel_account "
                       "WHERE channel = :channel AND external_id = :external_id AND active = :active")
_webhook_guard = threading.Lock()


def _webhook_accounts():
    """This app's kept accounts: (channel, external_id) -> (WebhookAccount, read at)."""
    return current_app.extensions.setdefault("channel_webhook_accounts", {})


def webhook_account(channel, external_id):
    """The active account of `channel` with this provider id (WhatsApp's phone number id,
    LINE's bot user id), or None."""
    key = (channel, external_id)
    with _webhook_guard:
        kept = _webhook_accounts().get(key)
    if kept is not None and time.monotonic() - kept[1] < KEPT_SECONDS:
        return kept[0]
    # On a pooled connection given back at once, not the request's session: the webhook then
    # holds one connection, for its own write (events.keep), not two.
    row = message_store.fetch_one(WEBHOOK_ACCOUNT_SQL, {"channel": channel, "external_id": external_id,
                                                        "active": True})
    if row is None:
        with _webhook_guard:
            _webhook_accounts().pop(key, None)
        return None
    found = WebhookAccount(row[0], row[1], channel, external_id, row[2], row[3])
    with _webhook_guard:
        _webhook_accounts()[key] = (found, time.monotonic())
    return found


def forget_webhook_accounts():
    with _webhook_guard:
        _webhook_accounts().clear()


def learn_business_account(account, business_account_id):
    """WhatsApp's webhooks name the business account of the number: kept for the templates
    when the account was connected without it."""
    db.session.execute(update(ChannelAccount).where(ChannelAccount.id == account.id,
                                                    ChannelAccount.business_account_id.is_(None))
                       .values(business_account_id=business_account_id).execution_options(synchronize_session=False))
    db.session.commit()
    forget_webhook_accounts()


# ---- connecting ----

def connect(site, channel, **fields):
    """Connect `site` to `channel` with these credentials, or replace the ones it has.
    Returns the account."""
    values = checked(channel, fields)
    external_id, display_name = described(channel, values)
    taken = db.session.execute(select(ChannelAccount).where(
        ChannelAccount.channel == channel, ChannelAccount.external_id == external_id,
        ChannelAccount.site_id != site.id)).scalar_one_or_none()
    if taken is not None:
        raise ChatError("channel_taken", f"This {CHANNEL_TITLES[channel]} account is already connected to the site "
                                         f"{taken.site.name}; disconnect it there first.")
    account = account_of(site, channel)
    same_account = account is not None and account.external_id == external_id
    if account is None:
        account = ChannelAccount(site_id=site.id, channel=channel)
        db.session.add(account)
    elif not same_account:
        account.templates, account.templates_synced_at = None, None     # another number's templates
    account.external_id, account.display_name = external_id, display_name
    account.access_token = values["access_token"]
    account.signing_secret = values.get("app_secret") or values.get("channel_secret")
    account.verify_token = values.get("verify_token")
    account.business_account_id = values.get("business_account_id") or (
        account.business_account_id if same_account else None)
    account.api_base = values.get("api_base")
    account.active = True
    db.session.commit()
    forget_webhook_accounts()
    log.info("site %s connected to %s account %s", site.key, channel, external_id)
    channel_named(channel).after_connect(account)
    return account


def disconnect(site, channel):
    """Forget the site's account (its secrets with it). What was still waiting to go is failed
    with a reason, so no message stays "queued" for ever. Returns False when none was connected."""
    account = account_of(site, channel)
    if account is None:
        return False
    waiting = db.session.execute(
        select(Message.id, Message.session_id, Message.seq).join(ChannelOutbox, ChannelOutbox.message_id == Message.id)
        .where(ChannelOutbox.account_id == account.id, ChannelOutbox.state.in_(("queued", "sending")))).all()
    reason = f"The {CHANNEL_TITLES[channel]} account was disconnected before this message was sent."
    if waiting:
        db.session.execute(update(Message).where(Message.id.in_([row.id for row in waiting]))
                           .values(delivery_state="failed", delivery_error=reason)
                           .execution_options(synchronize_session=False))
    db.session.delete(account)
    db.session.commit()
    forget_webhook_accounts()
    log.info("site %s disconnected from %s", site.key, channel)
    for row in waiting:
        publish.message_delivery(row.session_id, row.id, row.seq, "failed", reason)
    return True


def account_of(site, channel):
    return db.session.execute(select(ChannelAccount).where(
        ChannelAccount.site_id == site.id, ChannelAccount.channel == channel)).scalar_one_or_none()


def masked(secret):
    """A secret as pages and commands show it: its last four characters at most, and only when
    it is long enough that they give nothing away."""
    if not secret:
        return ""
    return "••••" + (secret[-4:] if len(secret) >= 16 else "")


def webhook_url(channel, origin):
    """Where the provider's console must send this channel's webhooks."""
    return f"{origin.rstrip('/')}/channels/{channel}/webhook"


def summaries(site, origin):
    """What the site's admin page shows of each channel: connected or not, the account's name,
    masked secrets, the webhook URL (never a secret in full)."""
    accounts = {account.channel: account for account in db.session.execute(
        select(ChannelAccount).where(ChannelAccount.site_id == site.id)).scalars()}
    shown = []
    for channel in CHANNEL_PROVIDERS:
        account = accounts.get(channel)
        shown.append({
            "channel": channel, "title": CHANNEL_TITLES[channel], "connected": account is not None,
            "external_id": account and account.external_id, "display_name": account and account.display_name,
            "business_account_id": account and account.business_account_id,
            "api_base": account and account.api_base,
            "access_token": masked(account and account.access_token),
            "signing_secret": masked(account and account.signing_secret),
            "verify_token": masked(account and account.verify_token),
            "updated_at": account and account.updated_at,
            "webhook_url": webhook_url(channel, origin),
            "fields": FIELDS[channel],
        })
    return shown
