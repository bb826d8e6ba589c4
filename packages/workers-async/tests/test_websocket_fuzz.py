"""Any bytes either parse into WebSocket events or raise WebSocketProtocolError, in any split."""

from hypothesis import given, settings
from hypothesis import strategies as st
from ws_client_frames import client_frame

from gunicorn.asgi import websocket_frames as f
from gunicorn.asgi.websocket_deflate import negotiate


def drain(reader, chunks):
    out = []
    for chunk in chunks:
        reader.feed(chunk)
        out.extend(reader.events())
    return out


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=64), max_size=8), st.booleans())
def test_arbitrary_bytes_parse_or_raise_protocol_error(chunks, deflate):
    inflater = negotiate(["permessage-deflate"])[1] if deflate else None
    reader = f.MessageReader(256, inflater)
    try:
        events = drain(reader, chunks)
    except f.WebSocketProtocolError as exc:
        assert exc.close_code in (1002, 1007, 1009)
        return
    for event in events:
        assert isinstance(event, (f.Message, f.Ping, f.Pong, f.Close))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.text(max_size=50), st.binary(max_size=50)), min_size=1, max_size=5),
       st.integers(min_value=1, max_value=7))
def test_valid_messages_survive_any_split(messages, step):
    data = b"".join(client_frame(0x1 if isinstance(m, str) else 0x2,
                                 m.encode() if isinstance(m, str) else m) for m in messages)
    chunks = [data[i:i + step] for i in range(0, len(data), step)]
    events = drain(f.MessageReader(1024), chunks)
    assert [e.data for e in events] == messages
