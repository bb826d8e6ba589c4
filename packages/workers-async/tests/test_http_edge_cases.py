"""ASGI http edge cases with raw ASGI apps: disconnects, failures, HEAD, keep-alive off."""

import asyncio
import socket
import time

import pytest
from gunicorn_testsupport import wait_for
from inprocess import InProcessServer, exchange
from ws_raw import handshake

seen = {}


async def app(scope, receive, send):
    if scope["type"] != "http":
        if scope["type"] == "websocket":
            await receive()
            await send({"type": "websocket.accept"})
            await receive()
        return
    path = scope["path"]
    if path == "/wait-disconnect":
        seen["first"] = await receive()
        seen["disconnect"] = await receive()
    elif path == "/stream-forever":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        try:
            for _ in range(100000):
                await send({"type": "http.response.body", "body": b"x" * 4096, "more_body": True})
                await asyncio.sleep(0.001)
        except OSError as exc:
            seen["send_error"] = type(exc).__name__
    elif path == "/ignore-disconnect":
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            seen["cancelled_at"] = time.monotonic()
            raise
    elif path == "/too-large":
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"too large"})
    elif path == "/misuse":
        errors = []
        for message in ({"type": "http.response.body", "body": b"x"},
                        {"type": "http.response.trailers", "headers": []}):
            try:
                await send(message)
            except RuntimeError as exc:
                errors.append(str(exc))
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for message in ({"type": "http.response.start", "status": 200},
                        {"type": "http.response.trailers", "headers": []},
                        {"type": "http.bogus"}):
            try:
                await send(message)
            except RuntimeError as exc:
                errors.append(str(exc))
        await send({"type": "http.response.body", "body": b"done"})
        # ASGI (more_body): after the complete response, messages are ignored.
        await send({"type": "http.response.body", "body": b"again"})
        seen["misuse"] = errors
    elif path == "/no-response":
        return
    elif path == "/fail-midway":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"partial", "more_body": True})
        raise RuntimeError("midway")
    elif path == "/bad-header":
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"x-evil", b"a\r\nInjected: 1")]})
    else:
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"body"})


@pytest.fixture
def server():
    seen.clear()
    with InProcessServer(app, lifespan="off", asgi_disconnect_grace_period=1) as srv:
        yield srv


def test_client_disconnect_reaches_the_app(server):
    s = socket.create_connection(("127.0.0.1", server.port))
    s.sendall(b"GET /wait-disconnect HTTP/1.1\r\nHost: x\r\n\r\n")
    wait_for(lambda: "first" in seen, 5, message="first receive")
    s.close()
    wait_for(lambda: "disconnect" in seen, 5, message="http.disconnect")
    assert seen["first"] == {"type": "http.request", "body": b"", "more_body": False}
    assert seen["disconnect"] == {"type": "http.disconnect"}


def test_send_after_client_went_away_raises_oserror(server):
    s = socket.create_connection(("127.0.0.1", server.port))
    s.sendall(b"GET /stream-forever HTTP/1.1\r\nHost: x\r\n\r\n")
    s.recv(1024)
    s.close()
    wait_for(lambda: "send_error" in seen, 5, message="send after disconnect")
    assert seen["send_error"] == "ClientDisconnected"


def test_app_ignoring_disconnect_is_cancelled_after_grace_period(server):
    s = socket.create_connection(("127.0.0.1", server.port))
    s.sendall(b"GET /ignore-disconnect HTTP/1.1\r\nHost: x\r\n\r\n")
    time.sleep(0.2)
    closed_at = time.monotonic()
    s.close()
    wait_for(lambda: "cancelled_at" in seen, 5, message="cancellation")
    assert 0.8 <= seen["cancelled_at"] - closed_at < 3


def test_app_without_response_is_500(server):
    out = exchange(server.port, b"GET /no-response HTTP/1.1\r\nHost: x\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 500 ")


def test_failure_after_start_cuts_the_connection(server):
    out = exchange(server.port, b"GET /fail-midway HTTP/1.1\r\nHost: x\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 200 ")
    assert b"partial" in out and not out.endswith(b"0\r\n\r\n")


def test_header_injection_refused_with_500(server):
    out = exchange(server.port, b"GET /bad-header HTTP/1.1\r\nHost: x\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 500 ") and b"Injected" not in out


def test_head_has_no_body_and_no_invented_length(server):
    out = exchange(server.port, b"HEAD / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    head, _, body = out.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ") and body == b""
    assert b"Content-Length: 0" not in head


def test_keepalive_zero_closes_after_each_response():
    with InProcessServer(app, lifespan="off", keepalive=0) as srv:
        with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as s:
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            out = b""
            while chunk := s.recv(65536):
                out += chunk
        assert out.endswith(b"body")


def test_idle_keepalive_connection_closed_after_keepalive_seconds():
    with InProcessServer(app, lifespan="off", keepalive=1) as srv:
        with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as s:
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            assert s.recv(65536).endswith(b"body")
            started = time.monotonic()
            assert s.recv(65536) == b""
            assert 0.5 < time.monotonic() - started < 3


def test_keepalive_deadline_moves_with_each_request():
    # One idle timer per connection is re-armed lazily: a client that keeps
    # sending within ``keepalive`` must never be cut, however long it stays.
    with InProcessServer(app, lifespan="off", keepalive=1) as srv:
        with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as s:
            for _ in range(5):
                s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                assert s.recv(65536).endswith(b"body")
                time.sleep(0.6)
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            assert s.recv(65536).endswith(b"body")


def test_websocket_handshake_is_access_logged(server):
    s, head = handshake(server.port, "/ws")
    s.close()
    assert head.startswith(b"HTTP/1.1 101 ")
    wait_for(lambda: any(e[0].startswith("101") for e in server.log.access_entries), 5,
             message="101 access entry")


def test_early_response_before_the_upload_is_read(server):
    # The client reads only after sending its whole body; the server answered
    # without reading it (and closes with a lingering close).
    s = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    size = 2 * 1024 * 1024
    try:
        s.sendall(b"POST /too-large HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % size)
        time.sleep(0.2)
        s.sendall(b"z" * size)
    except OSError:
        pass
    data = b""
    try:
        while chunk := s.recv(65536):
            data += chunk
    except ConnectionResetError:
        pass
    s.close()
    assert data.startswith(b"HTTP/1.1 413 ") and data.endswith(b"too large")


def test_out_of_order_messages_are_refused(server):
    out = exchange(server.port, b"GET /misuse HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 200 ") and out.endswith(b"done")
    assert len(seen["misuse"]) == 5, seen["misuse"]
    assert b"again" not in out
