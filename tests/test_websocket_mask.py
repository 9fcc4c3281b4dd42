"""The WebSocket unmasking that replaces eventlet's (RFC 6455, 5.3) gives the right bytes.

Checked against the RFC's own definition, byte by byte, as eventlet's code does it; eventlet
itself is not imported here (its green modules, once imported, hang a later test's plain
threaded HTTP server). Every live-server test sends its frames through the replacement."""
import os

import pytest

from chat.websocket_mask import apply_mask

pytestmark = pytest.mark.database_independent


def unmask_by_the_rfc(data, mask, length=None, offset=0):
    length = len(data) if length is None else length
    return bytes(data[i] ^ mask[(offset + i) % 4] for i in range(length))


@pytest.mark.parametrize("size", [0, 1, 3, 4, 5, 150, 4096])
@pytest.mark.parametrize("offset", [0, 1, 2, 3, 6])
def test_unmasking_gives_the_rfcs_bytes(size, offset):
    data, mask = os.urandom(size), os.urandom(4)
    assert apply_mask(data, mask, offset=offset) == unmask_by_the_rfc(data, mask, offset=offset)
    assert apply_mask(data, mask, size // 2, offset) == unmask_by_the_rfc(data, mask, size // 2, offset)


def test_masking_twice_gives_the_frame_back():
    data, mask = b"42/visitor,7[\"send_message\",{\"text\":\"hello\"}]", b"\x01\x80\xfe\x7f"
    assert apply_mask(apply_mask(data, mask), mask) == data
