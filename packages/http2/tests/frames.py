"""Raw HTTP/2 frames for tests that must send what a well-behaved client never would."""

from hpack import Encoder
from hyperframe.frame import DataFrame, GoAwayFrame, HeadersFrame, WindowUpdateFrame

GET = [(":method", "GET"), (":scheme", "http"), (":path", "/"), (":authority", "x")]


def headers(sid, fields, end_stream=True, end_headers=True):
    frame = HeadersFrame(sid)
    frame.data = Encoder().encode(fields)
    if end_headers:
        frame.flags.add("END_HEADERS")
    if end_stream:
        frame.flags.add("END_STREAM")
    return frame.serialize()


def data(sid, payload, end_stream=False):
    frame = DataFrame(sid)
    frame.data = payload
    if end_stream:
        frame.flags.add("END_STREAM")
    return frame.serialize()


def window_update(sid, increment):
    frame = WindowUpdateFrame(sid)
    frame.window_increment = increment
    return frame.serialize()


def raw(kind, flags, sid, payload):
    return len(payload).to_bytes(3, "big") + bytes([kind, flags]) + sid.to_bytes(4, "big") + payload


def answers(data_out):
    """GOAWAY and RST_STREAM frames in what the server wrote: ('GOAWAY', code) / ('RST', sid, code)."""
    found, view = [], memoryview(data_out)
    while len(view) >= 9:
        length, kind = int.from_bytes(view[:3], "big"), view[3]
        sid = int.from_bytes(view[5:9], "big") & 0x7FFFFFFF
        body = view[9:9 + length]
        if kind == 0x7:
            found.append(("GOAWAY", int.from_bytes(body[4:8], "big")))
        elif kind == 0x3:
            found.append(("RST", sid, int.from_bytes(body[:4], "big")))
        view = view[9 + length:]
    return found


def goaway_codes(data_out):
    """The codes of the GOAWAY frames in what the server wrote."""
    return [found[1] for found in answers(data_out) if found[0] == "GOAWAY"]


def goaway(code=0, last_stream_id=0):
    frame = GoAwayFrame(0)
    frame.last_stream_id = last_stream_id
    frame.error_code = code
    return frame.serialize()
