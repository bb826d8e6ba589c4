"""Sans-I/O WebSocket framing (RFC 6455 section 5): parse client frames, build server frames."""

from __future__ import annotations

import codecs
import struct

OP_CONTINUATION = 0x0
OP_TEXT = 0x1
OP_BINARY = 0x2
OP_CLOSE = 0x8
OP_PING = 0x9
OP_PONG = 0xA

DATA_OPCODES = frozenset((OP_CONTINUATION, OP_TEXT, OP_BINARY))
CONTROL_OPCODES = frozenset((OP_CLOSE, OP_PING, OP_PONG))

# RFC 6455 section 7.4.1 and the IANA registry: codes a peer may put on the wire.
CLOSE_NORMAL = 1000
CLOSE_GOING_AWAY = 1001
CLOSE_PROTOCOL_ERROR = 1002
CLOSE_UNSUPPORTED_DATA = 1003
CLOSE_NO_STATUS = 1005
CLOSE_ABNORMAL = 1006
CLOSE_INVALID_PAYLOAD = 1007
CLOSE_POLICY = 1008
CLOSE_TOO_BIG = 1009
CLOSE_INTERNAL_ERROR = 1011
_WIRE_CODES = frozenset((1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014))


class WebSocketProtocolError(Exception):
    """The peer broke RFC 6455; ``close_code`` is what we answer with."""

    def __init__(self, close_code: int, reason: str):
        super().__init__(reason)
        self.close_code = close_code
        self.reason = reason


class Message:
    """A complete data message: ``data`` is str for text, bytes for binary."""

    __slots__ = ("data",)

    def __init__(self, data):
        self.data = data


class Ping:
    __slots__ = ("payload",)

    def __init__(self, payload: bytes):
        self.payload = payload


class Pong:
    __slots__ = ("payload",)

    def __init__(self, payload: bytes):
        self.payload = payload


class Close:
    """The peer's close frame; ``code`` is 1005 when it carried no status."""

    __slots__ = ("code", "reason")

    def __init__(self, code: int, reason: str):
        self.code = code
        self.reason = reason


def is_valid_close_code(code: int) -> bool:
    """Whether a peer may send ``code`` in a close frame (RFC 6455 section 7.4)."""
    return code in _WIRE_CODES or 3000 <= code <= 4999


def parse_close_payload(payload: bytes) -> Close:
    # RFC 6455 section 5.5.1: empty, or a 2-byte code followed by UTF-8 reason.
    if not payload:
        return Close(CLOSE_NO_STATUS, "")
    if len(payload) == 1:
        raise WebSocketProtocolError(CLOSE_PROTOCOL_ERROR, "close frame with a 1-byte payload")
    (code,) = struct.unpack("!H", payload[:2])
    if not is_valid_close_code(code):
        raise WebSocketProtocolError(CLOSE_PROTOCOL_ERROR, f"invalid close code {code}")
    try:
        reason = payload[2:].decode("utf-8")
    except UnicodeDecodeError:
        raise WebSocketProtocolError(CLOSE_INVALID_PAYLOAD, "close reason is not UTF-8")
    return Close(code, reason)


def close_payload(code: int | None, reason: str = "") -> bytes:
    if code is None or code == CLOSE_NO_STATUS:
        return b""
    # RFC 6455 section 5.5: control frame payloads are at most 125 bytes.
    raw_reason = reason.encode("utf-8")
    if len(raw_reason) > 123:
        # Cut on a character boundary: a split character is invalid UTF-8 and the
        # peer must then fail the connection (RFC 6455 section 8.1).
        raw_reason = raw_reason[:123].decode("utf-8", "ignore").encode("utf-8")
    return struct.pack("!H", code) + raw_reason


def encode_frame(opcode: int, payload: bytes, fin: bool = True, rsv1: bool = False) -> bytes:
    """A server-to-client frame; servers never mask (RFC 6455 section 5.1)."""
    first = (0x80 if fin else 0) | (0x40 if rsv1 else 0) | opcode
    length = len(payload)
    if length < 126:
        head = struct.pack("!BB", first, length)
    elif length < 1 << 16:
        head = struct.pack("!BBH", first, 126, length)
    else:
        head = struct.pack("!BBQ", first, 127, length)
    return head + payload


def unmask(payload: bytes, key: bytes) -> bytes:
    if not payload:
        return payload
    # XOR with the key repeated over the payload, done as one big integer for speed.
    n = len(payload)
    repeated = (key * (n // 4 + 1))[:n]
    value = int.from_bytes(payload, "big") ^ int.from_bytes(repeated, "big")
    return value.to_bytes(n, "big")


class _Frame:
    __slots__ = ("fin", "rsv1", "opcode", "payload")

    def __init__(self, fin, rsv1, opcode, payload):
        self.fin = fin
        self.rsv1 = rsv1
        self.opcode = opcode
        self.payload = payload


class FrameReader:
    """Splits client bytes into frames and checks each frame header.

    ``max_size`` bounds one frame's payload (and, in ``MessageReader``, a whole
    message); larger is answered with 1009 before the payload is buffered.
    ``allow_rsv1`` is set when permessage-deflate was negotiated.
    """

    def __init__(self, max_size: int, allow_rsv1: bool = False):
        self.max_size = max_size
        self.allow_rsv1 = allow_rsv1
        self._buf = bytearray()

    def feed(self, data: bytes) -> None:
        self._buf += data

    def next_frame(self):
        buf = self._buf
        if len(buf) < 2:
            return None
        first, second = buf[0], buf[1]
        fin = bool(first & 0x80)
        rsv1 = bool(first & 0x40)
        opcode = first & 0x0F
        if first & 0x30 or (rsv1 and not self.allow_rsv1):
            raise WebSocketProtocolError(CLOSE_PROTOCOL_ERROR, "reserved bits set")
        if opcode not in DATA_OPCODES and opcode not in CONTROL_OPCODES:
            raise WebSocketProtocolError(CLOSE_PROTOCOL_ERROR, f"unknown opcode {opcode:#x}")
        if not second & 0x80:
            # RFC 6455 section 5.1: the server must close on an unmasked client frame.
            raise WebSocketProtocolError(CLOSE_PROTOCOL_ERROR, "client frame is not masked")
        length = second & 0x7F
        offset = 2
        if opcode in CONTROL_OPCODES:
            # RFC 6455 section 5.5: control frames are short and never fragmented.
            if length > 125:
                raise WebSocketProtocolError(CLOSE_PROTOCOL_ERROR, "control frame too long")
            if not fin:
                raise WebSocketProtocolError(CLOSE_PROTOCOL_ERROR, "fragmented control frame")
            if rsv1:
                raise WebSocketProtocolError(CLOSE_PROTOCOL_ERROR, "compressed control frame")
        if length == 126:
            if len(buf) < 4:
                return None
            (length,) = struct.unpack_from("!H", buf, 2)
            offset = 4
        elif length == 127:
            if len(buf) < 10:
                return None
            (length,) = struct.unpack_from("!Q", buf, 2)
            if length >> 63:
                raise WebSocketProtocolError(CLOSE_PROTOCOL_ERROR, "frame length has its top bit set")
            offset = 10
        if length > self.max_size:
            raise WebSocketProtocolError(CLOSE_TOO_BIG, "frame exceeds the maximum message size")
        end = offset + 4 + length
        if len(buf) < end:
            return None
        key = bytes(buf[offset:offset + 4])
        payload = unmask(bytes(buf[offset + 4:end]), key)
        del buf[:end]
        return _Frame(fin, rsv1, opcode, payload)


class MessageReader:
    """Turns client bytes into ``Message``/``Ping``/``Pong``/``Close`` events.

    Reassembles fragmented messages (RFC 6455 section 5.4), validates text as
    UTF-8 as it arrives (section 8.1, answered with 1007) and caps message size.
    ``inflater`` (permessage-deflate, RFC 7692) decompresses RSV1 messages.
    """

    def __init__(self, max_size: int = 16 * 1024 * 1024, inflater=None):
        self.max_size = max_size
        self.inflater = inflater
        self._frames = FrameReader(max_size, allow_rsv1=inflater is not None)
        self._opcode = None  # opcode of the message being reassembled
        self._compressed = False
        self._parts: list[bytes] = []
        self._size = 0
        self._decoder = None

    def feed(self, data: bytes) -> None:
        self._frames.feed(data)

    def events(self):
        """Yield each complete event; raises ``WebSocketProtocolError``."""
        while True:
            frame = self._frames.next_frame()
            if frame is None:
                return
            event = self._on_frame(frame)
            if event is not None:
                yield event

    def _on_frame(self, frame):
        op = frame.opcode
        if op == OP_PING:
            return Ping(frame.payload)
        if op == OP_PONG:
            return Pong(frame.payload)
        if op == OP_CLOSE:
            return parse_close_payload(frame.payload)
        if op == OP_CONTINUATION:
            if self._opcode is None:
                raise WebSocketProtocolError(CLOSE_PROTOCOL_ERROR, "continuation without a message")
            if frame.rsv1:
                raise WebSocketProtocolError(CLOSE_PROTOCOL_ERROR, "RSV1 on a continuation frame")
        else:
            if self._opcode is not None:
                raise WebSocketProtocolError(CLOSE_PROTOCOL_ERROR, "new message inside a fragmented one")
            self._opcode = op
            self._compressed = frame.rsv1
            self._parts = []
            self._size = 0
            self._decoder = codecs.getincrementaldecoder("utf-8")() if op == OP_TEXT else None
        payload = frame.payload
        if self._compressed:
            payload = self.inflater.inflate(payload, frame.fin, self.max_size - self._size)
        self._size += len(payload)
        if self._size > self.max_size:
            raise WebSocketProtocolError(CLOSE_TOO_BIG, "message exceeds the maximum message size")
        if self._decoder is not None:
            try:
                self._parts.append(self._decoder.decode(payload, frame.fin))
            except UnicodeDecodeError:
                raise WebSocketProtocolError(CLOSE_INVALID_PAYLOAD, "text message is not UTF-8")
        else:
            self._parts.append(payload)
        if not frame.fin:
            return None
        data = "".join(self._parts) if self._opcode == OP_TEXT else b"".join(self._parts)
        self._opcode = None
        self._parts = []
        self._decoder = None
        return Message(data)


def encode_message(data, deflater=None) -> bytes:
    """One unfragmented frame for a text (str) or binary (bytes) message."""
    if isinstance(data, str):
        opcode, payload = OP_TEXT, data.encode("utf-8")
    else:
        opcode, payload = OP_BINARY, bytes(data)
    if deflater is not None:
        return encode_frame(opcode, deflater.deflate(payload), rsv1=True)
    return encode_frame(opcode, payload)
