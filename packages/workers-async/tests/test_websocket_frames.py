"""RFC 6455 framing: parsing, reassembly and every refusal with its close code."""

import struct

import pytest
from ws_client_frames import client_frame, close_frame, parse_server_frame

from gunicorn.asgi import websocket_frames as f


def events(data, max_size=1024):
    reader = f.MessageReader(max_size)
    reader.feed(data)
    return list(reader.events())


def error_code(data, max_size=1024):
    with pytest.raises(f.WebSocketProtocolError) as info:
        events(data, max_size)
    return info.value.close_code


def test_text_and_binary_messages():
    out = events(client_frame(f.OP_TEXT, "héllo".encode()) + client_frame(f.OP_BINARY, b"\x00\x01"))
    assert [type(e) for e in out] == [f.Message, f.Message]
    assert out[0].data == "héllo"
    assert out[1].data == b"\x00\x01"


def test_byte_at_a_time_feeding():
    data = client_frame(f.OP_TEXT, b"x" * 300)
    reader = f.MessageReader(1024)
    got = []
    for i in range(len(data)):
        reader.feed(data[i:i + 1])
        got.extend(reader.events())
    assert len(got) == 1 and got[0].data == "x" * 300


def test_64bit_length_frame():
    payload = b"a" * 70000
    (msg,) = events(client_frame(f.OP_BINARY, payload), max_size=100000)
    assert msg.data == payload


def test_fragmented_message_with_interleaved_ping():
    data = (client_frame(f.OP_TEXT, b"he", fin=False) + client_frame(f.OP_PING, b"p")
            + client_frame(f.OP_CONTINUATION, b"llo"))
    out = events(data)
    assert isinstance(out[0], f.Ping) and out[0].payload == b"p"
    assert out[1].data == "hello"


def test_utf8_split_across_fragments_is_fine():
    raw = "é".encode()
    out = events(client_frame(f.OP_TEXT, raw[:1], fin=False)
                 + client_frame(f.OP_CONTINUATION, raw[1:]))
    assert out[0].data == "é"


def test_invalid_utf8_is_1007():
    assert error_code(client_frame(f.OP_TEXT, b"\xff\xfe")) == 1007


def test_invalid_utf8_detected_before_message_end():
    reader = f.MessageReader(1024)
    reader.feed(client_frame(f.OP_TEXT, b"\xff", fin=False))
    with pytest.raises(f.WebSocketProtocolError):
        list(reader.events())


def test_unmasked_frame_is_1002():
    assert error_code(client_frame(f.OP_TEXT, b"hi", mask=False)) == 1002


def test_oversized_frame_is_1009_from_header_alone():
    assert error_code(client_frame(f.OP_BINARY, b"", length=1 << 40)[:10], max_size=1024) == 1009


def test_oversized_fragmented_message_is_1009():
    data = client_frame(f.OP_BINARY, b"a" * 600, fin=False) + client_frame(f.OP_CONTINUATION, b"b" * 600)
    assert error_code(data) == 1009


@pytest.mark.parametrize("data", [
    client_frame(f.OP_CONTINUATION, b"x"),                       # continuation with no start
    client_frame(f.OP_TEXT, b"a", fin=False) + client_frame(f.OP_TEXT, b"b"),  # new msg mid-fragment
    client_frame(0x3, b""),                                      # reserved opcode
    client_frame(f.OP_TEXT, b"a", rsv=0x40),                     # RSV1 without extension
    client_frame(f.OP_PING, b"x" * 126),                         # control frame too long
    client_frame(f.OP_PING, b"x", fin=False),                    # fragmented control frame
    close_frame(999), close_frame(1005), close_frame(1006), close_frame(2000), close_frame(5000),
    client_frame(f.OP_CLOSE, b"\x03"),                           # 1-byte close payload
], ids=["orphan-continuation", "new-message-mid-fragment", "reserved-opcode", "rsv1-unnegotiated",
        "long-control-frame", "fragmented-control-frame", "close-999", "close-1005", "close-1006",
        "close-2000", "close-5000", "one-byte-close-payload"])
def test_protocol_violations_are_1002(data):
    assert error_code(data) == 1002


def test_close_with_invalid_utf8_reason_is_1007():
    assert error_code(close_frame(1000, b"\xff")) == 1007


@pytest.mark.parametrize("code", [1000, 1001, 1003, 1011, 1014, 3000, 4999])
def test_valid_close_codes(code):
    (close,) = events(close_frame(code, b"bye"))
    assert (close.code, close.reason) == (code, "bye")


def test_empty_close_is_1005():
    (close,) = events(close_frame())
    assert close.code == 1005


def test_server_frames_are_unmasked_and_sized():
    for n in (0, 125, 126, 65535, 65536):
        fin, op, payload, rest = parse_server_frame(f.encode_frame(f.OP_BINARY, b"z" * n))
        assert (fin, op, len(payload), rest) == (True, f.OP_BINARY, n, b"")


def test_close_payload_truncates_reason_to_control_frame_limit():
    payload = f.close_payload(1000, "x" * 300)
    assert len(payload) <= 125 and struct.unpack("!H", payload[:2]) == (1000,)
    assert f.close_payload(None) == b""


def test_unmask_roundtrip():
    key = b"\x01\x02\x03\x04"
    assert f.unmask(f.unmask(b"hello world", key), key) == b"hello world"
