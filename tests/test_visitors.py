"""A visitor's other conversations: which are the same person's, and who may read them."""
from chat import access, sessions, visitors


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
    assert [chat.id for chat in visitors.earlier_conversations(again)] == [first.id]
    assert access.may_read_transcript(alice, first)               # the same email, a chat Alice holds now
    assert not access.may_read_transcript(alice, stranger)
    sessions.end_session(again, "agent", ended_by="Alice")
    assert not access.may_read_transcript(alice, first)           # only while she talks to Maria
