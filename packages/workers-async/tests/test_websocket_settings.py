"""The websocket_* settings: message size cap, keepalive pings, permessage-deflate switch."""

import asyncio
import struct
import time

import pytest
import websockets
from apps.starlette_app import app as starlette_app
from inprocess import InProcessServer
from ws_client_frames import client_frame
from ws_raw import frames, handshake, read_all


@pytest.fixture(scope="module")
def server():
    with InProcessServer(starlette_app, websocket_max_message_size=1000,
                         websocket_ping_interval=1, websocket_ping_timeout=1,
                         websocket_per_message_deflate=False) as srv:
        yield srv


def test_configured_max_size_enforced(server):
    s, head = handshake(server.port)
    s.sendall(client_frame(0x2, b"a" * 500))
    s.settimeout(5)
    assert frames(s.recv(65536)) == [(0x2, b"a" * 500)]
    s.sendall(client_frame(0x2, b"a" * 1001))
    got = frames(read_all(s))
    s.close()
    assert got[-1][0] == 0x8 and struct.unpack("!H", got[-1][1][:2])[0] == 1009


def test_silent_client_is_pinged_then_dropped(server):
    s, head = handshake(server.port)
    started = time.monotonic()
    got = frames(read_all(s, timeout=6))
    s.close()
    assert got[0][0] == 0x9  # ping
    assert got[-1][0] == 0x8 and struct.unpack("!H", got[-1][1][:2])[0] == 1011
    assert 1.5 < time.monotonic() - started < 5


def test_answering_client_stays_and_deflate_is_off(server):
    async def main():
        async with websockets.connect(f"ws://127.0.0.1:{server.port}/ws",
                                      compression="deflate") as ws:
            assert "Sec-WebSocket-Extensions" not in ws.response.headers
            await asyncio.sleep(2.5)  # two ping rounds, answered by the client library
            await ws.send("still here")
            return await ws.recv()
    assert asyncio.run(main()) == "still here"
