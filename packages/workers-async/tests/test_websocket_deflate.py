"""permessage-deflate negotiation, round trips and the bomb guard."""

from ws_client_frames import client_frame

from gunicorn.asgi import websocket_frames as f
from gunicorn.asgi.websocket_deflate import negotiate


def test_negotiation_answers_the_offer():
    header, inflater, deflater = negotiate(
        ["x-unknown", "permessage-deflate; client_max_window_bits; server_no_context_takeover"])
    assert header == "permessage-deflate; server_no_context_takeover"
    assert deflater.no_context_takeover


def test_unacceptable_offers_declined():
    assert negotiate(["permessage-deflate; server_max_window_bits=8"]) is None
    assert negotiate(["permessage-deflate; bogus=1"]) is None
    assert negotiate(["permessage-deflate; server_max_window_bits=20"]) is None


def test_compressed_roundtrip_through_reader():
    _, inflater, deflater = negotiate(["permessage-deflate"])
    compressed = deflater.deflate(("hello " * 100).encode())
    assert len(compressed) < 100
    reader = f.MessageReader(10000, inflater)
    reader.feed(client_frame(f.OP_TEXT, compressed, rsv=0x40))
    (msg,) = list(reader.events())
    assert msg.data == "hello " * 100


def test_compression_bomb_is_1009():
    import pytest
    _, inflater, deflater = negotiate(["permessage-deflate"])
    compressed = deflater.deflate(b"\x00" * 1_000_000)
    reader = f.MessageReader(1000, inflater)
    reader.feed(client_frame(f.OP_BINARY, compressed, rsv=0x40))
    with pytest.raises(f.WebSocketProtocolError) as info:
        list(reader.events())
    assert info.value.close_code == 1009
