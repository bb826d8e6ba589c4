"""The h2spec case list (generic, http2 and hpack groups), against a real server (h2c, TLS).

Each case sends what h2spec's case of the same number sends and accepts what
it accepts, minus its leniency for a bare connection close: a connection
error must come as GOAWAY with the code, a stream error as RST_STREAM (or
GOAWAY) with the code.  A malformed request (RFC 9113 section 8.1.1) must be
a stream error that leaves the connection serving other streams.  One
server per transport; each case opens its own connection.
"""

import pytest
from conftest import h2c_server, tls_server
from spec_client import (
    ACK,
    CANCEL,
    COMPRESSION_ERROR,
    DATA,
    ENABLE_PUSH,
    FLOW_CONTROL_ERROR,
    FRAME_SIZE_ERROR,
    GOAWAY,
    HEADER_TABLE_SIZE,
    HEADERS,
    INITIAL_WINDOW_SIZE,
    MAX_CONCURRENT_STREAMS,
    MAX_FRAME_SIZE,
    MAX_HEADER_LIST_SIZE,
    NO_ERROR,
    PING,
    PREFACE,
    PRIORITY,
    PROTOCOL_ERROR,
    PUSH_PROMISE,
    REFUSED_STREAM,
    RST_STREAM,
    SETTINGS,
    STREAM_CLOSED,
    WINDOW_UPDATE,
    SpecConnection,
)

CASES = {}
# h2spec's filler field value (its default --max-header-length).
DUMMY = "x" * 4000


def case(*idents):
    """Register a case under its h2spec id (several ids when h2spec repeats a case)."""
    def register(fn):
        for ident in idents:
            assert ident not in CASES, ident
            CASES[ident] = fn
        return fn
    return register


def dummy(n=1):
    return [("x-dummy%d" % i, DUMMY) for i in range(n)]


def post(c):
    return c.request_fields("POST")


def still_serves(c, sid):
    """RFC 9113 section 5.4.2: a stream error leaves the connection usable."""
    c.headers(sid, c.request_fields())
    c.expect_headers(sid)


def malformed(c, fields, end_stream=True):
    """A malformed request is a stream error (section 8.1.1); the next stream is served."""
    c.handshake()
    c.headers(1, fields, end_stream=end_stream)
    c.expect_stream_error(PROTOCOL_ERROR, sid=1)
    assert c.seen[-1].kind == RST_STREAM, c.seen
    still_serves(c, 3)


# -- generic/1: Starting HTTP/2 ---------------------------------------------

@case("generic/1/1 client preface: first frame is SETTINGS")
def _(c):
    c.send(PREFACE)
    c.settings((INITIAL_WINDOW_SIZE, 65535))
    first = next(c.frames())
    assert first.kind == SETTINGS and not first.flags & ACK, first


# -- generic/2: Streams and Multiplexing -------------------------------------

@case("generic/2/1 PRIORITY on an idle stream")
def _(c):
    c.handshake()
    c.priority(1)
    c.ping()
    c.expect_ping_ack()


@case("generic/2/2 WINDOW_UPDATE on a half-closed (remote) stream")
def _(c):
    c.handshake((INITIAL_WINDOW_SIZE, 0))
    c.headers(1, c.request_fields())
    c.window_update(1, 1)
    c.expect_frame(DATA, 1)


@case("generic/2/3 PRIORITY on a half-closed (remote) stream")
def _(c):
    c.handshake((INITIAL_WINDOW_SIZE, 0))
    c.headers(1, c.request_fields())
    c.priority(1)
    c.window_update(1, 1)
    c.expect_frame(DATA, 1)


@case("generic/2/4 RST_STREAM on a half-closed (remote) stream")
def _(c):
    c.handshake()
    c.headers(1, c.request_fields())
    c.rst_stream(1, CANCEL)
    c.ping()
    c.expect_ping_ack()


@case("generic/2/5 PRIORITY on a closed stream")
def _(c):
    c.handshake()
    c.headers(1, c.request_fields())
    c.expect_stream_end(1)
    c.priority(1)
    c.ping()
    c.expect_ping_ack()


# -- generic/3: Frame Definitions --------------------------------------------

@case("generic/3.1/1 DATA",
      "generic/4/3 POST")
def _(c):
    c.handshake()
    c.headers(1, post(c), end_stream=False)
    c.data(1, b"test", end_stream=True)
    c.expect_headers(1)


@case("generic/3.1/2 multiple DATA")
def _(c):
    c.handshake()
    c.headers(1, post(c), end_stream=False)
    c.data(1, b"test")
    c.data(1, b"test", end_stream=True)
    c.expect_headers(1)


@case("generic/3.1/3 DATA with padding")
def _(c):
    c.handshake()
    c.headers(1, post(c), end_stream=False)
    c.data(1, b"test", end_stream=True, pad=b"padded")
    c.expect_headers(1)


@case("generic/3.2/1 HEADERS",
      "generic/4/1 GET")
def _(c):
    c.handshake()
    c.headers(1, c.request_fields())
    c.expect_headers(1)


@case("generic/3.2/2 HEADERS with padding")
def _(c):
    c.handshake()
    c.headers(1, c.request_fields(), pad=b"\0" * 8)
    c.expect_headers(1)


@case("generic/3.2/3 HEADERS with priority")
def _(c):
    c.handshake()
    c.headers(1, c.request_fields(), priority=(0, 255, False))
    c.expect_headers(1)


@case("generic/3.3/1 PRIORITY weight 1")
def _(c):
    c.handshake()
    c.priority(1, weight=0)
    c.headers(1, c.request_fields())
    c.expect_headers(1)


@case("generic/3.3/2 PRIORITY weight 256")
def _(c):
    c.handshake()
    c.priority(1, weight=255)
    c.headers(1, c.request_fields())
    c.expect_headers(1)


@case("generic/3.3/3 PRIORITY with a dependency")
def _(c):
    c.handshake()
    c.priority(3, depends_on=1, weight=0)
    c.headers(1, c.request_fields())
    c.expect_headers(1)


@case("generic/3.3/4 PRIORITY exclusive")
def _(c):
    c.handshake()
    c.priority(1, weight=0, exclusive=True)
    c.headers(1, c.request_fields())
    c.expect_headers(1)


@case("generic/3.3/5 PRIORITY for an idle stream, then HEADERS on a lower one",
      "http2/6.3/3 PRIORITY for an idle stream, then HEADERS on a lower one")
def _(c):
    c.handshake()
    c.priority(3)
    c.headers(1, c.request_fields())
    c.expect_headers(1)


@case("generic/3.4/1 RST_STREAM")
def _(c):
    c.handshake()
    c.headers(1, c.request_fields(), end_stream=False)
    c.rst_stream(1, CANCEL)
    c.ping()
    c.expect_ping_ack()


@case("generic/3.5/1 SETTINGS")
def _(c):
    c.handshake()
    c.settings((HEADER_TABLE_SIZE, 4096), (ENABLE_PUSH, 1), (MAX_CONCURRENT_STREAMS, 100),
               (INITIAL_WINDOW_SIZE, 65535), (MAX_FRAME_SIZE, 16384),
               (MAX_HEADER_LIST_SIZE, 100))
    c.expect_frame(SETTINGS, check=lambda f: f.flags & ACK)


@case("generic/3.7/1 PING",
      "http2/6.7/1 PING answered with the same payload")
def _(c):
    c.handshake()
    c.ping(b"h2spec\0\0")
    c.expect_ping_ack(b"h2spec\0\0")


@case("generic/3.8/1 GOAWAY")
def _(c):
    c.handshake()
    c.goaway(NO_ERROR, 0, b"h2spec")
    c.expect_close()


@case("generic/3.9/1 WINDOW_UPDATE on the connection")
def _(c):
    c.handshake()
    c.window_update(0, 1)
    c.ping()
    c.expect_ping_ack()


@case("generic/3.9/2 WINDOW_UPDATE on a stream")
def _(c):
    c.handshake()
    c.headers(1, c.request_fields())
    c.window_update(1, 1)
    c.expect_headers(1)


@case("generic/3.10/1 CONTINUATION")
def _(c):
    c.handshake()
    block = c.block(c.request_fields())
    c.headers(1, None, end_headers=False, block=block[:5])
    c.continuation(1, block=block[5:])
    c.expect_headers(1)


@case("generic/3.10/2 multiple CONTINUATION")
def _(c):
    c.handshake()
    block = c.block(c.request_fields())
    c.headers(1, None, end_headers=False, block=block[:5])
    c.continuation(1, end_headers=False, block=block[5:10])
    c.continuation(1, block=block[10:])
    c.expect_headers(1)


# -- generic/4: HTTP Message Exchanges ---------------------------------------

@case("generic/4/2 HEAD")
def _(c):
    c.handshake()
    c.headers(1, c.request_fields("HEAD"))
    c.expect_headers(1)


@case("generic/4/4 POST with trailers")
def _(c):
    c.handshake()
    c.headers(1, post(c) + [("trailer", "x-test")], end_stream=False)
    c.data(1, b"test")
    c.headers(1, [("x-test", "ok")])
    c.expect_headers(1)


# -- generic/5: HPACK representations (appended to the common head) ----------

HPACK_ACCEPTED = {
    "indexed field": b"\xba",
    "incremental indexing, indexed name": b"\x40\x87\xb5\x05\xb1\x61\xcc\x5a\x93\x84\x9c\x48\xac\xa4",
    "incremental indexing, indexed name, Huffman":
        b"\x40\x0a\x75\x73\x65\x72\x2d\x61\x67\x65\x6e\x74\x06\x68\x32\x73\x70\x65\x63",
    "incremental indexing, new name": b"\x40\x06\x78\x2d\x74\x65\x73\x74\x06\x68\x32\x73\x70\x65\x63",
    "incremental indexing, new name, Huffman": b"\x40\x85\xf2\xb2\x4a\x84\xff\x84\x9c\x48\xac\xa4",
    "without indexing, indexed name":
        b"\x00\x0a\x75\x73\x65\x72\x2d\x61\x67\x65\x6e\x74\x06\x68\x32\x73\x70\x65\x63",
    "without indexing, indexed name, Huffman":
        b"\x00\x87\xb5\x05\xb1\x61\xcc\x5a\x93\x84\x9c\x48\xac\xa4",
    "without indexing, new name": b"\x00\x06\x78\x2d\x74\x65\x73\x74\x06\x68\x32\x73\x70\x65\x63",
    "without indexing, new name, Huffman": b"\x00\x85\xf2\xb2\x4a\x84\xff\x84\x9c\x48\xac\xa4",
    "never indexed, indexed name":
        b"\x10\x0a\x75\x73\x65\x72\x2d\x61\x67\x65\x6e\x74\x06\x68\x32\x73\x70\x65\x63",
    "never indexed, indexed name, Huffman":
        b"\x10\x87\xb5\x05\xb1\x61\xcc\x5a\x93\x84\x9c\x48\xac\xa4",
    "never indexed, new name": b"\x10\x06\x78\x2d\x74\x65\x73\x74\x06\x68\x32\x73\x70\x65\x63",
    "never indexed, new name, Huffman": b"\x10\x85\xf2\xb2\x4a\x84\xff\x84\x9c\x48\xac\xa4",
}


def _accepts(suffix=b"", prefix=b""):
    def run(c):
        c.handshake()
        c.headers(1, None, block=prefix + c.block(c.request_fields()) + suffix)
        c.expect_headers(1)
    return run


for _n, (_name, _rep) in enumerate(HPACK_ACCEPTED.items(), 1):
    case("generic/5/%d %s" % (_n, _name))(_accepts(_rep))
case("generic/5/14 dynamic table size update")(_accepts(prefix=b"\x20"))
case("generic/5/15 two dynamic table size updates")(_accepts(prefix=b"\x20\x3f\xe1\x1f"))


# -- http2/3.5: connection preface -------------------------------------------

@case("http2/3.5/1 client preface: server SETTINGS")
def _(c):
    c.send(PREFACE)
    c.settings((INITIAL_WINDOW_SIZE, 65535))
    c.expect_frame(SETTINGS, check=lambda f: not f.flags & ACK)


@case("http2/3.5/2 invalid preface closes the connection")
def _(c):
    c.send(b"INVALID CONNECTION PREFACE\r\n\r\n")
    # Over h2c an HTTP/1 answer, over TLS GOAWAY(PROTOCOL_ERROR): then the close.
    c.expect_close(error_allowed=True)


# -- http2/4: frames ---------------------------------------------------------

@case("http2/4.1/1 unknown frame type",
      "http2/5.5/1 unknown extension frame")
def _(c):
    c.handshake()
    c.frame(0x16, 0, 0, b"\0" * 8)
    c.ping()
    c.expect_ping_ack()


@case("http2/4.1/2 undefined flags")
def _(c):
    c.handshake()
    c.frame(PING, 0x16, 0, b"\0" * 8)
    c.expect_ping_ack()


@case("http2/4.1/3 reserved bit set")
def _(c):
    c.handshake()
    c.send(b"\x00\x00\x08\x06\x16\x80\x00\x00\x00" + b"\0" * 8)
    c.expect_ping_ack()


@case("http2/4.2/1 DATA of SETTINGS_MAX_FRAME_SIZE")
def _(c):
    c.handshake()
    c.headers(1, post(c), end_stream=False)
    c.data(1, b"x" * c.max_frame_size, end_stream=True)
    c.expect_headers(1)


@case("http2/4.2/2 DATA over SETTINGS_MAX_FRAME_SIZE")
def _(c):
    c.handshake()
    c.headers(1, post(c), end_stream=False)
    c.data(1, b"x" * (c.max_frame_size + 1), end_stream=True)
    c.expect_stream_error(FRAME_SIZE_ERROR)


@case("http2/4.2/3 HEADERS over SETTINGS_MAX_FRAME_SIZE")
def _(c):
    c.handshake()
    c.headers(1, c.request_fields() + dummy(5))
    c.expect_connection_error(FRAME_SIZE_ERROR)


@case("http2/4.3/1 undecodable field block")
def _(c):
    c.handshake()
    c.frame(HEADERS, 0x5, 1, b"\x40")
    c.expect_connection_error(COMPRESSION_ERROR)


@case("http2/4.3/2 PRIORITY inside a field block",
      "http2/6.2/1 HEADERS without END_HEADERS, then PRIORITY")
def _(c):
    c.handshake()
    c.headers(1, c.request_fields(), end_stream=False, end_headers=False)
    c.priority(1)
    c.continuation(1, dummy())
    c.expect_connection_error(PROTOCOL_ERROR)


@case("http2/4.3/3 HEADERS of another stream inside a field block",
      "http2/6.2/2 HEADERS of another stream while a field block is open")
def _(c):
    c.handshake()
    c.headers(1, c.request_fields(), end_stream=False, end_headers=False)
    c.headers(3, c.request_fields())
    c.continuation(1, dummy())
    c.expect_connection_error(PROTOCOL_ERROR)


# -- http2/5.1: stream states ------------------------------------------------

@case("http2/5.1/1 idle: DATA")
def _(c):
    c.handshake()
    c.data(1, b"test", end_stream=True)
    c.expect_connection_error(PROTOCOL_ERROR)


@case("http2/5.1/2 idle: RST_STREAM",
      "http2/6.4/2 RST_STREAM on an idle stream")
def _(c):
    c.handshake()
    c.rst_stream(1, CANCEL)
    c.expect_connection_error(PROTOCOL_ERROR)


@case("http2/5.1/3 idle: WINDOW_UPDATE")
def _(c):
    c.handshake()
    c.window_update(1, 100)
    c.expect_connection_error(PROTOCOL_ERROR)


@case("http2/5.1/4 idle: CONTINUATION")
def _(c):
    c.handshake()
    c.continuation(1, c.request_fields())
    c.expect_connection_error(PROTOCOL_ERROR)


@case("http2/5.1/5 half closed (remote): DATA")
def _(c):
    c.handshake()
    c.headers(1, c.request_fields())
    c.data(1, b"test", end_stream=True)
    c.expect_stream_error(STREAM_CLOSED)


@case("http2/5.1/6 half closed (remote): HEADERS")
def _(c):
    c.handshake()
    c.headers(1, c.request_fields())
    c.headers(1, c.request_fields())
    c.expect_stream_error(STREAM_CLOSED)


@case("http2/5.1/7 half closed (remote): CONTINUATION")
def _(c):
    c.handshake()
    block = c.block(c.request_fields())
    c.headers(1, None, block=block)
    c.continuation(1, block=block)
    c.expect_stream_error(STREAM_CLOSED, PROTOCOL_ERROR)


@case("http2/5.1/8 closed: DATA after RST_STREAM")
def _(c):
    c.handshake()
    c.headers(1, c.request_fields(), end_stream=False)
    c.rst_stream(1, CANCEL)
    c.data(1, b"test", end_stream=True)
    c.expect_stream_error(STREAM_CLOSED)


@case("http2/5.1/9 closed: HEADERS after RST_STREAM")
def _(c):
    c.handshake()
    c.headers(1, c.request_fields(), end_stream=False)
    c.rst_stream(1, CANCEL)
    c.headers(1, c.request_fields())
    c.expect_stream_error(STREAM_CLOSED)


@case("http2/5.1/10 closed: CONTINUATION after RST_STREAM")
def _(c):
    c.handshake()
    c.headers(1, c.request_fields(), end_stream=False)
    c.rst_stream(1, CANCEL)
    c.continuation(1, dummy())
    c.expect_stream_error(STREAM_CLOSED, PROTOCOL_ERROR)


@case("http2/5.1/11 closed: DATA after END_STREAM")
def _(c):
    c.handshake()
    c.headers(1, c.request_fields())
    c.expect_stream_end(1)
    c.data(1, b"test", end_stream=True)
    c.expect_connection_error(STREAM_CLOSED)


@case("http2/5.1/12 closed: HEADERS after END_STREAM")
def _(c):
    c.handshake()
    c.headers(1, c.request_fields())
    c.expect_stream_end(1)
    c.headers(1, c.request_fields())
    c.expect_connection_error(STREAM_CLOSED)


@case("http2/5.1/13 closed: CONTINUATION after END_STREAM")
def _(c):
    c.handshake()
    c.headers(1, c.request_fields())
    c.expect_stream_end(1)
    c.continuation(1, dummy())
    c.expect_connection_error(STREAM_CLOSED, PROTOCOL_ERROR)


@case("http2/5.1.1/1 even stream id")
def _(c):
    c.handshake()
    c.headers(2, c.request_fields())
    c.expect_connection_error(PROTOCOL_ERROR)


@case("http2/5.1.1/2 stream id lower than a previous one")
def _(c):
    c.handshake()
    c.headers(5, c.request_fields())
    c.headers(3, c.request_fields())
    c.expect_connection_error(PROTOCOL_ERROR)


@case("http2/5.1.1/3 HEADERS twice on a half-closed (remote) stream")
def _(c):
    c.handshake()
    c.headers(5, c.request_fields())
    c.headers(5, c.request_fields())
    c.expect_stream_error(STREAM_CLOSED)


@case("http2/5.1.2/1 over SETTINGS_MAX_CONCURRENT_STREAMS")
def _(c):
    c.handshake()
    limit = c.server_settings[MAX_CONCURRENT_STREAMS]
    # A zero window keeps the responses (and so the streams) open.
    c.settings((INITIAL_WINDOW_SIZE, 0))
    block = c.block(c.request_fields())
    for n in range(limit + 1):
        c.headers(1 + 2 * n, None, block=block)
    c.expect_stream_error(PROTOCOL_ERROR, REFUSED_STREAM)


@case("http2/5.3.1/1 HEADERS depending on itself")
def _(c):
    c.handshake()
    c.headers(1, c.request_fields(), priority=(1, 255, False))
    c.expect_stream_error(PROTOCOL_ERROR)


@case("http2/5.3.1/2 PRIORITY depending on itself")
def _(c):
    c.handshake()
    c.priority(1, depends_on=1)
    c.expect_stream_error(PROTOCOL_ERROR)


@case("http2/5.4.1/1 connection error closes the connection")
def _(c):
    c.handshake()
    c.frame(PING, 0, 3, b"\0" * 8)
    assert c.expect_connection_error(PROTOCOL_ERROR)


@case("http2/5.4.1/2 connection error sends GOAWAY first")
def _(c):
    c.handshake()
    c.frame(PING, 0, 3, b"\0" * 8)
    c.expect_frame(GOAWAY)


@case("http2/5.5/2 unknown extension frame inside a field block")
def _(c):
    c.handshake()
    c.headers(1, c.request_fields(), end_headers=False)
    c.frame(0x16, 0, 0, b"\0" * 8)
    c.expect_connection_error(PROTOCOL_ERROR)


# -- http2/6: frame definitions ----------------------------------------------

@case("http2/6.1/1 DATA on stream 0")
def _(c):
    c.handshake()
    c.data(0, b"test", end_stream=True)
    c.expect_connection_error(PROTOCOL_ERROR)


@case("http2/6.1/2 DATA on a stream not open")
def _(c):
    c.handshake()
    c.headers(1, post(c))
    c.data(1, b"test", end_stream=True)
    c.expect_stream_error(STREAM_CLOSED)


@case("http2/6.1/3 DATA with invalid pad length")
def _(c):
    c.handshake()
    c.headers(1, post(c) + [("content-length", "4")], end_stream=False)
    c.frame(DATA, 0x9, 1, b"\x06Test")
    c.expect_connection_error(PROTOCOL_ERROR)


@case("http2/6.2/3 HEADERS on stream 0")
def _(c):
    c.handshake()
    c.headers(0, c.request_fields())
    c.expect_connection_error(PROTOCOL_ERROR)


@case("http2/6.2/4 HEADERS with invalid pad length")
def _(c):
    c.handshake()
    block = c.block(c.request_fields())
    c.frame(HEADERS, 0x0D, 1, bytes([len(block) + 2]) + block)
    c.expect_stream_error(PROTOCOL_ERROR)


@case("http2/6.3/1 PRIORITY on stream 0")
def _(c):
    c.handshake()
    c.priority(0)
    c.expect_connection_error(PROTOCOL_ERROR)


@case("http2/6.3/2 PRIORITY of 4 octets")
def _(c):
    c.handshake()
    c.headers(1, c.request_fields())
    c.frame(PRIORITY, 0, 1, b"\x80\x00\x00\x01")
    c.expect_stream_error(FRAME_SIZE_ERROR)


@case("http2/6.4/1 RST_STREAM on stream 0")
def _(c):
    c.handshake()
    c.rst_stream(0, CANCEL)
    c.expect_connection_error(PROTOCOL_ERROR)


@case("http2/6.4/3 RST_STREAM of 3 octets")
def _(c):
    c.handshake()
    c.headers(1, c.request_fields())
    c.frame(RST_STREAM, 0, 1, b"\0\0\0")
    c.expect_stream_error(FRAME_SIZE_ERROR)


@case("http2/6.5/1 SETTINGS ACK with a payload")
def _(c):
    c.handshake()
    c.frame(SETTINGS, ACK, 0, b"\0")
    c.expect_connection_error(FRAME_SIZE_ERROR)


@case("http2/6.5/2 SETTINGS on stream 1")
def _(c):
    c.handshake()
    c.frame(SETTINGS, 0, 1, b"\x00\x03\x00\x00\x00\x64")
    c.expect_connection_error(PROTOCOL_ERROR)


@case("http2/6.5/3 SETTINGS not a multiple of 6 octets")
def _(c):
    c.handshake()
    c.frame(SETTINGS, 0, 0, b"\x00\x03\x00\x00\x00\x64\x00\x02\x00")
    c.expect_stream_error(PROTOCOL_ERROR, FRAME_SIZE_ERROR)


@case("http2/6.5.2/1 SETTINGS_ENABLE_PUSH of 2")
def _(c):
    c.handshake()
    c.settings((ENABLE_PUSH, 2))
    c.expect_connection_error(PROTOCOL_ERROR)


@case("http2/6.5.2/2 SETTINGS_INITIAL_WINDOW_SIZE over 2^31-1")
def _(c):
    c.handshake()
    c.settings((INITIAL_WINDOW_SIZE, 2 ** 31))
    c.expect_connection_error(FLOW_CONTROL_ERROR)


@case("http2/6.5.2/3 SETTINGS_MAX_FRAME_SIZE below 16384")
def _(c):
    c.handshake()
    c.settings((MAX_FRAME_SIZE, 16383))
    c.expect_connection_error(PROTOCOL_ERROR)


@case("http2/6.5.2/4 SETTINGS_MAX_FRAME_SIZE over 2^24-1")
def _(c):
    c.handshake()
    c.settings((MAX_FRAME_SIZE, 2 ** 24))
    c.expect_connection_error(PROTOCOL_ERROR)


@case("http2/6.5.2/5 unknown SETTINGS identifier")
def _(c):
    c.handshake()
    c.settings((0xFF, 1))
    c.ping()
    c.expect_ping_ack()


@case("http2/6.5.3/1 SETTINGS_INITIAL_WINDOW_SIZE twice, in order")
def _(c):
    c.handshake()
    c.settings((INITIAL_WINDOW_SIZE, 100), (INITIAL_WINDOW_SIZE, 1))
    c.expect_frame(SETTINGS, check=lambda f: f.flags & ACK)
    c.headers(1, c.request_fields())
    frame = c.expect_frame(DATA, 1)
    assert len(frame.payload) == 1, frame


@case("http2/6.5.3/2 SETTINGS is acknowledged")
def _(c):
    c.handshake()
    c.settings((ENABLE_PUSH, 0))
    c.expect_frame(SETTINGS, check=lambda f: f.flags & ACK)


@case("http2/6.7/2 PING ACK is not answered")
def _(c):
    c.handshake()
    c.ping(b"invalid\0", ack=True)
    c.ping(b"h2spec\0\0")
    c.expect_ping_ack(b"h2spec\0\0")
    assert not [f for f in c.seen if f.kind == PING and f.payload == b"invalid\0"], c.seen


@case("http2/6.7/3 PING on a stream")
def _(c):
    c.handshake()
    c.frame(PING, 0, 1, b"\0" * 8)
    c.expect_connection_error(PROTOCOL_ERROR)


@case("http2/6.7/4 PING of 6 octets")
def _(c):
    c.handshake()
    c.frame(PING, 0, 0, b"\0" * 6)
    c.expect_connection_error(FRAME_SIZE_ERROR)


@case("http2/6.8/1 GOAWAY on a stream")
def _(c):
    c.handshake()
    c.frame(GOAWAY, 0, 1, b"\0" * 8)
    c.expect_connection_error(PROTOCOL_ERROR)


@case("http2/6.9/1 WINDOW_UPDATE of 0 on the connection")
def _(c):
    c.handshake()
    c.window_update(0, 0)
    c.expect_connection_error(PROTOCOL_ERROR)


@case("http2/6.9/2 WINDOW_UPDATE of 0 on a stream")
def _(c):
    c.handshake()
    c.headers(1, c.request_fields(), end_stream=False)
    c.window_update(1, 0)
    c.expect_stream_error(PROTOCOL_ERROR)


@case("http2/6.9/3 WINDOW_UPDATE of 3 octets")
def _(c):
    c.handshake()
    c.frame(WINDOW_UPDATE, 0, 0, b"\0\0\x01")
    c.expect_connection_error(FRAME_SIZE_ERROR)


@case("http2/6.9.1/1 a window of 1 octet")
def _(c):
    c.handshake()
    c.settings((INITIAL_WINDOW_SIZE, 1))
    c.expect_frame(SETTINGS, check=lambda f: f.flags & ACK)
    c.headers(1, c.request_fields())
    frame = c.expect_frame(DATA, 1)
    assert len(frame.payload) == 1, frame


@case("http2/6.9.1/2 connection window over 2^31-1")
def _(c):
    c.handshake()
    c.window_update(0, 2 ** 31 - 1)
    c.window_update(0, 2 ** 31 - 1)
    c.expect_connection_error(FLOW_CONTROL_ERROR)


@case("http2/6.9.1/3 stream window over 2^31-1")
def _(c):
    c.handshake()
    c.headers(1, c.request_fields(), end_stream=False)
    c.window_update(1, 2 ** 31 - 1)
    c.window_update(1, 2 ** 31 - 1)
    c.expect_frame(RST_STREAM, 1, check=lambda f: f.code == FLOW_CONTROL_ERROR)


@case("http2/6.9.2/1 SETTINGS_INITIAL_WINDOW_SIZE raised after HEADERS")
def _(c):
    c.handshake()
    c.settings((INITIAL_WINDOW_SIZE, 0))
    c.expect_frame(SETTINGS, check=lambda f: f.flags & ACK)
    c.headers(1, c.request_fields())
    c.settings((INITIAL_WINDOW_SIZE, 1))
    frame = c.expect_frame(DATA, 1)
    assert len(frame.payload) == 1, frame


@case("http2/6.9.2/2 a window made negative by SETTINGS")
def _(c):
    c.handshake()
    c.settings((INITIAL_WINDOW_SIZE, 3))
    c.expect_frame(SETTINGS, check=lambda f: f.flags & ACK)
    c.headers(1, c.request_fields())
    c.expect_frame(DATA, 1)
    c.settings((INITIAL_WINDOW_SIZE, 2))
    c.expect_frame(SETTINGS, check=lambda f: f.flags & ACK)
    c.window_update(1, 2)
    frame = c.expect_frame(DATA, 1)
    assert len(frame.payload) == 1, frame


@case("http2/6.9.2/3 SETTINGS_INITIAL_WINDOW_SIZE over the largest window")
def _(c):
    c.handshake()
    c.frame(SETTINGS, 0, 0, b"\x00\x04\x80\x00\x00\x00")
    c.expect_connection_error(FLOW_CONTROL_ERROR)


@case("http2/6.10/1 multiple CONTINUATION after HEADERS")
def _(c):
    c.handshake()
    c.headers(1, c.request_fields(), end_headers=False)
    c.continuation(1, dummy(), end_headers=False)
    c.continuation(1, dummy())
    c.expect_headers(1)


@case("http2/6.10/2 CONTINUATION followed by another frame")
def _(c):
    c.handshake()
    c.headers(1, post(c), end_stream=False, end_headers=False)
    c.continuation(1, dummy(), end_headers=False)
    c.data(1, b"test", end_stream=True)
    c.expect_connection_error(PROTOCOL_ERROR)


@case("http2/6.10/3 CONTINUATION on stream 0")
def _(c):
    c.handshake()
    c.headers(1, c.request_fields(), end_headers=False)
    c.continuation(0, dummy())
    c.expect_connection_error(PROTOCOL_ERROR)


@case("http2/6.10/4 CONTINUATION after HEADERS with END_HEADERS")
def _(c):
    c.handshake()
    c.headers(1, c.request_fields())
    c.continuation(1, dummy())
    c.expect_connection_error(PROTOCOL_ERROR)


@case("http2/6.10/5 CONTINUATION after CONTINUATION with END_HEADERS")
def _(c):
    c.handshake()
    c.headers(1, c.request_fields(), end_headers=False)
    c.continuation(1, dummy())
    c.continuation(1, dummy())
    c.expect_connection_error(PROTOCOL_ERROR)


@case("http2/6.10/6 CONTINUATION after DATA")
def _(c):
    c.handshake()
    c.headers(1, post(c), end_stream=False, end_headers=False)
    c.data(1, b"test", end_stream=True)
    c.continuation(1, dummy(), end_headers=False)
    c.continuation(0, dummy())
    c.expect_connection_error(PROTOCOL_ERROR)


# -- http2/7: error codes ----------------------------------------------------

@case("http2/7/1 GOAWAY with an unknown error code")
def _(c):
    c.handshake()
    c.goaway(0xFF)
    c.expect_close()


@case("http2/7/2 RST_STREAM with an unknown error code")
def _(c):
    c.handshake()
    c.headers(1, post(c), end_stream=False)
    c.rst_stream(1, 0xFF)
    c.ping()
    c.expect_ping_ack()


# -- http2/8: HTTP message exchanges -----------------------------------------

@case("http2/8.1/1 second HEADERS without END_STREAM")
def _(c):
    c.handshake()
    c.headers(1, post(c), end_stream=False)
    c.data(1, b"test")
    c.headers(1, [("x-test", "ok")], end_stream=False)
    c.expect_stream_error(PROTOCOL_ERROR, sid=1)
    assert c.seen[-1].kind == RST_STREAM, c.seen
    still_serves(c, 3)


@case("http2/8.1.2/1 uppercase field name")
def _(c):
    malformed(c, c.request_fields() + [("X-TEST", "ok")])


@case("http2/8.1.2.1/1 unknown pseudo-header")
def _(c):
    malformed(c, c.request_fields() + [(":test", "ok")])


@case("http2/8.1.2.1/2 response pseudo-header in a request")
def _(c):
    malformed(c, c.request_fields() + [(":status", "200")])


@case("http2/8.1.2.1/3 pseudo-header in trailers")
def _(c):
    c.handshake()
    c.headers(1, post(c), end_stream=False)
    c.data(1, b"test")
    c.headers(1, [(":method", "POST")], end_stream=False)
    c.expect_stream_error(PROTOCOL_ERROR, sid=1)
    assert c.seen[-1].kind == RST_STREAM, c.seen
    still_serves(c, 3)


@case("http2/8.1.2.1/4 pseudo-header after a regular field")
def _(c):
    malformed(c, [("x-test", "ok")] + c.request_fields())


@case("http2/8.1.2.2/1 connection-specific field")
def _(c):
    malformed(c, c.request_fields() + [("connection", "keep-alive")])


@case("http2/8.1.2.2/2 TE other than trailers")
def _(c):
    malformed(c, c.request_fields() + [("trailers", "test"), ("te", "trailers, deflate")])


@case("http2/8.1.2.3/1 empty :path")
def _(c):
    fields = c.request_fields()
    fields[2] = (":path", "")
    malformed(c, fields)


@case("http2/8.1.2.3/2 no :method")
def _(c):
    malformed(c, c.request_fields()[1:])


@case("http2/8.1.2.3/3 no :scheme")
def _(c):
    fields = c.request_fields()
    malformed(c, [fields[0], fields[2], fields[3]])


@case("http2/8.1.2.3/4 no :path")
def _(c):
    fields = c.request_fields()
    malformed(c, [fields[0], fields[1], fields[3]])


@case("http2/8.1.2.3/5 duplicate :method")
def _(c):
    malformed(c, c.request_fields() + [(":method", "GET")])


@case("http2/8.1.2.3/6 duplicate :scheme")
def _(c):
    malformed(c, c.request_fields() + [(":scheme", "http")])


@case("http2/8.1.2.3/7 duplicate :path")
def _(c):
    malformed(c, c.request_fields() + [(":path", "/")])


@case("http2/8.1.2.6/1 content-length other than the DATA length")
def _(c):
    c.handshake()
    c.headers(1, post(c) + [("content-length", "1")], end_stream=False)
    c.data(1, b"test", end_stream=True)
    c.expect_stream_error(PROTOCOL_ERROR, sid=1)
    assert c.seen[-1].kind == RST_STREAM, c.seen
    still_serves(c, 3)


@case("http2/8.1.2.6/2 content-length other than the sum of DATA lengths")
def _(c):
    c.handshake()
    c.headers(1, post(c) + [("content-length", "1")], end_stream=False)
    c.data(1, b"test")
    c.data(1, b"test", end_stream=True)
    c.expect_stream_error(PROTOCOL_ERROR, sid=1)
    assert c.seen[-1].kind == RST_STREAM, c.seen
    still_serves(c, 3)


@case("http2/8.2/1 PUSH_PROMISE from a client")
def _(c):
    c.handshake()
    c.frame(PUSH_PROMISE, 0x4, 1, b"\0\0\0\x03" + c.block(c.request_fields()))
    c.expect_connection_error(PROTOCOL_ERROR)


# -- hpack: decoding errors (connection errors of type COMPRESSION_ERROR) -----

def _rejects(suffix=b"", prefix=b""):
    def run(c):
        c.handshake()
        c.headers(1, None, block=prefix + c.block(c.request_fields()) + suffix)
        c.expect_connection_error(COMPRESSION_ERROR)
    return run


case("hpack/2.3.3/1 index beyond both tables")(_rejects(b"\xfe"))
case("hpack/4.2/1 table size update at the end of a block")(_rejects(b"\x21"))
case("hpack/5.2/1 Huffman padding over 7 bits")(
    _rejects(b"\x00\x85\xf2\xb2\x4a\x84\xff\x84\x49\x50\x9f\xff"))
case("hpack/5.2/2 Huffman padding of zeros")(
    _rejects(b"\x00\x85\xf2\xb2\x4a\x84\xff\x83\x49\x50\x90"))
case("hpack/5.2/3 Huffman string with EOS")(
    _rejects(b"\x00\x85\xf2\xb2\x4a\x87\xff\xff\xff\xfd\x25\x42\x7f"))
case("hpack/6.1/1 indexed field of index 0")(_rejects(b"\x80"))
# SETTINGS_HEADER_TABLE_SIZE stays 4096 (we never advertise another): 4097 is too large.
case("hpack/6.3/1 table size update over SETTINGS_HEADER_TABLE_SIZE")(
    _rejects(prefix=b"\x3f\xe2\x1f"))


@pytest.fixture(scope="module", params=["h2c", "tls"])
def server(request, cert):
    # h2spec runs over either; the cases are the same, the transports are not.
    if request.param == "tls":
        srv = tls_server(cert, threads="8")
    else:
        srv = h2c_server(threads="8")
    with srv:
        srv.tls = request.param == "tls"
        yield srv


@pytest.mark.parametrize("run", list(CASES.values()), ids=list(CASES))
def test_h2spec_case(server, run):
    c = SpecConnection(server.port, tls=server.tls)
    try:
        run(c)
    finally:
        c.close()


def test_every_case_left_the_server_serving(server):
    # No case may leave the worker unable to take new connections.
    c = SpecConnection(server.port, tls=server.tls)
    try:
        c.handshake()
        still_serves(c, 1)
    finally:
        c.close()


def test_the_list_is_h2spec_sized():
    assert len(CASES) >= 140
