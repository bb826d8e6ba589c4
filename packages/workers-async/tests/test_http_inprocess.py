"""The asgi server's HTTP/1.1 behaviour, served in-process to real clients."""

import socket
import time

import httpx
import pytest
from apps.starlette_app import app as starlette_app
from inprocess import InProcessServer


@pytest.fixture(scope="module")
def server():
    with InProcessServer(starlette_app) as srv:
        yield srv


def test_simple_get_and_keepalive_reuse(server):
    with httpx.Client() as client:
        r1 = client.get(server.url("/"))
        r2 = client.get(server.url("/"))
    assert r1.status_code == 200 and r1.text == "hello"
    assert r2.text == "hello"
    assert r1.headers["content-length"] == "5"
    assert "date" in r1.headers and r1.headers["server"].startswith("gunicorn")


def test_lifespan_state_reaches_requests(server):
    assert httpx.get(server.url("/state")).text == "hello from lifespan"


def test_streaming_response_is_chunked(server):
    r = httpx.get(server.url("/stream"))
    assert r.text == "".join(f"chunk-{i}\n" for i in range(5))
    assert r.headers["transfer-encoding"] == "chunked"


def test_request_body_echo_content_length_and_chunked(server):
    body = b"0123456789" * 50000
    r = httpx.post(server.url("/echo"), content=body)
    assert r.content == body and r.headers["x-received"] == str(len(body))

    def gen():
        for _ in range(10):
            yield b"a" * 1000
    r = httpx.post(server.url("/echo"), content=gen())
    assert r.content == b"a" * 10000


def test_scope_path_query_and_headers(server):
    r = httpx.get(server.url("/info/caf%C3%A9/x%20y?q=1&r=%2F"), headers={"X-Thing": "v"})
    data = r.json()
    assert data["path"] == "/info/café/x y"
    assert data["raw_path"] == "/info/caf%C3%A9/x%20y"
    assert data["query"] == "q=1&r=%2F"
    assert data["headers"]["x-thing"] == "v"
    assert data["http_version"] == "1.1" and data["scheme"] == "http"
    assert data["client"][0] == "127.0.0.1"
    assert data["spec_version"] == "2.4"


def test_app_exception_is_500_without_traceback(server):
    r = httpx.get(server.url("/boom"))
    assert r.status_code == 500
    assert "Traceback" not in r.text and "boom" not in r.text


def test_trailers_sent_when_chunked(server):
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
        s.sendall(b"GET /trailers/ HTTP/1.1\r\nHost: x\r\nTE: trailers\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    assert b"Transfer-Encoding: chunked" in data
    assert data.endswith(b"0\r\nx-checksum: abc\r\n\r\n")


def test_parse_error_gets_status_and_no_traceback(server):
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n")
        data = s.recv(65536)
    assert data.startswith(b"HTTP/1.1 400 ")
    assert b"Traceback" not in data


def test_pipelined_requests_answered_in_order(server):
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
        s.sendall(b"GET /info/a HTTP/1.1\r\nHost: x\r\n\r\n"
                  b"GET /info/b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    assert data.count(b"HTTP/1.1 200") == 2
    assert data.index(b'"/info/a"') < data.index(b'"/info/b"')


def test_expect_100_continue(server):
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
        s.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n"
                  b"Expect: 100-continue\r\nConnection: close\r\n\r\n")
        interim = s.recv(65536)
        assert interim.startswith(b"HTTP/1.1 100 Continue\r\n")
        s.sendall(b"ping")
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    assert data.startswith(b"HTTP/1.1 200") and data.endswith(b"ping")


def test_access_log_entry(server):
    httpx.get(server.url("/?a=b"))
    time.sleep(0.05)
    statuses = [(status, uri) for status, _, uri, _ in server.log.access_entries]
    assert ("200 OK", "/?a=b") in statuses


def test_http10_close_delimited(server):
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
        s.sendall(b"GET /stream HTTP/1.0\r\n\r\n")
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    assert data.startswith(b"HTTP/1.0 200") or data.startswith(b"HTTP/1.1 200")
    assert b"chunk-4" in data and b"Transfer-Encoding" not in data


def test_file_response_uses_pathsend(server, monkeypatch):
    from gunicorn.asgi import http_cycle

    calls = []
    original = http_cycle.HTTPCycle._pathsend_message

    async def spy(self, message):
        calls.append(message["path"])
        await original(self, message)
    monkeypatch.setattr(http_cycle.HTTPCycle, "_pathsend_message", spy)
    import apps.starlette_app as module
    r = httpx.get(server.url("/file"))
    assert r.status_code == 200
    with open(module.__file__, "rb") as fh:
        assert r.content == fh.read()
    assert r.headers["content-length"] == str(len(r.content))
    assert calls, "Starlette did not use http.response.pathsend"


def test_a_non_websocket_upgrade_is_served_as_plain_http(server):
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
        for _ in range(2):  # the connection stays usable
            s.sendall(b"GET /info/x HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\n"
                      b"Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n")
            data = b""
            while b"\r\n\r\n" not in data:
                data += s.recv(65536)
            head, _, body = data.partition(b"\r\n\r\n")
            length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
            while len(body) < length:
                body += s.recv(65536)
            assert head.startswith(b"HTTP/1.1 200")
            assert b'"upgrade":"h2c"' in body
