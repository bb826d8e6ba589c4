"""WebSocket over the asgi server: a real client, then RFC 6455 misbehaviour by hand."""

import asyncio
import struct

import pytest
import websockets
from apps.starlette_app import app as starlette_app
from inprocess import InProcessServer
from ws_client_frames import client_frame, close_frame
from ws_raw import frames, handshake, read_all

from gunicorn.asgi import websocket_session


@pytest.fixture(scope="module")
def server():
    with InProcessServer(starlette_app) as srv:
        yield srv


def ws_url(server, path="/ws"):
    return f"ws://127.0.0.1:{server.port}{path}"


def test_echo_with_websockets_client(server):
    async def main():
        async with websockets.connect(ws_url(server), subprotocols=["chat"]) as ws:
            assert ws.subprotocol == "chat"
            await ws.send("hello")
            assert await ws.recv() == "hello"
            await ws.send(b"\x00\x01binary")
            assert await ws.recv() == b"\x00\x01binary"
            big = "x" * 300000
            await ws.send(big)
            assert await ws.recv() == big
            await ws.ping()
    asyncio.run(main())


def test_permessage_deflate_negotiated(server):
    async def main():
        async with websockets.connect(ws_url(server), compression="deflate") as ws:
            assert "permessage-deflate" in ws.response.headers.get("Sec-WebSocket-Extensions", "")
            for text in ("a" * 10000, "hello", "b" * 100):
                await ws.send(text)
                assert await ws.recv() == text
    asyncio.run(main())


def test_server_close_code_and_reason(server):
    async def main():
        async with websockets.connect(ws_url(server)) as ws:
            await ws.send("close-me")
            with pytest.raises(websockets.ConnectionClosed) as info:
                await ws.recv()
            assert info.value.rcvd.code == 4000 and info.value.rcvd.reason == "asked"
    asyncio.run(main())


def test_close_before_accept_is_403(server):
    s, head = handshake(server.port, "/ws-deny")
    s.close()
    assert head.startswith(b"HTTP/1.1 403 ")


def test_bad_version_is_426(server):
    s, head = handshake(server.port, extra=b"Sec-WebSocket-Version: 8\r\n")
    s.close()
    # two version headers (13 and 8) are refused the same way as a wrong one
    assert head.startswith(b"HTTP/1.1 426 ")
    assert b"Sec-WebSocket-Version: 13" in head


def expect_close(server, payload, code):
    s, head = handshake(server.port)
    assert head.startswith(b"HTTP/1.1 101 "), head
    s.sendall(payload)
    data = read_all(s)
    s.close()
    got = frames(data)
    assert got and got[-1][0] == 0x8, got
    assert struct.unpack("!H", got[-1][1][:2])[0] == code


def test_invalid_utf8_text_closes_1007(server):
    expect_close(server, client_frame(0x1, b"\xc3\x28"), 1007)


def test_oversized_frame_closes_1009(server):
    # Only the header: the size alone is enough to refuse it.
    header = client_frame(0x2, b"", length=websocket_session.MAX_MESSAGE_SIZE + 1)[:10]
    expect_close(server, header, 1009)


def test_unmasked_client_frame_closes_1002(server):
    expect_close(server, client_frame(0x1, b"hi", mask=False), 1002)


@pytest.mark.parametrize("code", [999, 1004, 1005, 1006, 1015, 2999, 5000])
def test_bad_close_codes_close_1002(server, code):
    expect_close(server, close_frame(code), 1002)


def test_ping_answered_and_close_echoed(server):
    s, head = handshake(server.port)
    s.sendall(client_frame(0x9, b"are you there") + close_frame(1000, b"bye"))
    got = frames(read_all(s))
    s.close()
    assert got[0] == (0xA, b"are you there")
    assert got[-1][0] == 0x8 and struct.unpack("!H", got[-1][1][:2])[0] == 1000


def test_fragmented_text_reassembled(server):
    s, head = handshake(server.port)
    s.sendall(client_frame(0x1, b"frag", fin=False) + client_frame(0x0, b"mented"))
    s.settimeout(5)
    first = s.recv(65536)
    s.sendall(close_frame(1000))
    got = frames(first + read_all(s))
    s.close()
    assert got[0] == (0x1, b"fragmented")
