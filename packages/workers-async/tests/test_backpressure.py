"""Neither a slow reader nor a large upload makes the server buffer without bound."""

import asyncio
import socket
import threading
import time

import pytest
from inprocess import InProcessServer

from gunicorn.asgi.http_connection import WRITE_HIGH_WATER
from gunicorn.asgi.http_cycle import BODY_HIGH_WATER

RESPONSE_SIZE = 32 * 1024 * 1024
UPLOAD_SIZE = 32 * 1024 * 1024


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    if scope["path"] == "/big":
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-length", str(RESPONSE_SIZE).encode())]})
        chunk = b"x" * 65536
        for _ in range(RESPONSE_SIZE // len(chunk)):
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
    else:
        await asyncio.sleep(0.5)  # the app is busy before it reads the upload
        total = 0
        while True:
            message = await receive()
            total += len(message.get("body", b""))
            if not message.get("more_body"):
                break
        body = str(total).encode()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})


@pytest.fixture
def server():
    with InProcessServer(app, lifespan="off") as srv:
        yield srv


def connection(server):
    (conn,) = list(server.server.connections)
    return conn


def test_slow_reader_does_not_grow_write_buffer(server):
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        s.sendall(b"GET /big HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        peak = 0
        deadline = time.monotonic() + 0.6
        while time.monotonic() < deadline:
            if server.server.connections:
                peak = max(peak, connection(server).transport.get_write_buffer_size())
            time.sleep(0.02)
        # One send may overshoot the mark by a chunk (and framing), never by much more.
        assert 0 < peak <= WRITE_HIGH_WATER + 2 * 65536
        received = 0
        while chunk := s.recv(1 << 20):
            received += len(chunk)
    assert received > RESPONSE_SIZE


def test_upload_not_buffered_while_app_is_busy(server):
    s = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 65536)
    head = b"POST /up HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: %d\r\n\r\n"
    payload = b"y" * UPLOAD_SIZE

    def upload():
        s.sendall(head % UPLOAD_SIZE)
        s.sendall(payload)

    sender = threading.Thread(target=upload, daemon=True)
    sender.start()
    peak = 0
    deadline = time.monotonic() + 0.4
    while time.monotonic() < deadline:
        for conn in list(server.server.connections):
            if conn.cycle is not None:
                peak = max(peak, conn.cycle._buffered)
        time.sleep(0.01)
    assert 0 < peak <= BODY_HIGH_WATER + 512 * 1024
    sender.join(20)
    data = b""
    while chunk := s.recv(65536):
        data += chunk
    s.close()
    assert data.endswith(str(UPLOAD_SIZE).encode())
