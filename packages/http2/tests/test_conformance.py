"""RFC 9113 rules that h2spec checks, as raw frames into the sans-I/O connection.

Each case sends frames after the handshake and names what must come back:
GOAWAY with a code (a connection error) or RST_STREAM with a code (a stream
error, after which the connection still takes new streams).  h2 does most of
the frame checking, ``request_head`` the field rules; the table keeps both
honest when h2 or our handling of its errors changes.  The full h2spec list,
over a socket, is ``test_conformance_h2spec.py``.
"""

import pytest
from conftest import Pair
from frames import GET as BASE
from frames import answers, data, headers, raw, window_update
from hyperframe.frame import ContinuationFrame

PROTOCOL_ERROR, FLOW_CONTROL_ERROR, STREAM_CLOSED, FRAME_SIZE_ERROR = 0x1, 0x3, 0x5, 0x6
REFUSED_STREAM, COMPRESSION_ERROR = 0x7, 0x9


def continuation(sid):
    frame = ContinuationFrame(sid)
    frame.flags.add("END_HEADERS")
    return frame.serialize()


CASES = {
    # Section 4.2, 4.3: frame size, undecodable field block.
    "DATA over MAX_FRAME_SIZE": (headers(1, BASE, end_stream=False)
                                 + data(1, b"x" * 16385), ("GOAWAY", FRAME_SIZE_ERROR)),
    "invalid HPACK": (raw(0x1, 0x5, 1, b"\xff"), ("GOAWAY", COMPRESSION_ERROR)),
    # Section 5.1: stream states and identifiers.
    "DATA on an idle stream": (data(1, b"x"), ("GOAWAY", PROTOCOL_ERROR)),
    "DATA on a half-closed (remote) stream": (headers(1, BASE) + data(1, b"x"),
                                              ("RST", 1, STREAM_CLOSED)),
    "HEADERS on a half-closed (remote) stream": (headers(1, BASE) + headers(1, BASE),
                                                 ("RST", 1, STREAM_CLOSED)),
    "even stream id": (headers(2, BASE), ("GOAWAY", PROTOCOL_ERROR)),
    "decreasing stream id": (headers(5, BASE) + headers(3, BASE), ("GOAWAY", PROTOCOL_ERROR)),
    "RST_STREAM on an idle stream": (raw(0x3, 0, 1, b"\0\0\0\x08"), ("GOAWAY", PROTOCOL_ERROR)),
    # Section 6: frame definitions.
    "DATA on stream 0": (raw(0x0, 0, 0, b"x"), ("GOAWAY", PROTOCOL_ERROR)),
    "PING of 7 bytes": (raw(0x6, 0, 0, b"1234567"), ("GOAWAY", FRAME_SIZE_ERROR)),
    "PING on a stream": (raw(0x6, 0, 1, b"12345678"), ("GOAWAY", PROTOCOL_ERROR)),
    # RFC 9113 section 6.5 (h2 itself would say PROTOCOL_ERROR).
    "SETTINGS ACK with payload": (raw(0x4, 0x1, 0, b"\0\x02\0\0\0\0"),
                                  ("GOAWAY", FRAME_SIZE_ERROR)),
    "SETTINGS_ENABLE_PUSH=2": (raw(0x4, 0, 0, b"\0\x02\0\0\0\x02"), ("GOAWAY", PROTOCOL_ERROR)),
    "SETTINGS_INITIAL_WINDOW_SIZE over 2^31-1": (raw(0x4, 0, 0, b"\0\x04\x80\0\0\0"),
                                                 ("GOAWAY", FLOW_CONTROL_ERROR)),
    "PRIORITY depending on itself": (raw(0x2, 0, 1, b"\0\0\0\x01\x10"),
                                     ("GOAWAY", PROTOCOL_ERROR)),
    "PUSH_PROMISE from a client": (raw(0x5, 0x4, 1, b"\0\0\0\x02"), ("GOAWAY", PROTOCOL_ERROR)),
    "WINDOW_UPDATE of 0": (window_update(0, 0), ("GOAWAY", PROTOCOL_ERROR)),
    "connection window over 2^31-1": (window_update(0, 2 ** 31 - 1),
                                      ("GOAWAY", FLOW_CONTROL_ERROR)),
    "stream window over 2^31-1": (headers(1, BASE, end_stream=False)
                                  + window_update(1, 2 ** 31 - 1), ("RST", 1, FLOW_CONTROL_ERROR)),
    "CONTINUATION without HEADERS": (continuation(1), ("GOAWAY", PROTOCOL_ERROR)),
    "PING inside a field block": (headers(1, BASE, end_headers=False)
                                  + raw(0x6, 0, 0, b"12345678"), ("GOAWAY", PROTOCOL_ERROR)),
    "CONTINUATION of another stream": (headers(1, BASE, end_headers=False) + continuation(3),
                                       ("GOAWAY", PROTOCOL_ERROR)),
    # Section 5.1, "closed": DATA after both sides ended (h2 alone would reset the stream).
    "DATA on a closed stream": (headers(1, BASE), None),
    # Section 5.1.2: over MAX_CONCURRENT_STREAMS is a stream error (the others go on).
    "stream over MAX_CONCURRENT_STREAMS": (b"".join(headers(1 + 2 * n, BASE) for n in range(101)),
                                           ("RST", 201, REFUSED_STREAM)),
    # Section 8.1.1: malformed requests are stream errors of type PROTOCOL_ERROR.
    "uppercase field name": (headers(1, BASE + [("X-Foo", "a")]), ("RST", 1, PROTOCOL_ERROR)),
    "connection-specific field": (headers(1, BASE + [("connection", "keep-alive")]),
                                  ("RST", 1, PROTOCOL_ERROR)),
    "TE other than trailers": (headers(1, BASE + [("te", "gzip")]), ("RST", 1, PROTOCOL_ERROR)),
    "no :method": (headers(1, BASE[1:]), ("RST", 1, PROTOCOL_ERROR)),
    "empty :path": (headers(1, BASE[:2] + [(":path", "")] + BASE[3:]),
                    ("RST", 1, PROTOCOL_ERROR)),
    "duplicate :method": (headers(1, BASE + [(":method", "GET")]), ("RST", 1, PROTOCOL_ERROR)),
    "unknown pseudo-header": (headers(1, BASE + [(":foo", "x")]), ("RST", 1, PROTOCOL_ERROR)),
    "pseudo-header after a field": (headers(1, BASE[:3] + [("x-a", "b")] + BASE[3:]),
                                    ("RST", 1, PROTOCOL_ERROR)),
    ":status in a request": (headers(1, BASE + [(":status", "200")]), ("RST", 1, PROTOCOL_ERROR)),
    "host other than :authority": (headers(1, BASE + [("host", "y")]), ("RST", 1, PROTOCOL_ERROR)),
    "CR in a field value": (headers(1, BASE + [("x-a", "1\r\nx-b: 2")]),
                            ("RST", 1, PROTOCOL_ERROR)),
    "DATA beyond content-length": (headers(1, BASE + [("content-length", "1")], end_stream=False)
                                   + data(1, b"abc", end_stream=True),
                                   ("RST", 1, PROTOCOL_ERROR)),
    "DATA short of content-length": (headers(1, BASE + [("content-length", "9")],
                                             end_stream=False) + data(1, b"", end_stream=True),
                                     ("RST", 1, PROTOCOL_ERROR)),
    "content-length not a number": (headers(1, BASE + [("content-length", "1x")], end_stream=False)
                                    + data(1, b"1x", end_stream=True),
                                    ("RST", 1, PROTOCOL_ERROR)),
    "two content-lengths that disagree": (headers(1, BASE + [("content-length", "1"),
                                                             ("content-length", "2")],
                                                  end_stream=False) + data(1, b"ab"),
                                          ("RST", 1, PROTOCOL_ERROR)),
    "END_STREAM on HEADERS with content-length": (headers(1, BASE + [("content-length", "9")]),
                                                  ("RST", 1, PROTOCOL_ERROR)),
    "trailers with a pseudo-header": (headers(1, BASE, end_stream=False)
                                      + headers(1, [(":path", "/")]), ("RST", 1, PROTOCOL_ERROR)),
    "trailers with an uppercase name": (headers(1, BASE, end_stream=False)
                                        + headers(1, [("X-T", "1")]), ("RST", 1, PROTOCOL_ERROR)),
    "trailers without END_STREAM": (headers(1, BASE, end_stream=False)
                                    + headers(1, [("x-t", "1")], end_stream=False),
                                    ("RST", 1, PROTOCOL_ERROR)),
    "CONNECT": (headers(1, [(":method", "CONNECT"), (":authority", "x:443")]),
                ("RST", 1, PROTOCOL_ERROR)),
}


@pytest.mark.parametrize("frames,expected", list(CASES.values()), ids=list(CASES))
def test_rfc9113_error_handling(frames, expected):
    p = Pair()
    p.exchange()
    p.server.data_to_send()
    events = p.server.receive_data(frames)
    found = answers(p.server.data_to_send())
    if expected is None:
        # DATA on a stream both sides ended: GOAWAY(STREAM_CLOSED) once both ends are out.
        p.server.send_response(1, 200, [], end_stream=True)
        p.server.receive_data(data(1, b"x"))
        assert ("GOAWAY", STREAM_CLOSED) in answers(p.server.data_to_send())
        return
    assert expected in found
    if expected[0] == "RST":
        # A stream error: no GOAWAY, and the next stream is still taken.
        assert not [a for a in found if a[0] == "GOAWAY"], found
        assert not [e for e in events if type(e).__name__ == "ConnectionEnded"], events
        nxt = expected[1] + 2
        if expected[2] == REFUSED_STREAM:
            p.server.send_response(1, 200, [], end_stream=True)   # a slot frees up
        later = p.server.receive_data(headers(nxt, BASE))
        assert [(type(e).__name__, e.stream_id) for e in later][:1] == [("StreamRequest", nxt)]


def test_unknown_frame_types_are_ignored():
    # Section 5.5: an unknown type is discarded; the request after it is served.
    p = Pair()
    p.exchange()
    events = p.server.receive_data(raw(0xFA, 0, 0, b"ab") + headers(1, BASE))
    assert [type(e).__name__ for e in events] == ["StreamRequest", "StreamEnded"]
