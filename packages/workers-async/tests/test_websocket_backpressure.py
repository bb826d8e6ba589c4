"""A WebSocket app that does not receive makes the server stop reading, not buffer."""

import asyncio
import threading
import time

import pytest
from inprocess import InProcessServer
from ws_client_frames import client_frame
from ws_raw import handshake

from gunicorn.asgi.websocket_session import INBOX_HIGH_WATER


async def app(scope, receive, send):
    if scope["type"] != "websocket":
        return
    await receive()
    await send({"type": "websocket.accept"})
    await asyncio.sleep(1.0)  # busy: not receiving
    count = 0
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            return
        count += 1
        if count == 200:
            await send({"type": "websocket.send", "text": "got 200"})


@pytest.fixture
def server():
    with InProcessServer(app, lifespan="off") as srv:
        yield srv


def test_inbox_bounded_while_app_is_busy(server):
    s, head = handshake(server.port)
    assert head.startswith(b"HTTP/1.1 101 ")
    frame = client_frame(0x2, b"m" * 65536)

    def flood():
        try:
            for _ in range(200):
                s.sendall(frame)
        except OSError:
            pass
    sender = threading.Thread(target=flood, daemon=True)
    sender.start()
    peak = 0
    deadline = time.monotonic() + 0.8
    while time.monotonic() < deadline:
        for conn in list(server.server.connections):
            if conn.websocket is not None:
                peak = max(peak, len(conn.websocket._inbox))
        time.sleep(0.01)
    # One read may carry a few frames past the mark, never the whole flood.
    assert 0 < peak <= INBOX_HIGH_WATER + 8
    sender.join(10)
    s.settimeout(10)
    data = s.recv(65536)
    s.close()
    assert b"got 200" in data
