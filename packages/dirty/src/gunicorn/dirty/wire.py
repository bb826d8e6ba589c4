"""Dirty-arbiter message framing: a 16-byte header, then a TLV dict payload (surface.md section 8).

Header, struct ``>2sBBIQ``: magic ``b"GD"``, version 1, message type, payload length
(at most MAX_PAYLOAD), request id. An empty payload stands for ``{}`` (END, STATUS).

``MessageReader`` is the sans-I/O parser; ``send_message``/``recv_message`` drive a
blocking socket and ``read_message_async``/``write_message_async`` asyncio streams.
"""

import collections
import struct

from gunicorn.dirty.errors import DirtyConnectionError, DirtyProtocolError, DirtyTimeoutError
from gunicorn.dirty.tlv import decode_value, encode_value

__all__ = [
    "REQUEST", "RESPONSE", "ERROR", "CHUNK", "END", "STASH", "STATUS", "MANAGE",
    "TYPE_NAMES", "TYPES_BY_NAME", "MAGIC", "VERSION", "HEADER_SIZE", "MAX_PAYLOAD",
    "STASH_PUT", "STASH_GET", "STASH_DELETE", "STASH_KEYS", "STASH_CLEAR", "STASH_INFO",
    "STASH_ENSURE", "STASH_DELETE_TABLE", "STASH_TABLES", "STASH_EXISTS",
    "MANAGE_ADD", "MANAGE_REMOVE",
    "Message", "MessageReader", "encode_value", "decode_value", "encode_message",
    "parse_header", "decode_payload", "send_message", "recv_message",
    "read_message_async", "write_message_async",
]  # fmt: skip

REQUEST = 0x01
RESPONSE = 0x02
ERROR = 0x03
CHUNK = 0x04
END = 0x05
STASH = 0x10
STATUS = 0x11
MANAGE = 0x12

# The names message types carry in dict form.
TYPE_NAMES = {
    REQUEST: "request",
    RESPONSE: "response",
    ERROR: "error",
    CHUNK: "chunk",
    END: "end",
    STASH: "stash",
    STATUS: "status",
    MANAGE: "manage",
}
TYPES_BY_NAME = {name: code for code, name in TYPE_NAMES.items()}

STASH_PUT = 1
STASH_GET = 2
STASH_DELETE = 3
STASH_KEYS = 4
STASH_CLEAR = 5
STASH_INFO = 6
STASH_ENSURE = 7
STASH_DELETE_TABLE = 8
STASH_TABLES = 9
STASH_EXISTS = 10

MANAGE_ADD = 1
MANAGE_REMOVE = 2

MAGIC = b"GD"
VERSION = 0x01
_HEADER = struct.Struct(">2sBBIQ")
HEADER_SIZE = _HEADER.size
MAX_PAYLOAD = 64 * 1024 * 1024
_MAX_REQUEST_ID = 2**64 - 1

assert HEADER_SIZE == 16


class Message(collections.namedtuple("Message", ["type", "request_id", "payload"])):
    """One decoded message: ``type`` (an int constant), ``request_id``, ``payload`` (a dict)."""

    __slots__ = ()

    @property
    def type_name(self):
        return TYPE_NAMES[self.type]


def encode_message(msg_type, request_id, payload=None):
    """Header plus TLV payload; ``payload`` a dict, or None/empty for an empty body."""
    if msg_type not in TYPE_NAMES:
        raise DirtyProtocolError(f"unknown message type {msg_type!r}")
    if not isinstance(request_id, int) or not 0 <= request_id <= _MAX_REQUEST_ID:
        raise DirtyProtocolError(f"request id must be an unsigned 64-bit int, got {request_id!r}")
    if payload is None or (isinstance(payload, dict) and not payload):
        body = b""
    elif isinstance(payload, dict):
        body = encode_value(payload)
    else:
        raise DirtyProtocolError(f"payload must be a dict, got {type(payload).__name__}")
    if len(body) > MAX_PAYLOAD:
        raise DirtyProtocolError(f"payload too large: {len(body)} > {MAX_PAYLOAD} bytes")
    return _HEADER.pack(MAGIC, VERSION, msg_type, len(body), request_id) + body


def parse_header(header):
    """``(msg_type, length, request_id)`` from 16 header bytes, checked."""
    magic, version, msg_type, length, request_id = _HEADER.unpack(header)
    if magic != MAGIC:
        raise DirtyProtocolError(f"bad magic {magic!r}", raw_data=header)
    if version != VERSION:
        raise DirtyProtocolError(f"unsupported protocol version {version}", raw_data=header)
    if msg_type not in TYPE_NAMES:
        raise DirtyProtocolError(f"unknown message type 0x{msg_type:02x}", raw_data=header)
    if length > MAX_PAYLOAD:
        raise DirtyProtocolError(
            f"payload length {length} exceeds {MAX_PAYLOAD} bytes", raw_data=header
        )
    return msg_type, length, request_id


def decode_payload(body):
    """The payload dict of a message body (empty body: ``{}``)."""
    if not body:
        return {}
    payload = decode_value(body)
    if not isinstance(payload, dict):
        raise DirtyProtocolError(f"payload must be a dict, got {type(payload).__name__}")
    return payload


class MessageReader:
    """Sans-I/O: feed bytes as they arrive, take whole messages out."""

    def __init__(self):
        self._buffer = bytearray()
        self._header = None

    def feed(self, data):
        self._buffer += data

    @property
    def buffered(self):
        """Bytes received but not yet returned as a message."""
        return len(self._buffer)

    def next_message(self):
        """The next complete message, or None until more bytes arrive."""
        if self._header is None:
            if len(self._buffer) < HEADER_SIZE:
                return None
            # Checked as soon as it is whole, so an oversize length fails before buffering.
            self._header = parse_header(bytes(self._buffer[:HEADER_SIZE]))
        msg_type, length, request_id = self._header
        end = HEADER_SIZE + length
        if len(self._buffer) < end:
            return None
        body = bytes(self._buffer[HEADER_SIZE:end])
        del self._buffer[:end]
        self._header = None
        return Message(msg_type, request_id, decode_payload(body))

    def __iter__(self):
        while True:
            message = self.next_message()
            if message is None:
                return
            yield message


def send_message(sock, msg_type, request_id, payload=None):
    """Write one message to a blocking socket (socket errors propagate as they are)."""
    sock.sendall(encode_message(msg_type, request_id, payload))


def _recv_exactly(sock, size):
    chunks = []
    remaining = size
    while remaining:
        try:
            chunk = sock.recv(min(remaining, 1024 * 1024))
        except TimeoutError:
            raise DirtyTimeoutError("timed out reading from the dirty socket")
        except OSError as exc:
            raise DirtyConnectionError(f"dirty socket read failed: {exc}")
        if not chunk:
            if remaining == size and size == HEADER_SIZE:
                raise DirtyConnectionError("connection closed by peer")
            raise DirtyConnectionError(
                f"connection closed mid-message ({size - remaining} of {size} bytes)"
            )
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def recv_message(sock):
    """Read one message from a blocking socket.

    EOF or a socket error raise DirtyConnectionError, a socket timeout DirtyTimeoutError,
    bad bytes DirtyProtocolError.
    """
    msg_type, length, request_id = parse_header(_recv_exactly(sock, HEADER_SIZE))
    body = _recv_exactly(sock, length) if length else b""
    return Message(msg_type, request_id, decode_payload(body))


async def read_message_async(reader):
    """Read one message from an ``asyncio.StreamReader``; EOF raises DirtyConnectionError."""
    import asyncio  # here, so sync users of the wire never import it

    try:
        header = await reader.readexactly(HEADER_SIZE)
    except asyncio.IncompleteReadError as exc:
        if not exc.partial:
            raise DirtyConnectionError("connection closed by peer")
        raise DirtyConnectionError("connection closed mid-header")
    except OSError as exc:
        raise DirtyConnectionError(f"dirty socket read failed: {exc}")
    msg_type, length, request_id = parse_header(header)
    body = b""
    if length:
        try:
            body = await reader.readexactly(length)
        except asyncio.IncompleteReadError:
            raise DirtyConnectionError("connection closed mid-message")
        except OSError as exc:
            raise DirtyConnectionError(f"dirty socket read failed: {exc}")
    return Message(msg_type, request_id, decode_payload(body))


async def write_message_async(writer, msg_type, request_id, payload=None):
    """Write one message to an ``asyncio.StreamWriter`` and wait for it to drain."""
    writer.write(encode_message(msg_type, request_id, payload))
    await writer.drain()
