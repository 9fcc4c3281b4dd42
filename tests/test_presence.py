"""Presence counts each open socket once, even when a socket goes away while it is still connecting."""
from collections import Counter

import pytest

from chat import sessions
from chat.extensions import socketio
from chat.realtime import agent_events, presence, visitor_events
from tests.support import logged_in_client


@pytest.fixture(autouse=True)
def no_sockets_yet(monkeypatch):
    monkeypatch.setattr(presence, "_counts", {"agents": Counter(), "visitors": Counter(), "viewers": Counter()})




def test_an_agent_socket_closed_during_its_connect_leaves_the_agent_offline(app, agents, monkeypatch):
    alice = agents[0]
    record_seen = sessions.agents_seen

    def seen_while_the_tab_closes(agent_ids, now=None):
        record_seen(agent_ids, now)
        agent_events.disconnect()          # the database write let the socket's close run first

    monkeypatch.setattr(sessions, "agents_seen", seen_while_the_tab_closes)
    socketio.test_client(app, namespace="/agent", flask_test_client=logged_in_client(app, "a@example.com", "password-1")[0])
    assert alice.id not in presence.online_agent_ids()


def test_an_agent_socket_counts_while_open_and_stops_when_closed(app, agents):
    alice = agents[0]
    client = socketio.test_client(app, namespace="/agent", flask_test_client=logged_in_client(app, "a@example.com", "password-1")[0])
    assert alice.id in presence.online_agent_ids()
    client.disconnect(namespace="/agent")
    assert alice.id not in presence.online_agent_ids()


def test_a_visitor_socket_closed_during_its_connect_leaves_the_visitor_offline(app, site, monkeypatch):
    chat, key = sessions.start_session(site, "Vera")
    record_seen = sessions.record_visitor_seen

    def seen_while_the_tab_closes(session_id, page_load=False):
        record_seen(session_id, page_load=page_load)
        visitor_events.disconnect()

    monkeypatch.setattr(sessions, "record_visitor_seen", seen_while_the_tab_closes)
    socketio.test_client(app, namespace="/visitor", auth={"session_id": chat.id, "session_key": key})
    assert not presence.visitor_online(chat.id)
