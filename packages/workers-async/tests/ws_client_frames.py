"""Client-side frame building for tests (clients mask; RFC 6455 section 5.3)."""

import os
import struct


def client_frame(opcode, payload=b"", fin=True, mask=True, rsv=0, length=None):
    first = (0x80 if fin else 0) | rsv | opcode
    n = len(payload) if length is None else length
    mask_bit = 0x80 if mask else 0
    if n < 126:
        head = struct.pack("!BB", first, mask_bit | n)
    elif n < 1 << 16:
        head = struct.pack("!BBH", first, mask_bit | 126, n)
    else:
        head = struct.pack("!BBQ", first, mask_bit | 127, n)
    if not mask:
        return head + payload
    key = os.urandom(4)
    masked = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    return head + key + masked


def close_frame(code=None, reason=b""):
    payload = b"" if code is None else struct.pack("!H", code) + reason
    return client_frame(0x8, payload)


def parse_server_frame(data):
    """(fin, opcode, payload, rest) of the first unmasked server frame in ``data``."""
    first, second = data[0], data[1]
    assert not second & 0x80, "server frames must not be masked"
    n = second & 0x7F
    offset = 2
    if n == 126:
        (n,) = struct.unpack_from("!H", data, 2)
        offset = 4
    elif n == 127:
        (n,) = struct.unpack_from("!Q", data, 2)
        offset = 10
    return bool(first & 0x80), first & 0x0F, data[offset:offset + n], data[offset + n:]
