"""Who a widget visitor is across visits: the long-lived token the widget frame keeps (one per
browser), and a site's logged-in customers, recognised on any device when the site vouches for
their id with its identity secret (`ChatWidget.setUser({id, hash})`)."""
import hashlib
import hmac
import logging
import secrets
from datetime import timedelta

from flask import current_app
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from .errors import ChatError
from .extensions import db
from .models import ChatSession, Visitor, VisitorToken, hash_session_key, utcnow

log = logging.getLogger(__name__)
USER_ID_LENGTH = 64
# A token's last use is written at most this often (a visitor reading is not a write each time).
TOKEN_TOUCH_INTERVAL = timedelta(days=1)


def issue_token(visitor):
    """A new token for `visitor` on one browser (committed by the caller); only its hash is kept."""
    token = secrets.token_urlsafe(32)
    db.session.add(VisitorToken(visitor=visitor, token_hash=hash_session_key(token)))
    return token


def token_row(token):
    if not isinstance(token, str) or not 20 <= len(token) <= 100:
        return None
    return db.session.execute(
        select(VisitorToken).where(VisitorToken.token_hash == hash_session_key(token))
    ).scalar_one_or_none()


def visitor_for_token(token, site=None):
    """The visitor `token` proves (on `site`, when given), or None: unknown, forgotten, lapsed
    (VISITOR_TOKEN_DAYS without use) or another site's."""
    row = token_row(token)
    if row is None or (site is not None and row.visitor.site_id != site.id):
        return None
    now = utcnow()
    if now - row.last_used_at > timedelta(days=current_app.config["VISITOR_TOKEN_DAYS"]):
        db.session.delete(row)
        db.session.commit()
        return None
    if now - row.last_used_at > TOKEN_TOUCH_INTERVAL:
        db.session.execute(update(VisitorToken).where(VisitorToken.id == row.id).values(last_used_at=now))
        db.session.commit()
    return row.visitor


def require_visitor(token, site):
    visitor = visitor_for_token(token, site)
    if visitor is None:
        raise ChatError("visitor_not_found", "This browser is not known here any more; start a new conversation.")
    return visitor


def user_hash(site, user_id):
    """What the site's server computes for `setUser`: HMAC-SHA256 of the user id, in hex."""
    return hmac.new(site.identity_secret.encode(), user_id.encode(), hashlib.sha256).hexdigest()


def is_verified(site, user_id, claimed_hash):
    if not isinstance(claimed_hash, str) or len(claimed_hash) != 64:
        return False
    return hmac.compare_digest(user_hash(site, user_id), claimed_hash.lower())


def identify(site, user_id, claimed_hash, token=None, name=None, email=None):
    """The browser holding `token` (or none yet) is the site's user `user_id`, if the hash
    proves it. Returns (visitor, token): the user's visitor on this site (one on every device)
    and the token this browser keeps from now on.

    An anonymous visitor becomes the user, or, when the user is known already, hands its
    conversations over; a browser that held another user's token gets a new one."""
    if not is_verified(site, user_id, claimed_hash):
        raise ChatError("identity_not_verified",
                        "This user id is not vouched for: the hash must be the HMAC-SHA256 of the id "
                        "with the site's identity secret.")
    try:
        return _identify(site, user_id, token, name, email)
    except IntegrityError:          # the same user identified at the same moment on another device
        db.session.rollback()
        return _identify(site, user_id, token, name, email)


def _identify(site, user_id, token, name, email):
    current = visitor_for_token(token, site) if token else None
    user = db.session.execute(
        select(Visitor).where(Visitor.site_id == site.id, Visitor.channel == "web", Visitor.external_id == user_id)
    ).scalar_one_or_none()
    anonymous = current is not None and current.external_id is None
    if user is None and anonymous:
        user = current
        user.external_id = user_id
    elif user is None:
        user = Visitor(site_id=site.id, channel="web", external_id=user_id)
        db.session.add(user)
        db.session.flush()
    elif anonymous:
        db.session.execute(update(ChatSession).where(ChatSession.visitor_id == current.id)
                           .values(visitor_id=user.id).execution_options(synchronize_session=False))
    user.name = name or user.name
    user.email = email or user.email
    if current is not None and current.id == user.id:
        db.session.commit()
        return user, token
    if current is not None:
        db.session.execute(delete(VisitorToken).where(VisitorToken.token_hash == hash_session_key(token)))
    new_token = issue_token(user)
    db.session.commit()
    log.info("visitor identified site=%s visitor=%s", site.key, user.id)
    return user, new_token


def forget(token):
    """This browser forgets its visitor (`ChatWidget.reset()`, e.g. at the site's logout): the
    token stops working; the conversations stay with the team and on the user's other devices."""
    if isinstance(token, str) and token:
        db.session.execute(delete(VisitorToken).where(VisitorToken.token_hash == hash_session_key(token)))
        db.session.commit()


def visitor_payload(visitor):
    return {"name": visitor.name, "email": visitor.email, "verified": visitor.verified_user_id is not None}
