"""Unit tests of chat/canned.py and its rule in chat/access.py: whose canned replies an agent
uses and manages, and what a reply may look like."""
import pytest

from chat import access, canned
from chat.cli import save_agent
from chat.errors import ChatError
from chat.extensions import db
from chat.models import Agent, CannedResponse


@pytest.fixture
def admin(app):
    return save_agent("root@example.com", "Root", "admin", "password-9")


def shortcuts(replies):
    return [(reply.shortcut, reply.agent_id) for reply in replies]


def test_an_agent_uses_its_own_replies_and_the_shared_ones_never_another_agents(agents):
    alice, bob, _ = agents
    canned.create(None, "ship", "Ships in a day.")
    canned.create(alice.id, "ship", "Alice's shipping words.")
    canned.create(alice.id, "hello", "Hi {{visitor.name}}!")
    canned.create(bob.id, "bye", "Bye from Bob.")
    assert shortcuts(canned.replies_for(alice)) == [("hello", alice.id), ("ship", alice.id), ("ship", None)]
    assert shortcuts(canned.replies_for(bob)) == [("bye", bob.id), ("ship", None)]
    assert shortcuts(canned.replies_of(None)) == [("ship", None)]


def test_a_shortcut_is_kept_in_lower_case_without_its_slash_and_the_text_trimmed(agents):
    reply = canned.create(agents[0].id, " /Shipping-Times_2 ", "  Two days.\n")
    assert (reply.shortcut, reply.text) == ("shipping-times_2", "Two days.")


@pytest.mark.parametrize("shortcut, text, sentence", [
    ("", "Hi", "Please enter a shortcut."),
    ("two words", "Hi", "A shortcut is 1 to 40 letters, digits, - or _ (no spaces), such as shipping-times."),
    ("héllo", "Hi", "A shortcut is 1 to 40 letters, digits, - or _ (no spaces), such as shipping-times."),
    ("<b>", "Hi", "A shortcut is 1 to 40 letters, digits, - or _ (no spaces), such as shipping-times."),
    ("x" * 41, "Hi", "Shortcuts can be up to 40 characters."),
    ("hi", "   ", "Please enter the reply's text."),
    ("hi", "x" * 5001, "Canned replies can be up to 5,000 characters."),
    ("hi", 7, "Please enter the reply's text as text."),
])
def test_a_bad_reply_says_what_is_wrong_and_stores_nothing(agents, shortcut, text, sentence):
    with pytest.raises(ChatError) as refused:
        canned.create(agents[0].id, shortcut, text)
    assert (refused.value.code, refused.value.message) == ("invalid_payload", sentence)
    assert db.session.query(CannedResponse).count() == 0


def test_a_shortcut_is_unique_per_owner(agents):
    alice, bob, _ = agents
    canned.create(alice.id, "ship", "One.")
    canned.create(bob.id, "ship", "Bob may have it too.")
    canned.create(None, "ship", "And the team.")
    with pytest.raises(ChatError, match="You already have a reply with the shortcut /ship; choose another."):
        canned.create(alice.id, "SHIP", "Two.")
    with pytest.raises(ChatError, match="The team already has a shared reply with the shortcut /ship"):
        canned.create(None, "ship", "Again.")
    other = canned.create(alice.id, "other", "Three.")
    with pytest.raises(ChatError, match="You already have a reply with the shortcut /ship"):
        canned.update(other, "ship", "Three.")
    canned.update(other, "other", "Three, changed.")           # its own shortcut is no clash
    assert other.text == "Three, changed."


def test_an_owner_has_at_most_the_limit(agents, monkeypatch):
    monkeypatch.setattr(canned, "MAX_PER_OWNER", 2)
    alice, bob, _ = agents
    canned.create(alice.id, "one", "1")
    canned.create(alice.id, "two", "2")
    with pytest.raises(ChatError, match="You have 2 canned replies already"):
        canned.create(alice.id, "three", "3")
    canned.create(bob.id, "three", "3")                          # the limit is per owner
    canned.create(None, "one", "1")
    canned.create(None, "two", "2")
    with pytest.raises(ChatError, match="The team has 2 canned replies already"):
        canned.create(None, "three", "3")


def test_agents_manage_their_own_replies_and_admins_the_shared_ones(agents, admin):
    alice, bob, supervisor = agents
    own = canned.create(alice.id, "mine", "Alice's.")
    shared = canned.create(None, "team", "Everyone's.")
    assert access.may_manage_canned(alice, own)
    assert not access.may_manage_canned(bob, own)
    assert not access.may_manage_canned(admin, own)              # nobody edits another agent's
    assert access.may_manage_canned(admin, shared)
    assert not access.may_manage_canned(alice, shared)
    assert not access.may_manage_canned(supervisor, shared)


def test_a_management_page_finds_only_what_its_agent_may_manage(agents, admin):
    alice, bob, _ = agents
    own = canned.create(alice.id, "mine", "Alice's.")
    shared = canned.create(None, "team", "Everyone's.")
    assert canned.manageable(alice, own.id) is own
    assert canned.manageable(bob, own.id) is None
    assert canned.manageable(alice, shared.id) is None          # shared ones are not on an agent's page
    assert canned.manageable(alice, shared.id, shared=True) is None
    assert canned.manageable(admin, shared.id, shared=True) is shared
    assert canned.manageable(admin, own.id, shared=True) is None


def test_deleting_an_agent_deletes_its_replies(agents):
    alice = agents[0]
    canned.create(alice.id, "mine", "Alice's.")
    canned.create(None, "team", "Everyone's.")
    db.session.delete(alice)
    db.session.commit()
    assert shortcuts(db.session.query(CannedResponse).all()) == [("team", None)]


def test_seed_demo_adds_its_replies_once_with_the_demo_site(app, site):
    db.session.delete(site)                    # as on a new install: no demo site yet
    db.session.commit()
    runner = app.test_cli_runner()
    first = runner.invoke(args=["chat", "seed-demo"])
    assert first.exit_code == 0, first.output
    assert "4 canned replies are ready" in first.output
    demo = db.session.execute(db.select(Agent).filter_by(email="demo@example.com")).scalar_one()
    assert shortcuts(canned.replies_for(demo)) == [
        ("anything-else", None), ("hello", None), ("shipping-times", None), ("thanks", demo.id)]
    canned.delete(canned.find(canned.replies_of(None)[0].id, None))
    again = runner.invoke(args=["chat", "seed-demo"])
    assert again.exit_code == 0 and "canned replies" not in again.output
    assert len(canned.replies_for(demo)) == 3                   # a deleted one stays deleted
