"""WhatsApp and LINE over HTTP for the team: an agent sends a failed message again, and on the
site's admin page an admin connects, replaces or disconnects the site's accounts (on the
`admin` blueprint, admins only as every /admin page). Views translate; the rules are in
`channels.outbox`, `channels.accounts` and `access`. See docs/protocol.md, "Channels"."""
from flask import Blueprint, abort, flash, jsonify, redirect, request, url_for
from flask_login import current_user

from . import access, sessions
from .admin import bp as admin_bp
from .admin import site_or_404, site_page
from .auth import api_login_required
from .channels import accounts, outbox
from .errors import ChatError, session_not_found
from .extensions import csrf, db
from .models import CHANNEL_PROVIDERS, CHANNEL_TITLES, Message

bp = Blueprint("channel_views", __name__)


@bp.post("/api/v1/agent/messages/<id:message_id>/retry")
@csrf.exempt            # checked below, after the login: a logged-out browser hears login_required
@api_login_required
def retry_message(message_id):
    """Send a message the phone never got again (its delivery `failed`), in a chat the agent
    may write to; the CSRF token in X-CSRFToken. Answers {"message": payload}."""
    csrf.protect()
    message = db.session.get(Message, message_id)
    if message is None or message.private:
        raise session_not_found()
    access.require_write(current_user, access.require_view(current_user, sessions.find_session(message.session_id)))
    return jsonify({"message": outbox.retry(message).to_dict()})


def channel_or_404(channel):
    if channel not in CHANNEL_PROVIDERS:
        abort(404)
    return channel


@admin_bp.post("/sites/<key>/channels/<channel>")
def connect_channel(key, channel):
    """Connect the site to WhatsApp or LINE, or replace its credentials (the provider checks them)."""
    site, channel = site_or_404(key), channel_or_404(channel)
    fields = {name: request.form.get(name) for name, *_ in accounts.FIELDS[channel]}
    try:
        account = accounts.connect(site, channel, **fields)
    except ChatError as error:
        db.session.rollback()
        # What was typed comes back, but never a secret.
        draft = {name: value for name, value in fields.items() if name not in accounts.SECRET_FIELDS}
        return site_page(site, 400, channel_error={"channel": channel, "message": error.message},
                         channel_draft=draft)
    flash(f"{site.name} is connected to {CHANNEL_TITLES[channel]} as {account.display_name or account.external_id}.")
    return redirect(url_for("admin.edit_site", key=site.key) + "#channels")


@admin_bp.post("/sites/<key>/channels/<channel>/disconnect")
def disconnect_channel(key, channel):
    site, channel = site_or_404(key), channel_or_404(channel)
    if accounts.disconnect(site, channel):
        flash(f"{site.name} is no longer connected to {CHANNEL_TITLES[channel]}.")
    return redirect(url_for("admin.edit_site", key=site.key) + "#channels")
