"""A client that pipelines requests and never reads cannot make the asgi worker buffer without bound."""

import socket
import time

import pytest
from inprocess import InProcessServer

from gunicorn.asgi.http_connection import WRITE_HIGH_WATER

REQUEST = b"GET /small HTTP/1.1\r\nHost: x\r\n\r\n"
BIG_REQUEST = b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n"
BODY = b"y" * 512
BIG_BODY = b"z" * 32768


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    body = BIG_BODY if scope["path"] == "/big" else BODY
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


@pytest.fixture
def server():
    with InProcessServer(app, lifespan="off", keepalive=30) as srv:
        yield srv


def _flood(sock, seconds):
    """Send pipelined requests until the kernel pushes back or time runs out."""
    sock.setblocking(False)
    batch = REQUEST * 200
    sent = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            sent += sock.send(batch)
        except BlockingIOError:
            time.sleep(0.01)
    return sent


def _peak_write_buffer(server, seconds):
    peak = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for conn in list(server.server.connections):
            if conn.transport is not None:
                peak = max(peak, conn.transport.get_write_buffer_size())
        time.sleep(0.02)
    return peak


def test_unread_pipelined_responses_stay_bounded(server):
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sent = _flood(s, 1.0)
        peak = _peak_write_buffer(server, 0.3)
        # Before the fix every pipelined request was answered into the transport
        # buffer (megabytes within a second); now the next request waits for a drain.
        assert sent > 100 * len(REQUEST)
        assert peak <= WRITE_HIGH_WATER + 4 * len(BODY) + 4096


def test_pipelined_requests_all_answered_once_client_reads(server):
    # Ten megabytes of answers: more than the kernel buffers, so the server
    # stalls on the unread responses and must pick the pipeline up again.
    count = 300
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        s.sendall(BIG_REQUEST * count)
        time.sleep(0.3)
        received = 0
        expected = count * len(BIG_BODY)
        deadline = time.monotonic() + 8
        while received < expected and time.monotonic() < deadline:
            chunk = s.recv(1 << 20)
            if not chunk:
                break
            received += chunk.count(b"z")
    assert received == expected


def test_a_client_that_never_reads_is_let_go_after_the_worker_timeout():
    # Waiting for the drain must not hold the connection forever: after
    # ``timeout`` seconds without reading, the connection is dropped (closing
    # would wait for the unsent answers the client never reads).
    with InProcessServer(app, lifespan="off", keepalive=30, timeout=1) as srv:
        with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            # 13 MB of answers: more than loopback's socket buffers ever take,
            # however slowly this client gets to send (a timed flood may not be).
            s.sendall(BIG_REQUEST * 400)
            time.sleep(0.2)
            assert srv.server.connections
            deadline = time.monotonic() + 5
            while srv.server.connections and time.monotonic() < deadline:
                time.sleep(0.05)
            assert not srv.server.connections


def test_a_response_the_client_never_reads_is_given_up_after_the_worker_timeout():
    # The app's send() waits for the drain while the client reads nothing;
    # that wait is bounded by ``timeout`` too: the connection is dropped and
    # send() raises, instead of holding the app and its buffers forever.
    outcome = []

    async def streaming(scope, receive, send):
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 200, "headers": []})
        try:
            while True:
                await send({"type": "http.response.body", "body": BIG_BODY, "more_body": True})
        except OSError as exc:
            outcome.append(exc)

    with InProcessServer(streaming, lifespan="off", keepalive=30, timeout=1) as srv:
        with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.sendall(BIG_REQUEST)
            deadline = time.monotonic() + 8
            while not outcome and time.monotonic() < deadline:
                time.sleep(0.05)
            assert outcome, "the app's send() still waits on a client that reads nothing"
            assert not srv.server.connections
