"""A widget that brings its chat back after a page load says so once, at its first connect
(`restored: true`); the chat's restored_count, which the reports read, goes up by one."""
import pytest
import socketio

from tests.support import RecordingClient, connect_visitor, start_chat
from tests.support.report_fixture import restored_today


def connect_restored(server, chat, restored, refusals=None):
    auth = {"session_id": chat["session_id"], "session_key": chat["session_key"], "last_seq": 0,
            "restored": restored}
    client = RecordingClient("/visitor")
    if refusals is not None:
        client.client.on("connect_error", refusals.append, namespace="/visitor")
    return client.connect(server, auth=auth)


def test_a_restoring_connect_counts_once_and_a_plain_reconnect_does_not(server, clients):
    before = restored_today(server)
    chat = start_chat(server, name="Reloaded")
    clients.append(connect_visitor(server, chat))                      # the first page: no restoration
    assert restored_today(server) == before
    reloaded = connect_restored(server, chat, True)                    # the page reloaded
    reloaded.wait_for("session_status")
    reloaded.disconnect()
    clients.append(connect_restored(server, chat, False))              # its socket reconnecting later
    clients[-1].wait_for("session_status")
    assert restored_today(server) == before + 1


def test_a_restored_flag_that_is_not_true_or_false_is_refused(server):
    chat = start_chat(server, name="Odd flag")
    refusals = []
    with pytest.raises(socketio.exceptions.ConnectionError):
        connect_restored(server, chat, "yes", refusals)
    assert refusals == [{"message": "This could not be sent (restored must be true or false).",
                         "data": {"code": "invalid_payload"}}]


def test_an_ended_chat_is_not_counted_as_restored(server, clients):
    before = restored_today(server)
    chat = start_chat(server, name="Gone")
    ended = connect_visitor(server, chat)
    assert ended.call("end_session", {})["ok"]
    ended.disconnect()
    late = connect_restored(server, chat, True)
    clients.append(late)
    late.wait_for("session_status", lambda status: status["status"] == "ended")
    assert restored_today(server) == before
