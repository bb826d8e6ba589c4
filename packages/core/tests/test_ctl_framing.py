"""The control-socket wire format: frames in, messages out, errors on bad input."""

import json
import struct

import pytest

from gunicorn.ctl.framing import (
    MAX_MESSAGE,
    FrameDecoder,
    FramingError,
    encode_frame,
    error_reply,
    make_request,
    ok_reply,
    request_words,
)


def frame(payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + payload


def test_encode_is_length_prefixed_utf8_json():
    data = encode_frame({"id": 1, "command": "show", "args": ["wörkers"]})
    (length,) = struct.unpack(">I", data[:4])
    assert length == len(data) - 4
    assert json.loads(data[4:].decode("utf-8")) == {"id": 1, "command": "show",
                                                    "args": ["wörkers"]}


def test_round_trip_byte_by_byte():
    messages = [{"id": 1, "status": "ok", "data": {"n": 1}}, {"id": 2, "command": "x"}]
    stream = b"".join(encode_frame(m) for m in messages)
    decoder = FrameDecoder()
    out = []
    for i in range(len(stream)):
        out += decoder.feed(stream[i:i + 1])
    assert out == messages
    assert decoder.pending == 0


def test_several_frames_in_one_feed_and_a_partial_tail():
    stream = encode_frame({"id": 1}) + encode_frame({"id": 2}) + encode_frame({"id": 3})[:5]
    decoder = FrameDecoder()
    assert decoder.feed(stream) == [{"id": 1}, {"id": 2}]
    assert decoder.pending == 5
    assert decoder.feed(encode_frame({"id": 3})[5:]) == [{"id": 3}]


def test_header_split_across_feeds():
    data = encode_frame({"id": 7})
    decoder = FrameDecoder()
    assert decoder.feed(data[:2]) == []
    assert decoder.feed(data[2:]) == [{"id": 7}]


def test_oversize_frame_is_refused_from_its_header():
    decoder = FrameDecoder()
    with pytest.raises(FramingError, match="exceeds"):
        decoder.feed(struct.pack(">I", MAX_MESSAGE + 1))


def test_exactly_max_size_is_accepted_by_header():
    decoder = FrameDecoder(max_message=10)
    assert decoder.feed(frame(b'{"a":1234}')) == [{"a": 1234}]
    with pytest.raises(FramingError):
        FrameDecoder(max_message=10).feed(frame(b'{"a":12345}'))


def test_encode_refuses_oversize_message():
    with pytest.raises(FramingError):
        encode_frame({"blob": "x" * (MAX_MESSAGE + 1)})


@pytest.mark.parametrize("payload", [b"{not json", b"\xff\xfe", b"[1, 2]", b"42", b""])
def test_bad_payloads_raise(payload):
    decoder = FrameDecoder()
    with pytest.raises(FramingError):
        decoder.feed(frame(payload))


def test_decoder_refuses_input_after_an_error():
    decoder = FrameDecoder()
    with pytest.raises(FramingError):
        decoder.feed(frame(b"nope"))
    with pytest.raises(FramingError):
        decoder.feed(encode_frame({"id": 1}))


def test_make_request_sends_the_line_as_upstream():
    assert make_request(3, ' worker add "2" ') == {"id": 3, "command": 'worker add "2"',
                                                   "args": []}
    assert make_request(4, "   ") == {"id": 4, "command": "", "args": []}
    with pytest.raises(ValueError):
        make_request(5, 'show "workers')


def test_request_words_accepts_text_or_args():
    assert request_words({"command": "show", "args": ["workers"]}) == ["show", "workers"]
    assert request_words({"command": "worker add 2"}) == ["worker", "add", "2"]
    assert request_words({"command": "worker", "args": ["add", 2]}) == ["worker", "add", "2"]
    for bad in ({"command": 1}, {"command": "x", "args": "y"}, {}):
        with pytest.raises(ValueError):
            request_words(bad)


def test_reply_shapes():
    assert ok_reply(1, {"a": 1}) == {"id": 1, "status": "ok", "data": {"a": 1}}
    assert error_reply(2, "boom") == {"id": 2, "status": "error", "error": "boom"}
