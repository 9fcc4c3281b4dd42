"""How far a message got to the customer's phone (Message.delivery_state), and the one way it
changes: forward only. Providers report at least once and out of order (a `read` without its
`delivered`, a `delivered` after a `failed` on a second device), so every change goes through
`advance`, and the write is a compare-and-set on the state read."""
import logging

from sqlalchemy import select, update

from .. import publish
from ..extensions import db
from ..models import ChannelOutbox, Message

log = logging.getLogger(__name__)

# queued < sent < delivered < read; failed sits beside them (see advance).
RANK = {"queued": 0, "sent": 1, "delivered": 2, "read": 3}
ERROR_LENGTH = 300
# A status whose send is still being recorded (the provider answered the webhook before our
# commit of its id) is looked for this long, then left for the event's retry.
STATUS_WAIT_SECONDS = 3.0
STATUS_POLL_SECONDS = 0.1


def advance(current, new):
    """True when a message in state `current` may move to `new`: queued < sent < delivered <
    read, never backwards; `failed` overrides queued and sent; delivered and read override
    failed (the message reached another of the customer's devices)."""
    if new == current or new not in (*RANK, "failed"):
        return False
    if current is None:
        return True
    if new == "failed":
        return current in ("queued", "sent")
    if current == "failed":
        return new in ("delivered", "read")
    return RANK[new] > RANK[current]


def set_state(message_id, new, error=None, needs_template=False):
    """Move a message to `new` if `advance` allows it (compare-and-set, so two reports racing
    cannot move it backwards); commit and tell the chat. Returns True when it moved."""
    for _ in range(5):
        row = db.session.execute(select(Message.session_id, Message.seq, Message.delivery_state)
                                 .where(Message.id == message_id)).first()
        if row is None or not advance(row.delivery_state, new):
            db.session.rollback()
            return False
        moved = db.session.execute(
            update(Message).where(Message.id == message_id, _state_is(row.delivery_state))
            .values(delivery_state=new, delivery_error=clipped(error) if new == "failed" else None)
            .execution_options(synchronize_session=False)).rowcount
        db.session.commit()
        if moved:
            publish.message_delivery(row.session_id, message_id, row.seq, new,
                                     clipped(error) if new == "failed" else None, needs_template)
            return True
    return False


def _state_is(state):
    return Message.delivery_state.is_(None) if state is None else Message.delivery_state == state


def clipped(text):
    return (text or "")[:ERROR_LENGTH] or None


def record_status(channel, provider_message_id, state, error_code=None, error_text=None, needs_template=False):
    """A provider's status for a message it accepted (WhatsApp's sent, delivered, read, failed):
    found by the provider's id, applied forward only. Returns True when the message moved.
    Raises StatusNotYetKnown while a send of this channel is still in flight without its id
    (the provider's webhook overtook our commit): the event is handled again later."""
    from . import sender
    deadline = sender.monotonic() + STATUS_WAIT_SECONDS
    while True:
        message_id = db.session.execute(
            select(ChannelOutbox.message_id).where(ChannelOutbox.channel == channel,
                                                   ChannelOutbox.provider_message_id == provider_message_id)
        ).scalar()
        if message_id is not None:
            break
        in_flight = db.session.execute(
            select(ChannelOutbox.id).where(ChannelOutbox.channel == channel, ChannelOutbox.state == "sending")
            .limit(1)).scalar()
        db.session.rollback()
        if in_flight is None:
            log.info("status %s for a %s message we did not send", state, channel)
            return False
        if sender.monotonic() >= deadline:
            raise StatusNotYetKnown(f"{channel} status {state} for a message still being sent")
        sender.sleep(STATUS_POLL_SECONDS)
    text = None
    if state == "failed":
        text = error_text or "The provider did not deliver this message."
        if error_code:
            log.info("%s message %s failed: %s", channel, message_id, error_code)
    return set_state(message_id, state, text, needs_template)


class StatusNotYetKnown(Exception):
    """A status arrived before we recorded which message it is about; try it again later."""
