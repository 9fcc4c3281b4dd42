"""The WebSocket unmasking that replaces eventlet's gives exactly eventlet's bytes."""
import os
import warnings

import pytest

from chat.websocket_mask import apply_mask

with warnings.catch_warnings():
    warnings.simplefilter("ignore")      # eventlet announces its deprecation on import
    from eventlet.websocket import RFC6455WebSocket

EVENTLETS_OWN = RFC6455WebSocket.__dict__["_apply_mask"].__func__


@pytest.mark.parametrize("size", [0, 1, 3, 4, 5, 150, 4096])
@pytest.mark.parametrize("offset", [0, 1, 2, 3, 6])
def test_unmasking_gives_eventlets_bytes(size, offset):
    data, mask = os.urandom(size), os.urandom(4)
    assert apply_mask(data, mask, offset=offset) == EVENTLETS_OWN(data, mask, offset=offset)
    assert apply_mask(data, mask, size // 2, offset) == EVENTLETS_OWN(data, mask, size // 2, offset)


def test_masking_twice_gives_the_frame_back():
    data, mask = b"42/visitor,7[\"send_message\",{\"text\":\"hello\"}]", b"\x01\x80\xfe\x7f"
    assert apply_mask(apply_mask(data, mask), mask) == data
