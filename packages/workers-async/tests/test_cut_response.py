"""asgi: a response the app abandons after its head must look broken to the client (RFC 9112 section 8)."""

import socket
import time
from pathlib import Path

import pytest
from gunicorn_testsupport import ServerProcess, raw_exchange

TESTS = Path(__file__).parent
pytestmark = pytest.mark.timeout(60)

APP = '''
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"first part\\n", "more_body": True})
    raise RuntimeError("the app failed mid-body")
'''


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cut")
    (folder / "cut_app.py").write_text(APP)
    with ServerProcess("-k", "asgi", "--asgi-lifespan", "off", "cut_app:app", cwd=folder) as srv:
        yield srv


def test_close_delimited_response_cut_by_the_app_ends_in_a_reset(server):
    data, ending = raw_exchange(server.port, b"GET / HTTP/1.0\r\n\r\n")
    assert ending == "reset", data


def test_chunked_response_cut_by_the_app_ends_in_a_plain_close(server):
    data, ending = raw_exchange(server.port, b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
    assert ending == "eof", data
    assert data.startswith(b"HTTP/1.1 200 OK\r\n") and b"first part" in data
    assert not data.endswith(b"0\r\n\r\n")


SLOW_STREAM = '''
import asyncio

async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain")]})
    for _ in range(50):
        await send({"type": "http.response.body", "body": b"x" * 10, "more_body": True})
        await asyncio.sleep(0.05)
    await send({"type": "http.response.body", "body": b""})
'''


def test_a_response_the_client_leaves_is_still_in_the_access_log(tmp_path):
    # As for any other answered request (and as upstream logs it): an operator
    # must see requests whose client went away mid-response.
    (tmp_path / "slow_stream.py").write_text(SLOW_STREAM)
    with ServerProcess("-k", "asgi", "--asgi-lifespan", "off", "--access-logfile", "-",
                       "slow_stream:app", cwd=tmp_path) as srv:
        with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as sock:
            sock.sendall(b"GET /left-early HTTP/1.1\r\nHost: h\r\n\r\n")
            assert sock.recv(65536).startswith(b"HTTP/1.1 200")
        deadline = time.monotonic() + 10
        while "GET /left-early" not in srv.log and time.monotonic() < deadline:
            time.sleep(0.1)
        log = srv.log
    line = next((row for row in log.splitlines() if "GET /left-early" in row), None)
    assert line is not None, log
    assert '" 200 ' in line, line
