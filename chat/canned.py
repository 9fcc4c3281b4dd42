"""Canned replies: an agent's own (personal) and the team's (shared, managed by admins).
What an agent may manage is `access.may_manage_canned`; this module keeps each owner's list
valid: a shortcut of 1-40 letters, digits, - or _ (kept in lower case), unique per owner, a text
as long as a message may be, and at most MAX_PER_OWNER replies each. A personal reply and a
shared one may have the same shortcut: the picker shows both, labelled."""
import re

from flask import current_app
from sqlalchemy import func, select

from . import access, validation
from .extensions import db
from .models import CannedResponse

MAX_SHORTCUT_LENGTH = 40
MAX_PER_OWNER = 200
SHORTCUT_PATTERN = re.compile(r"[a-z0-9_-]{1,40}", re.ASCII)


def owned_by(agent_id):
    """The condition for one owner's replies: an agent's, or the shared ones (None)."""
    if agent_id is None:
        return CannedResponse.agent_id.is_(None)
    return CannedResponse.agent_id == agent_id


def replies_of(agent_id):
    """One owner's replies (an agent's, or None: the shared ones), by shortcut."""
    return db.session.execute(select(CannedResponse).where(owned_by(agent_id))
                              .order_by(CannedResponse.shortcut, CannedResponse.id)).scalars().all()


def replies_for(agent):
    """What `agent` can use: its own replies and the shared ones, by shortcut (its own first
    when a shortcut is both)."""
    return db.session.execute(
        select(CannedResponse)
        .where(owned_by(agent.id) | owned_by(None))
        .order_by(CannedResponse.shortcut, CannedResponse.agent_id.is_(None), CannedResponse.id)
    ).scalars().all()


def find(reply_id, agent_id):
    """The reply `reply_id` of this owner (an agent's id, or None for shared), else None."""
    return db.session.execute(select(CannedResponse).where(
        CannedResponse.id == reply_id, owned_by(agent_id))).scalar_one_or_none()


def manageable(agent, reply_id, shared=False):
    """The reply a management page names, if `agent` may manage it: on an agent's own page only
    its personal replies, on the admin page only the shared ones; else None (a 404: another
    agent's reply does not exist, as far as anyone else knows)."""
    reply = find(reply_id, None if shared else agent.id)
    return reply if reply is not None and access.may_manage_canned(agent, reply) else None


def checked_shortcut(text):
    shortcut = validation.string_field({"shortcut": text}, "shortcut", MAX_SHORTCUT_LENGTH, required=True)
    shortcut = shortcut.lstrip("/").lower()
    if not SHORTCUT_PATTERN.fullmatch(shortcut):
        raise validation.invalid(f"A shortcut is 1 to {MAX_SHORTCUT_LENGTH} letters, digits, - or _ "
                                 "(no spaces), such as shipping-times.")
    return shortcut


def checked_text(text):
    return validation.string_field({"reply": text}, "reply", current_app.config["MAX_MESSAGE_LENGTH"],
                                   required=True)


def check_shortcut_is_free(agent_id, shortcut, reply_id=None):
    taken = select(CannedResponse.id).where(owned_by(agent_id), CannedResponse.shortcut == shortcut)
    if reply_id is not None:
        taken = taken.where(CannedResponse.id != reply_id)
    if db.session.execute(taken).first():
        whose = "The team already has a shared reply" if agent_id is None else "You already have a reply"
        raise validation.invalid(f"{whose} with the shortcut /{shortcut}; choose another.")


def create(agent_id, shortcut, text):
    """A new reply of `agent_id` (None: shared). Refusals are `invalid_payload` sentences."""
    shortcut, text = checked_shortcut(shortcut), checked_text(text)
    count = db.session.execute(select(func.count()).select_from(CannedResponse)
                               .where(owned_by(agent_id))).scalar_one()
    if count >= MAX_PER_OWNER:
        whose = "The team has" if agent_id is None else "You have"
        raise validation.invalid(f"{whose} {MAX_PER_OWNER} canned replies already, the most there can be; "
                                 "delete one to add another.")
    check_shortcut_is_free(agent_id, shortcut)
    reply = CannedResponse(agent_id=agent_id, shortcut=shortcut, text=text)
    db.session.add(reply)
    db.session.commit()
    return reply


def update(reply, shortcut, text):
    shortcut, text = checked_shortcut(shortcut), checked_text(text)
    check_shortcut_is_free(reply.agent_id, shortcut, reply.id)
    reply.shortcut, reply.text = shortcut, text
    db.session.commit()
    return reply


def delete(reply):
    db.session.delete(reply)
    db.session.commit()
