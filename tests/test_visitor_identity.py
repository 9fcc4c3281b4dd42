"""Unit tests of chat/visitor_identity.py: a browser's visitor token and verified user ids."""
import hashlib
import hmac
from datetime import timedelta

import pytest

from chat import sessions, visitor_identity
from chat.errors import ChatError
from chat.extensions import db
from chat.models import ChatSession, Site, Visitor, VisitorToken


def new_visitor(site, name="Ann"):
    visitor = Visitor(site_id=site.id, name=name)
    token = visitor_identity.issue_token(visitor)
    db.session.commit()
    return visitor, token


def signed(site, user_id):
    return hmac.new(site.identity_secret.encode(), user_id.encode(), hashlib.sha256).hexdigest()


def test_a_token_proves_its_visitor_and_only_its_hash_is_kept(site):
    visitor, token = new_visitor(site)
    assert visitor_identity.visitor_for_token(token, site) is visitor
    assert visitor_identity.visitor_for_token(token + "x", site) is None
    assert visitor_identity.visitor_for_token(None, site) is None
    assert visitor_identity.visitor_for_token("short", site) is None
    stored = db.session.execute(db.select(VisitorToken)).scalar_one()
    assert token not in stored.token_hash


def test_a_token_opens_nothing_on_another_site(site):
    other = Site(key="other", name="Other")
    db.session.add(other)
    db.session.commit()
    _, token = new_visitor(site)
    assert visitor_identity.visitor_for_token(token, other) is None
    with pytest.raises(ChatError) as refused:
        visitor_identity.require_visitor(token, other)
    assert refused.value.code == "visitor_not_found"


def test_a_token_unused_for_its_lifetime_lapses_and_a_used_one_is_kept_alive(app, site):
    visitor, token = new_visitor(site)
    row = db.session.execute(db.select(VisitorToken)).scalar_one()
    days = app.config["VISITOR_TOKEN_DAYS"]
    row.last_used_at -= timedelta(days=days - 1)
    db.session.commit()
    assert visitor_identity.visitor_for_token(token, site) is visitor       # used: its clock starts again
    row = db.session.execute(db.select(VisitorToken)).scalar_one()
    row.last_used_at -= timedelta(days=days + 1)
    db.session.commit()
    assert visitor_identity.visitor_for_token(token, site) is None
    assert db.session.execute(db.select(VisitorToken)).first() is None


def test_every_site_has_its_own_secret_and_the_hash_is_hmac_sha256_of_the_id(site):
    other = Site(key="other", name="Other")
    db.session.add(other)
    db.session.commit()
    assert len(site.identity_secret) == 64 and site.identity_secret != other.identity_secret
    assert visitor_identity.user_hash(site, "user-42") == signed(site, "user-42")
    assert visitor_identity.is_verified(site, "user-42", signed(site, "user-42").upper())
    assert not visitor_identity.is_verified(site, "user-42", signed(other, "user-42"))
    assert not visitor_identity.is_verified(site, "user-43", signed(site, "user-42"))
    assert not visitor_identity.is_verified(site, "user-42", None)


def test_a_forged_hash_is_refused_and_changes_nothing(site):
    visitor, token = new_visitor(site)
    with pytest.raises(ChatError) as refused:
        visitor_identity.identify(site, "user-42", "0" * 64, token)
    assert refused.value.code == "identity_not_verified"
    assert visitor.external_id is None
    assert visitor_identity.visitor_for_token(token, site) is visitor


def test_an_anonymous_visitor_becomes_the_user_and_keeps_its_token(site):
    visitor, token = new_visitor(site)
    user, kept = visitor_identity.identify(site, "user-42", signed(site, "user-42"), token, email="ann@example.com")
    assert user is visitor and kept == token
    assert user.verified_user_id == "user-42" and user.email == "ann@example.com"


def test_the_same_user_on_another_browser_is_the_same_visitor_with_its_conversations(site):
    first, first_token = new_visitor(site)
    visitor_identity.identify(site, "user-42", signed(site, "user-42"), first_token)
    earlier, _ = sessions.start_session(site, visitor=first)
    second, second_token = new_visitor(site, name="Ann on her phone")
    on_phone, _ = sessions.start_session(site, visitor=second)
    user, token = visitor_identity.identify(site, "user-42", signed(site, "user-42"), second_token)
    assert user is first and token != second_token
    assert visitor_identity.visitor_for_token(token, site) is first
    assert visitor_identity.visitor_for_token(second_token, site) is None        # replaced
    assert visitor_identity.visitor_for_token(first_token, site) is first        # the first browser too
    owners = {chat.id: chat.visitor_id for chat in db.session.execute(db.select(ChatSession)).scalars()}
    assert owners == {earlier.id: first.id, on_phone.id: first.id}


def test_a_browser_that_held_another_users_token_hands_over_nothing(site):
    visitor, token = new_visitor(site)
    visitor_identity.identify(site, "user-1", signed(site, "user-1"), token)
    mine, _ = sessions.start_session(site, visitor=visitor)
    user, new_token = visitor_identity.identify(site, "user-2", signed(site, "user-2"), token)
    assert user is not visitor and user.verified_user_id == "user-2"
    assert visitor_identity.visitor_for_token(new_token, site) is user
    assert visitor_identity.visitor_for_token(token, site) is None
    assert db.session.get(ChatSession, mine.id).visitor_id == visitor.id


def test_forgetting_a_browser_stops_its_token_only(site):
    visitor, token = new_visitor(site)
    other_token = visitor_identity.issue_token(visitor)
    db.session.commit()
    visitor_identity.forget(token)
    assert visitor_identity.visitor_for_token(token, site) is None
    assert visitor_identity.visitor_for_token(other_token, site) is visitor


def test_a_session_opens_with_its_visitors_token_and_not_with_anothers(site):
    visitor, token = new_visitor(site)
    _, stranger_token = new_visitor(site, name="Eve")
    chat, _ = sessions.start_session(site, visitor=visitor)
    assert sessions.find_session_for_visitor(chat.id, None, token) is chat
    for wrong in (stranger_token, None, "x" * 43):
        with pytest.raises(ChatError) as refused:
            sessions.find_session_for_visitor(chat.id, None, wrong)
        assert refused.value.code == "session_not_found"
