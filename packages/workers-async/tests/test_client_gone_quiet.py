"""Clients that leave mid-response: routine for the server, never an error traceback.

Found by the differential audit against uvicorn 0.54: with ASGI http 2.4,
Starlette's StreamingResponse turns the OSError that ``send()`` raises into its
own ``ClientDisconnect`` and lets it escape, so every dropped SSE/stream logged a
traceback at ERROR (uvicorn and upstream log nothing). WebSocket: a second
``receive()`` after ``websocket.disconnect`` repeats the same message.
"""

import asyncio
import socket
import threading
import time

import websockets
from inprocess import InProcessServer
from starlette.applications import Starlette
from starlette.responses import StreamingResponse
from starlette.routing import Route

STREAM_ENDED = threading.Event()


async def endless(request):
    async def gen():
        try:
            while True:
                yield b"x" * 1024
                await asyncio.sleep(0.01)
        finally:
            STREAM_ENDED.set()
    return StreamingResponse(gen(), media_type="text/plain")


def _raising(kind):
    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": []})
        while True:
            try:
                await send({"type": "http.response.body", "body": b"x" * 1024,
                            "more_body": True})
            except OSError as exc:
                if kind == "chained":
                    raise LookupError("the app's own wrapper") from exc
                raise
            await asyncio.sleep(0.01)
    return app


starlette_app = Starlette(routes=[Route("/endless", endless)])


def _read_then_leave(port, path):
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"GET " + path + b" HTTP/1.1\r\nHost: x\r\n\r\n")
        assert s.recv(100).startswith(b"HTTP/1.1 200")
        time.sleep(0.1)


def _errors(log):
    return [m for level, m in log.messages if level in ("error", "exception")]


def test_starlette_stream_dropped_by_client_logs_no_error():
    STREAM_ENDED.clear()
    with InProcessServer(starlette_app) as srv:
        _read_then_leave(srv.port, b"/endless")
        assert STREAM_ENDED.wait(5), "the generator kept running after the client left"
        time.sleep(0.2)  # the cycle's task finishes after the generator's finally
        assert _errors(srv.log) == []
        assert any("went away" in m for level, m in srv.log.messages if level == "debug")


def test_app_wrapping_the_disconnect_error_logs_no_error():
    with InProcessServer(_raising("chained")) as srv:
        _read_then_leave(srv.port, b"/")
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not any(
                "went away" in m for _, m in srv.log.messages):
            time.sleep(0.05)
        assert _errors(srv.log) == []
        assert any("went away" in m for _, m in srv.log.messages)


async def _ws_app(scope, receive, send):
    if scope["type"] != "websocket":
        return
    await receive()
    await send({"type": "websocket.accept"})
    first = await receive()
    second = await receive()
    await send_result(first, second)


RESULTS = []


async def send_result(first, second):
    RESULTS.append((first, second))


def test_websocket_receive_after_disconnect_repeats_the_close():
    RESULTS.clear()
    with InProcessServer(_ws_app) as srv:
        async def main():
            async with websockets.connect(f"ws://127.0.0.1:{srv.port}/") as ws:
                await ws.close(code=4005, reason="client bye")
        asyncio.run(main())
        deadline = time.monotonic() + 5
        while not RESULTS and time.monotonic() < deadline:
            time.sleep(0.05)
    first, second = RESULTS[0]
    assert first == {"type": "websocket.disconnect", "code": 4005, "reason": "client bye"}
    assert second == first


async def _long_reason_app(scope, receive, send):
    if scope["type"] != "websocket":
        return
    await receive()
    await send({"type": "websocket.accept"})
    # 200 UTF-8 bytes: more than a close frame holds (RFC 6455 section 5.5).
    await send({"type": "websocket.close", "code": 4000, "reason": "\u00e9" * 100})


def test_websocket_long_close_reason_is_cut_on_a_character_boundary():
    # Cut at byte 123 it split a 2-byte character: the client failed the
    # connection (1007, invalid UTF-8) instead of reading the close.
    with InProcessServer(_long_reason_app) as srv:
        async def main():
            async with websockets.connect(f"ws://127.0.0.1:{srv.port}/") as ws:
                try:
                    await ws.recv()
                except websockets.ConnectionClosed as exc:
                    return exc.rcvd
        rcvd = asyncio.run(main())
    assert rcvd is not None and rcvd.code == 4000
    assert rcvd.reason == "\u00e9" * 61


def _declared_length_app(declared, parts):
    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-length", declared)]})
        for i, part in enumerate(parts):
            await send({"type": "http.response.body", "body": part,
                        "more_body": i < len(parts) - 1})
    return app


def _warnings(log):
    return [m for level, m in log.messages if level == "warning"]


def test_body_shorter_or_longer_than_its_content_length_is_logged():
    # uvicorn raises "Response content shorter/longer than Content-Length" into
    # the app; we already cut the body and close the connection, but said nothing,
    # so the client's truncated response left no trace on the server.
    for declared, parts, sent in ((b"10", [b"abc"], 3), (b"2", [b"abc", b"def"], 6)):
        with InProcessServer(_declared_length_app(declared, parts), lifespan="off") as srv:
            with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as s:
                s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                s.recv(65536)
            deadline = time.monotonic() + 5
            while not _warnings(srv.log) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert len(_warnings(srv.log)) == 1, srv.log.messages
            message = _warnings(srv.log)[0]
            assert f"Content-Length {declared.decode()}" in message and f"{sent} " in message


def test_matching_content_length_closing_connection_logs_nothing():
    with InProcessServer(_declared_length_app(b"3", [b"abc"]), lifespan="off") as srv:
        with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as s:
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            assert s.recv(65536).endswith(b"abc")
            s.sendall(b"HEAD / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as s:
            s.sendall(b"HEAD / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            s.recv(65536)
        time.sleep(0.2)
    assert _warnings(srv.log) == []


def test_failed_startup_that_reraises_is_reported_once():
    # Starlette sends lifespan.startup.failed with the traceback, then re-raises:
    # the traceback was logged twice ("Exception in ASGI lifespan" and the failure);
    # uvicorn reports it once.
    from inprocess import RecordingLog

    from gunicorn.asgi.lifespan import Lifespan, LifespanFailure

    async def app(scope, receive, send):
        await receive()
        try:
            raise ConnectionError("database unreachable")
        except ConnectionError:
            await send({"type": "lifespan.startup.failed",
                        "message": "ConnectionError: database unreachable"})
            raise

    log = RecordingLog()

    async def main():
        ls = Lifespan(app, "auto", log)
        try:
            await ls.startup()
        except LifespanFailure as exc:
            return str(exc)
        await asyncio.sleep(0)

    assert "database unreachable" in asyncio.run(main())
    assert _errors(log) == []
