"""Catching a socket up: the page of messages replayed at a connect or join, and the
answer to `sync`. Both namespaces use it (docs/protocol.md, "Rooms and order")."""
from flask_socketio import emit

from .. import messages, validation
from ..errors import ChatError
from . import limits


def replay(page):
    """Send this socket a page of what it has not seen, oldest first; the client fetches
    the rest with `sync` (it learns the latest seq from session_status or the ack)."""
    for message in page:
        emit("message", message.to_dict())


def visitor_replay_page(session_id, last_seq):
    """What a connecting visitor socket gets replayed: one page, counted as a read of the
    chat. Past the read limit nothing is replayed (the socket still connects; the client
    syncs later), so reconnecting in a loop cannot pull the history again and again."""
    try:
        limits.count_read(("reads", session_id))
    except ChatError:
        return []
    return messages.page_after(session_id, last_seq, for_visitor=True)[0]


def missed_messages(chat, payload, for_visitor=False):
    """The `sync` answer: one page of messages after `after_seq`, whether more follow,
    how far the page covers (a visitor's leaves out private notes) and the chat's latest seq."""
    after = validation.last_seq(payload, "after_seq")
    page, has_more, through_seq = messages.page_after(chat.id, after, for_visitor=for_visitor)
    return {"messages": [m.to_dict() for m in page], "has_more": has_more, "through_seq": through_seq,
            "last_seq": chat.last_seq}
