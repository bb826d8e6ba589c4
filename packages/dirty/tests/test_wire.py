"""Message framing: header checks, the sans-I/O reader, blocking and asyncio helpers."""

import asyncio
import socket
import struct
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gunicorn.dirty import wire
from gunicorn.dirty.errors import DirtyConnectionError, DirtyProtocolError, DirtyTimeoutError
from gunicorn.dirty.wire import Message, MessageReader, encode_message

ALL_TYPES = [wire.REQUEST, wire.RESPONSE, wire.ERROR, wire.CHUNK, wire.END, wire.STASH,
             wire.STATUS, wire.MANAGE]  # fmt: skip


def test_constants():
    assert (wire.REQUEST, wire.RESPONSE, wire.ERROR, wire.CHUNK, wire.END) == (1, 2, 3, 4, 5)
    assert (wire.STASH, wire.STATUS, wire.MANAGE) == (0x10, 0x11, 0x12)
    assert wire.HEADER_SIZE == 16 and wire.MAX_PAYLOAD == 64 * 1024 * 1024
    assert (wire.STASH_PUT, wire.STASH_TABLES, wire.STASH_EXISTS) == (1, 9, 10)
    assert (wire.MANAGE_ADD, wire.MANAGE_REMOVE) == (1, 2)
    assert [wire.TYPE_NAMES[t] for t in ALL_TYPES] == [
        "request", "response", "error", "chunk", "end", "stash", "status", "manage"
    ]  # fmt: skip


def test_golden_request_bytes():
    data = encode_message(
        wire.REQUEST, 1, {"app_path": "m:C", "action": "act", "args": [1], "kwargs": {"a": True}}
    )
    assert data.hex() == (
        "474401010000005c0000000000000001"
        "210000000411000000086170705f7061746811000000036d3a431100000006616374696f6e"
        "1100000003616374110000000461726773200000000105000000000000000111000000066b77"
        "6172677321000000011100000001610101"
    )


@pytest.mark.parametrize("msg_type", [wire.END, wire.STATUS])
def test_empty_payload_is_zero_bytes(msg_type):
    for payload in (None, {}):
        data = encode_message(msg_type, 7, payload)
        assert data == b"GD\x01" + bytes([msg_type]) + b"\x00" * 4 + struct.pack(">Q", 7)
    reader = MessageReader()
    reader.feed(data)
    assert reader.next_message() == Message(msg_type, 7, {})


def test_message_fields_and_type_name():
    msg = Message(wire.CHUNK, 3, {"data": 1})
    assert (msg.type, msg.request_id, msg.payload, msg.type_name) == (4, 3, {"data": 1}, "chunk")


@pytest.mark.parametrize(
    "args,match",
    [
        ((0x99, 1, None), "unknown message type"),
        ((wire.REQUEST, -1, None), "request id"),
        ((wire.REQUEST, 2**64, None), "request id"),
        ((wire.REQUEST, 1, [1, 2]), "payload must be a dict"),
        ((wire.REQUEST, 1, {"x": object()}), "cannot encode"),
    ],
)
def test_encode_rejects(args, match):
    with pytest.raises(DirtyProtocolError, match=match):
        encode_message(*args)


def test_max_request_id_round_trips():
    reader = MessageReader()
    reader.feed(encode_message(wire.END, 2**64 - 1))
    assert reader.next_message().request_id == 2**64 - 1


def header(magic=b"GD", version=1, msg_type=wire.RESPONSE, length=0, request_id=1):
    return struct.pack(">2sBBIQ", magic, version, msg_type, length, request_id)


@pytest.mark.parametrize(
    "data,match",
    [
        (header(magic=b"XX"), "bad magic"),
        (header(version=2), "version"),
        (header(msg_type=0x07), "unknown message type"),
        (header(length=wire.MAX_PAYLOAD + 1), "exceeds"),
        (header(length=2) + b"\x00\x00", "trailing"),
        (header(length=1) + b"\x00", "payload must be a dict"),
    ],
)
def test_reader_rejects(data, match):
    reader = MessageReader()
    reader.feed(data)
    with pytest.raises(DirtyProtocolError, match=match):
        reader.next_message()


def test_reader_rejects_oversize_length_before_the_body_arrives():
    reader = MessageReader()
    reader.feed(header(length=wire.MAX_PAYLOAD + 1))
    with pytest.raises(DirtyProtocolError):
        reader.next_message()


def test_reader_waits_for_whole_messages():
    data = encode_message(wire.CHUNK, 5, {"data": "abc"})
    reader = MessageReader()
    for byte in data[:-1]:
        reader.feed(bytes([byte]))
        assert reader.next_message() is None
    reader.feed(data[-1:])
    assert reader.next_message() == Message(wire.CHUNK, 5, {"data": "abc"})
    assert reader.next_message() is None and reader.buffered == 0


messages = st.builds(
    Message,
    st.sampled_from(ALL_TYPES),
    st.integers(0, 2**64 - 1),
    st.dictionaries(
        st.text(max_size=8),
        st.none() | st.integers(-(2**63), 2**63 - 1) | st.text(max_size=20) | st.binary(max_size=20),
        max_size=4,
    ),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(messages, max_size=6), st.data())
def test_any_split_gives_the_same_messages(msgs, data):
    stream = b"".join(encode_message(*m) for m in msgs)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=10)))
    reader = MessageReader()
    got = []
    start = 0
    for cut in cuts + [len(stream)]:
        reader.feed(stream[start:cut])
        start = cut
        got.extend(reader)
    assert got == msgs


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=120))
def test_random_bytes_parse_or_raise_protocol_error(data):
    reader = MessageReader()
    reader.feed(b"GD\x01" + data)
    try:
        list(reader)
    except DirtyProtocolError:
        pass
    reader = MessageReader()
    reader.feed(data)
    try:
        list(reader)
    except DirtyProtocolError:
        pass


# -- blocking helpers ---------------------------------------------------------


def test_send_and_recv_over_a_socket_pair():
    a, b = socket.socketpair()
    with a, b:
        wire.send_message(a, wire.REQUEST, 9, {"app_path": "x:Y", "action": "go"})
        wire.send_message(a, wire.END, 9)
        assert wire.recv_message(b) == Message(wire.REQUEST, 9, {"app_path": "x:Y", "action": "go"})
        assert wire.recv_message(b) == Message(wire.END, 9, {})


def test_recv_large_message_in_pieces():
    a, b = socket.socketpair()
    blob = b"z" * (3 * 1024 * 1024)
    with a, b:
        sender = threading.Thread(target=wire.send_message, args=(a, wire.CHUNK, 1, {"data": blob}))
        sender.start()
        assert wire.recv_message(b).payload["data"] == blob
        sender.join(5)


def test_recv_eof_raises_connection_error():
    a, b = socket.socketpair()
    with b:
        a.close()
        with pytest.raises(DirtyConnectionError, match="closed"):
            wire.recv_message(b)


def test_recv_eof_mid_message_raises_connection_error():
    a, b = socket.socketpair()
    with b:
        a.sendall(encode_message(wire.CHUNK, 1, {"data": "abc"})[:-2])
        a.close()
        with pytest.raises(DirtyConnectionError, match="mid-message"):
            wire.recv_message(b)


def test_recv_timeout_raises_timeout_error():
    a, b = socket.socketpair()
    with a, b:
        b.settimeout(0.05)
        with pytest.raises(DirtyTimeoutError):
            wire.recv_message(b)


def test_recv_bad_header_raises_protocol_error():
    a, b = socket.socketpair()
    with a, b:
        a.sendall(b"HTTP/1.1 200 OK\r\n\r\n")
        with pytest.raises(DirtyProtocolError, match="magic"):
            wire.recv_message(b)


# -- asyncio helpers ----------------------------------------------------------


def test_async_read_and_write():
    async def main():
        a, b = socket.socketpair()
        reader_a, writer_a = await asyncio.open_unix_connection(sock=a)
        reader_b, writer_b = await asyncio.open_unix_connection(sock=b)
        await wire.write_message_async(writer_a, wire.STASH, 4, {"op": 9, "table": ""})
        await wire.write_message_async(writer_a, wire.STATUS, 5)
        first = await wire.read_message_async(reader_b)
        second = await wire.read_message_async(reader_b)
        writer_a.close()
        with pytest.raises(DirtyConnectionError):
            await wire.read_message_async(reader_b)
        writer_b.close()
        return first, second

    first, second = asyncio.run(main())
    assert first == Message(wire.STASH, 4, {"op": 9, "table": ""})
    assert second == Message(wire.STATUS, 5, {})


def test_async_read_eof_mid_message():
    async def main():
        reader = asyncio.StreamReader()
        reader.feed_data(encode_message(wire.CHUNK, 1, {"data": "abc"})[:-1])
        reader.feed_eof()
        with pytest.raises(DirtyConnectionError, match="mid-message"):
            await wire.read_message_async(reader)
        reader = asyncio.StreamReader()
        reader.feed_data(b"GD\x01")
        reader.feed_eof()
        with pytest.raises(DirtyConnectionError, match="mid-header"):
            await wire.read_message_async(reader)

    asyncio.run(main())


def test_async_read_bad_header():
    async def main():
        reader = asyncio.StreamReader()
        reader.feed_data(header(version=9))
        with pytest.raises(DirtyProtocolError, match="version"):
            await wire.read_message_async(reader)

    asyncio.run(main())
