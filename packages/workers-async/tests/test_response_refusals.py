"""An ASGI response refused before any byte reached the wire becomes a 500, never a silent close."""


import pytest
from inprocess import InProcessServer, exchange

BAD_STARTS = {
    "/status-99": {"status": 99, "headers": []},
    "/status-1000": {"status": 1000, "headers": []},
    "/cl-not-a-number": {"status": 200, "headers": [(b"content-length", b"abc")]},
    "/cl-conflict": {"status": 200, "headers": [(b"content-length", b"2"),
                                               (b"content-length", b"3")]},
}
BAD_BODIES = {
    "/str-body": "text",
    "/int-body": 5,
}


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    path = scope["path"]
    if path in BAD_STARTS:
        await send({"type": "http.response.start", **BAD_STARTS[path]})
        await send({"type": "http.response.body", "body": b"ok"})
    elif path.startswith("/streamed"):
        # Same refusal with the head sent ahead of a streamed body.
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-length", b"x")]})
        await send({"type": "http.response.body", "body": b"o", "more_body": True})
        await send({"type": "http.response.body", "body": b"k"})
    elif path in BAD_BODIES:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": BAD_BODIES[path]})
    elif path == "/bytearray-body":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": bytearray(b"ba")})
    else:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"fine"})


@pytest.fixture(scope="module")
def server():
    with InProcessServer(app, lifespan="off") as srv:
        yield srv


@pytest.mark.timeout(20)
@pytest.mark.parametrize("path", sorted(BAD_STARTS) + sorted(BAD_BODIES) + ["/streamed"])
def test_refused_response_is_a_500_and_the_connection_closes(server, path):
    out = exchange(server.port, b"GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % path.encode())
    assert out.startswith(b"HTTP/1.1 500 "), out
    assert b"Connection: close\r\n" in out and b"Traceback" not in out
    # The server closed (exchange returned on EOF, not on its timeout) after one answer.
    assert out.count(b"HTTP/1.1 ") == 1


@pytest.mark.timeout(20)
def test_bytearray_body_is_accepted(server):
    out = exchange(server.port, b"GET /bytearray-body HTTP/1.1\r\nHost: x\r\n"
                                b"Connection: close\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 200 ") and out.endswith(b"\r\n\r\nba")
