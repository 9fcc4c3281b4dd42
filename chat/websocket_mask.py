"""A faster unmasking of WebSocket frames for eventlet's server.

Every frame a client sends is masked (RFC 6455, 5.3). eventlet unmasks it one byte at a
time in Python, building a bytes object per byte: about 25 µs for a 150-byte message, paid on
every message a visitor or an agent sends. XOR-ing the frame with the repeated mask as two
integers gives the same bytes in C, in about 1 µs.
"""


def apply_mask(data, mask, length=None, offset=0):
    """What eventlet's RFC6455WebSocket._apply_mask returns: the first `length` bytes of
    `data` XOR-ed with `mask`, starting at mask byte `offset % 4`."""
    if length is None:
        length = len(data)
    if length <= 0:
        return b""
    start = offset % 4
    key = (bytes(mask[start:]) + bytes(mask[:start])) * (length // 4 + 1)
    return (int.from_bytes(data[:length], "big") ^ int.from_bytes(key[:length], "big")).to_bytes(length, "big")


def install():
    """Use apply_mask in eventlet's WebSocket server (call after eventlet is imported)."""
    from eventlet.websocket import RFC6455WebSocket
    RFC6455WebSocket._apply_mask = staticmethod(apply_mask)
