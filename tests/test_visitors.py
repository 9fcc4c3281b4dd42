"""A visitor's other conversations: which are the same person's, and who may read them."""
from chat import access, history_search, messages, sessions, visitors


def test_an_agent_reads_the_earlier_conversations_of_the_visitor_it_is_talking_to_and_no_others(site, agents):
    alice, bob, _ = agents
    first, _ = sessions.start_session(site, name="Maria", email="Maria@Example.com")
    sessions.claim_session(first, bob)
    sessions.end_session(first, "agent", ended_by="Bob")
    stranger, _ = sessions.start_session(site, name="Other", email="other@example.com")
    sessions.claim_session(stranger, bob)
    sessions.end_session(stranger, "agent", ended_by="Bob")
    assert not access.may_read_transcript(alice, first)
    again, _ = sessions.start_session(site, name="Maria", email="maria@example.com")
    sessions.claim_session(again, alice)
    assert readable_earlier(alice, again) == [first.id]
    assert access.may_read_transcript(alice, first)               # the same email, a chat Alice holds now
    assert not access.may_read_transcript(alice, stranger)
    sessions.end_session(again, "agent", ended_by="Alice")
    assert not access.may_read_transcript(alice, first)           # only while she talks to Maria


def maria_with_bob(site, bob):
    """Maria's chat Bob answered, with a note, and ended; and her chat Bob holds now."""
    ended, _ = sessions.start_session(site, name="Maria", email="maria@example.com")
    sessions.claim_session(ended, bob)
    messages.post_agent(ended, bob, "Your refund is on its way", "bob-1")
    messages.post_note(ended, bob, "Card ending 4242 was declined", "bob-2")
    sessions.end_session(ended, "agent", ended_by="Bob")
    going_on, _ = sessions.start_session(site, name="Maria", email="maria@example.com")
    sessions.claim_session(going_on, bob)
    messages.post_note(going_on, bob, "VIP: refund pending", "bob-3")
    return ended, going_on


def readable_earlier(agent, chat):
    return [past.id for past in visitors.earlier_conversations(chat, access.readable_transcripts(agent, chat))]


def test_an_email_anyone_may_type_opens_only_the_persons_closed_chats_and_none_of_their_notes(site, agents):
    alice, bob, sue = agents
    ended, going_on = maria_with_bob(site, bob)
    typed, _ = sessions.start_session(site, name="Mallory", email="MARIA@example.com")   # unverified
    sessions.claim_session(typed, alice)
    assert access.may_read_transcript(alice, ended) and not access.may_read_notes(alice, ended)
    assert not access.may_read_transcript(alice, going_on)          # open, and held by Bob
    assert readable_earlier(alice, typed) == [ended.id]
    assert [m.text for m in history_search.transcript(ended, notes=access.may_read_notes(alice, ended))] == [
        "Bob has joined the chat", "Your refund is on its way", "Bob ended the chat."]
    assert access.may_read_notes(bob, ended) and access.may_read_notes(sue, ended)
    assert readable_earlier(sue, typed) == [going_on.id, ended.id]  # a supervisor: every chat


def test_a_waiting_chats_panel_lists_only_the_chats_its_viewer_may_read(site, agents):
    alice, bob, _ = agents
    ended, going_on = maria_with_bob(site, bob)
    waiting, _ = sessions.start_session(site, name="Maria", email="maria@example.com")
    assert access.may_view(alice, waiting)                           # the site's queue
    assert readable_earlier(alice, waiting) == []                    # she talks to Maria in none of them
    assert readable_earlier(bob, waiting) == [going_on.id, ended.id]


def test_a_visitors_other_queued_conversation_is_listed_to_the_agents_of_its_site(site, agents):
    alice, bob, _ = agents
    first, _ = sessions.start_session(site, name="Pia")
    second, _ = sessions.start_session(site, visitor=first.visitor)      # a second tab of the widget
    assert readable_earlier(alice, first) == [second.id] and readable_earlier(alice, second) == [first.id]
    assert access.may_read_transcript(alice, second)                     # it is in her queue anyway
    sessions.claim_session(second, bob)
    assert readable_earlier(alice, first) == [] and not access.may_read_transcript(alice, second)
    assert readable_earlier(bob, first) == [second.id]
