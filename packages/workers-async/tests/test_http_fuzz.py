"""Arbitrary request bytes never crash the asgi server nor leak a traceback."""

import socket

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from inprocess import InProcessServer


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


@pytest.fixture(scope="module")
def server():
    with InProcessServer(app, lifespan="off") as srv:
        yield srv


PREFIXES = [b"", b"GET / HTTP/1.1\r\n", b"POST / HTTP/1.1\r\nHost: x\r\n",
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(PREFIXES), st.binary(max_size=200))
def test_any_bytes_get_http_or_nothing(server, prefix, tail):
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
        s.sendall(prefix + tail)
        s.shutdown(socket.SHUT_WR)
        data = b""
        try:
            while chunk := s.recv(65536):
                data += chunk
        except (ConnectionResetError, TimeoutError):
            pass
    assert data == b"" or data.startswith(b"HTTP/1.1 ") or data.startswith(b"HTTP/1.0 ")
    assert b"Traceback" not in data
    assert not [m for level, m in server.log.messages if level == "exception"]
