"""A raw HTTP/2 peer for conformance cases: writes any frame, reads the server's answer.

Frames are built by hand (a per-connection HPACK encoder for header blocks) so
a case can send what no well-behaved client would.  The ``expect_*`` checks
read frames until the answer the case names arrives, the connection closes
or ``timeout`` passes; each returns a short description of what it saw, or
raises ``AssertionError`` with the frames read so far.
"""

import ssl
import struct
import time

from hpack import Encoder
from raw_client import connect_h2

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH_PROMISE = 0x0, 0x1, 0x2, 0x3, 0x4, 0x5
PING, GOAWAY, WINDOW_UPDATE, CONTINUATION = 0x6, 0x7, 0x8, 0x9
END_STREAM, ACK, END_HEADERS, PADDED, PRIORITY_FLAG = 0x1, 0x1, 0x4, 0x8, 0x20

NO_ERROR, PROTOCOL_ERROR, INTERNAL_ERROR, FLOW_CONTROL_ERROR = 0x0, 0x1, 0x2, 0x3
STREAM_CLOSED, FRAME_SIZE_ERROR, REFUSED_STREAM, CANCEL = 0x5, 0x6, 0x7, 0x8
COMPRESSION_ERROR = 0x9

INITIAL_WINDOW_SIZE, MAX_FRAME_SIZE, MAX_CONCURRENT_STREAMS = 0x4, 0x5, 0x3
HEADER_TABLE_SIZE, ENABLE_PUSH, MAX_HEADER_LIST_SIZE = 0x1, 0x2, 0x6

NAMES = {DATA: "DATA", HEADERS: "HEADERS", PRIORITY: "PRIORITY", RST_STREAM: "RST_STREAM",
         SETTINGS: "SETTINGS", PUSH_PROMISE: "PUSH_PROMISE", PING: "PING", GOAWAY: "GOAWAY",
         WINDOW_UPDATE: "WINDOW_UPDATE", CONTINUATION: "CONTINUATION"}


class Frame:
    __slots__ = ("kind", "flags", "sid", "payload")

    def __init__(self, kind, flags, sid, payload):
        self.kind, self.flags, self.sid, self.payload = kind, flags, sid, payload

    @property
    def code(self):
        """The error code of a RST_STREAM or GOAWAY frame."""
        at = 4 if self.kind == GOAWAY else 0
        return int.from_bytes(self.payload[at:at + 4], "big")

    def __repr__(self):
        name = NAMES.get(self.kind, hex(self.kind))
        extra = " code=%d" % self.code if self.kind in (GOAWAY, RST_STREAM) else ""
        return "%s(sid=%d flags=%#x len=%d%s)" % (name, self.sid, self.flags,
                                                  len(self.payload), extra)


class SpecConnection:
    """One connection to an HTTP/2 server: h2c with prior knowledge, or TLS with ALPN h2."""

    def __init__(self, port, timeout=5.0, tls=False):
        self.sock = connect_h2(port, tls, timeout)
        self.port = port
        self.scheme = "https" if tls else "http"
        self.timeout = timeout
        self.encoder = Encoder()
        self.buffer = bytearray()
        self.closed = False
        self.seen = []
        self.server_settings = {}

    def close(self):
        self.sock.close()

    # -- sending -------------------------------------------------------------
    def send(self, data):
        """Write ``data`` at once: like h2spec, frame by frame, no waiting in between."""
        try:
            self.sock.sendall(data)
        except OSError:
            # The server may close first (after its GOAWAY); reading tells.
            pass

    def frame(self, kind, flags, sid, payload=b""):
        self.send(len(payload).to_bytes(3, "big") + bytes([kind, flags])
                  + sid.to_bytes(4, "big") + payload)

    def request_fields(self, method="GET", path="/"):
        """h2spec's common request head: method, scheme, path, authority."""
        return [(":method", method), (":scheme", self.scheme), (":path", path),
                (":authority", "127.0.0.1:%d" % self.port)]

    def block(self, fields):
        return self.encoder.encode(fields)

    def headers(self, sid, fields, end_stream=True, end_headers=True, priority=None,
                pad=None, block=None):
        payload = self.block(fields) if block is None else block
        flags = (END_STREAM if end_stream else 0) | (END_HEADERS if end_headers else 0)
        if priority is not None:
            depends_on, weight, exclusive = priority
            payload = struct.pack(">LB", depends_on | (0x80000000 if exclusive else 0),
                                  weight) + payload
            flags |= PRIORITY_FLAG
        if pad is not None:
            payload = bytes([len(pad)]) + payload + pad
            flags |= PADDED
        self.frame(HEADERS, flags, sid, payload)

    def continuation(self, sid, fields=None, end_headers=True, block=None):
        payload = self.block(fields) if block is None else block
        self.frame(CONTINUATION, END_HEADERS if end_headers else 0, sid, payload)

    def data(self, sid, payload, end_stream=False, pad=None):
        flags = END_STREAM if end_stream else 0
        if pad is not None:
            payload = bytes([len(pad)]) + payload + pad
            flags |= PADDED
        self.frame(DATA, flags, sid, payload)

    def priority(self, sid, depends_on=0, weight=255, exclusive=False):
        self.frame(PRIORITY, 0, sid, struct.pack(
            ">LB", depends_on | (0x80000000 if exclusive else 0), weight))

    def rst_stream(self, sid, code=CANCEL):
        self.frame(RST_STREAM, 0, sid, code.to_bytes(4, "big"))

    def settings(self, *pairs, ack=False):
        payload = b"".join(struct.pack(">HL", ident, value) for ident, value in pairs)
        self.frame(SETTINGS, ACK if ack else 0, 0, payload)

    def ping(self, payload=b"\0" * 8, ack=False):
        self.frame(PING, ACK if ack else 0, 0, payload)

    def goaway(self, code=NO_ERROR, last_stream_id=0, debug=b""):
        self.frame(GOAWAY, 0, 0, struct.pack(">LL", last_stream_id, code) + debug)

    def window_update(self, sid, increment):
        self.frame(WINDOW_UPDATE, 0, sid, increment.to_bytes(4, "big"))

    # -- receiving -----------------------------------------------------------
    def read_frame(self, deadline):
        """The next frame, or None once the connection closed or the deadline passed."""
        while True:
            if len(self.buffer) >= 9:
                length = int.from_bytes(self.buffer[:3], "big")
                if len(self.buffer) >= 9 + length:
                    head, self.buffer = self.buffer[:9 + length], self.buffer[9 + length:]
                    frame = Frame(head[3], head[4], int.from_bytes(head[5:9], "big") & 0x7FFFFFFF,
                                  bytes(head[9:]))
                    self.seen.append(frame)
                    return frame
            if self.closed:
                return None
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except TimeoutError:
                return None
            except (OSError, ssl.SSLError):
                chunk = b""
            if not chunk:
                self.closed = True
            self.buffer += chunk

    def frames(self, timeout=None):
        """Frames as they arrive, until close or ``timeout``."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            frame = self.read_frame(deadline)
            if frame is None:
                return
            yield frame

    def handshake(self, *settings):
        """Preface and SETTINGS both ways, as a client does; the server's SETTINGS kept."""
        self.send(PREFACE)
        self.settings(*settings)
        got_settings = got_ack = False
        for frame in self.frames():
            if frame.kind == SETTINGS and not frame.flags & ACK:
                for at in range(0, len(frame.payload), 6):
                    ident, value = struct.unpack(">HL", frame.payload[at:at + 6])
                    self.server_settings[ident] = value
                self.settings(ack=True)
                got_settings = True
            elif frame.kind == SETTINGS:
                got_ack = True
            if got_settings and got_ack:
                self.seen.clear()
                return
        raise AssertionError("no SETTINGS exchange: %r" % self.seen)

    @property
    def max_frame_size(self):
        return self.server_settings.get(MAX_FRAME_SIZE, 16384)

    # -- checks (what h2spec accepts, less its "connection closed" leniency) --
    def _fail(self, expected):
        state = "closed" if self.closed else "open"
        raise AssertionError("expected %s; got %r (connection %s)" % (expected, self.seen, state))

    def expect_connection_error(self, *codes):
        """GOAWAY with one of ``codes``, then the connection closes (RFC 9113 section 5.4.1)."""
        for frame in self.frames():
            if frame.kind == GOAWAY:
                if frame.code not in codes:
                    self._fail("GOAWAY%r" % (codes,))
                for _ in self.frames():
                    pass
                if not self.closed:
                    self._fail("close after GOAWAY")
                return "GOAWAY %d" % frame.code
        self._fail("GOAWAY%r" % (codes,))

    def expect_stream_error(self, *codes, sid=None):
        """RST_STREAM (or GOAWAY) with one of ``codes`` (RFC 9113 section 5.4.2)."""
        for frame in self.frames():
            # As h2spec: a reset with another code (our NO_ERROR after an early
            # answer, say) is not the answer yet.
            if frame.kind == RST_STREAM and (sid is None or frame.sid == sid) \
                    and frame.code in codes:
                return "RST_STREAM %d" % frame.code
            if frame.kind == GOAWAY:
                if frame.code not in codes:
                    self._fail("RST_STREAM or GOAWAY%r" % (codes,))
                return "GOAWAY %d" % frame.code
        self._fail("RST_STREAM%r" % (codes,))

    def expect_close(self, error_allowed=False):
        """The connection closes (after a GOAWAY of an error only if ``error_allowed``)."""
        for frame in self.frames():
            if frame.kind == GOAWAY and frame.code != NO_ERROR and not error_allowed:
                self._fail("a close without an error")
        if not self.closed:
            self._fail("connection close")
        return "closed"

    def expect_frame(self, kind, sid=None, check=None):
        """The first frame of ``kind`` (on ``sid``) that passes ``check``."""
        for frame in self.frames():
            if frame.kind == GOAWAY and kind != GOAWAY:
                self._fail(NAMES[kind])
            if frame.kind == kind and (sid is None or frame.sid == sid):
                if check is None or check(frame):
                    return frame
        self._fail(NAMES[kind])

    def expect_headers(self, sid):
        """A response HEADERS on ``sid`` (h2spec's "the endpoint MUST respond")."""
        return self.expect_frame(HEADERS, sid)

    def expect_ping_ack(self, payload=b"\0" * 8):
        return self.expect_frame(PING, check=lambda f: f.flags & ACK and f.payload == payload)

    def expect_stream_end(self, sid):
        """The response on ``sid`` ends (a DATA or HEADERS frame with END_STREAM)."""
        for frame in self.frames():
            if frame.kind == GOAWAY:
                self._fail("END_STREAM on %d" % sid)
            if frame.sid == sid and frame.kind in (DATA, HEADERS) and frame.flags & END_STREAM:
                return frame
        self._fail("END_STREAM on %d" % sid)
