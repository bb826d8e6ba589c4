"""start_response/write semantics and response validation, through the serve driver."""

import socket
import sys

import pytest
from wsgi_support import PieceSocket, make_cfg, parse_responses, serve_bytes

from gunicorn.http.errors import InvalidResponseHeader
from gunicorn.wsgi.response import check_header, parse_status

GET = b"GET /p HTTP/1.1\r\nHost: h\r\n\r\n"
HEAD = b"HEAD /p HTTP/1.1\r\nHost: h\r\n\r\n"


def app_with(status="200 OK", headers=None, body=(b"hello",)):
    def app(environ, start_response):
        start_response(status, list(headers or [("Content-Type", "text/plain")]))
        return list(body)
    return app


def one(app, raw=GET, **kw):
    sock, worker = serve_bytes(app, raw, **kw)
    responses = parse_responses(sock.out)
    assert len(responses) == 1, responses
    return responses[0], sock, worker


def test_simple_response():
    (code, headers, body), sock, worker = one(app_with())
    assert code == 200 and body == b"hello"
    assert headers["connection"] == "close"
    assert headers["transfer-encoding"] == "chunked"
    resp = worker.log.accesses[0][0]
    assert resp.status == "200 OK" and resp.status_code == 200
    assert resp.sent == 5
    assert ("Content-Type", "text/plain") in resp.headers
    assert sock.closed


@pytest.mark.parametrize("name", ["Bad Name", "X:Y", "X\r\nInjected", "", "Näme", "X\x00"])
def test_bad_header_names_give_500(name):
    (code, headers, body), sock, worker = one(app_with(headers=[(name, "v")]))
    assert code == 500
    assert b"Injected" not in bytes(sock.out).split(b"\r\n\r\n")[0].replace(b"500", b"")
    assert b"Traceback" not in bytes(sock.out)
    assert worker.log.levels("exception")


@pytest.mark.parametrize("value", ["a\r\nSet-Cookie: x=1", "a\nb", "a\rb", "a\x00b", "a\x7f"])
def test_bad_header_values_give_500(value):
    (code, headers, body), sock, _ = one(app_with(headers=[("X-Ok", value)]))
    assert code == 500
    assert b"Set-Cookie" not in bytes(sock.out)
    assert "x-ok" not in headers


@pytest.mark.parametrize("name", ["Transfer-Encoding", "Keep-Alive", "Upgrade", "TE",
                                  "Proxy-Connection"])
def test_hop_by_hop_headers_are_left_out(name):
    (code, headers, body), _, _ = one(app_with(headers=[(name, "chunked"),
                                                        ("Content-Length", "5")]))
    assert code == 200 and body == b"hello"
    assert name.lower() not in headers


def test_app_transfer_encoding_does_not_change_the_framing():
    # A proxying app copying its upstream's "Transfer-Encoding: chunked" over a
    # plain body: the server frames it, once.
    (code, headers, body), _, _ = one(app_with(headers=[("Transfer-Encoding", "chunked")]))
    assert code == 200 and body == b"hello"


def test_proxy_authenticate_is_end_to_end():
    (code, headers, _), _, _ = one(app_with(status="407 Proxy Authentication Required",
                                            headers=[("Proxy-Authenticate", "Basic")]))
    assert code == 407 and headers["proxy-authenticate"] == "Basic"


def test_connection_close_from_app_is_honoured():
    def app(environ, start_response):
        start_response("200 OK", [("Connection", "close"), ("Content-Length", "2")])
        return [b"ok"]
    raw = GET + GET
    sock, worker = serve_bytes(app, raw, keepalive=True)
    responses = parse_responses(sock.out)
    assert len(responses) == 1
    assert responses[0][1]["connection"] == "close"


@pytest.mark.parametrize("status", ["OK", "20 OK", "2000 OK", "200\r\nX: y", "099 Low",
                                    "100 Continue", b"200 OK", 200, "200 \u2713"])
def test_bad_status_gives_500(status):
    (code, _, _), _, _ = one(app_with(status=status))
    assert code == 500


def test_parse_status():
    assert parse_status("404 Not Found") == (404, "Not Found")
    assert parse_status("200") == (200, "")
    assert parse_status("599 Custom Thing") == (599, "Custom Thing")
    with pytest.raises(InvalidResponseHeader):
        parse_status("200 OK\n")
    check_header("X-Fine", "tab\tis allowed")


def test_start_response_twice_without_exc_info_is_an_error():
    def app(environ, start_response):
        start_response("200 OK", [])
        start_response("201 Created", [])
        return [b"x"]
    (code, _, _), _, _ = one(app)
    assert code == 500


def test_exc_info_before_headers_sent_replaces_status():
    def app(environ, start_response):
        start_response("200 OK", [("X-First", "1")])
        try:
            raise ValueError("oops")
        except ValueError:
            start_response("503 Service Unavailable", [("X-Second", "2")], sys.exc_info())
        return [b"down"]
    (code, headers, body), _, _ = one(app)
    assert code == 503 and body == b"down"
    assert "x-first" not in headers and headers["x-second"] == "2"


def test_exc_info_after_headers_sent_reraises_and_closes():
    def app(environ, start_response):
        write = start_response("200 OK", [("Content-Length", "10")])
        write(b"12345")
        try:
            raise KeyError("late")
        except KeyError:
            start_response("500 Internal Server Error", [], sys.exc_info())
        return [b"never"]
    sock, worker = serve_bytes(app, GET)
    out = bytes(sock.out)
    assert out.startswith(b"HTTP/1.1 200 OK")
    assert out.endswith(b"12345")
    assert b"500" not in out
    assert sock.closed
    assert any("late" in m or "Error handling" in m for m in worker.log.levels("exception"))


def test_write_callable_and_iterable_mix():
    def app(environ, start_response):
        write = start_response("200 OK", [])
        write(b"a")
        write(b"")
        return [b"b", b"", b"c"]
    (code, _, body), sock, _ = one(app)
    assert body == b"abc"


def test_short_content_length_closes_without_end_marker():
    def app(environ, start_response):
        start_response("200 OK", [("Content-Length", "10")])
        return [b"short"]
    sock, worker = serve_bytes(app, GET + GET, keepalive=True)
    out = bytes(sock.out)
    assert out.endswith(b"short")
    assert out.count(b"HTTP/1.1 200") == 1
    assert sock.closed


def test_long_body_is_cut_at_content_length():
    consumed = []

    def gen():
        for part in (b"12345", b"67890", b"abc"):
            consumed.append(part)
            yield part

    def app(environ, start_response):
        start_response("200 OK", [("Content-Length", "7")])
        return gen()
    sock, _ = serve_bytes(app, GET + GET, keepalive=True)
    responses = parse_responses(sock.out)
    assert [r[2] for r in responses] == [b"1234567", b"1234567"]
    assert b"abc" not in bytes(sock.out)


def test_head_suppresses_body():
    (code, headers, _), sock, worker = one(
        app_with(headers=[("Content-Length", "5")]), raw=HEAD)
    assert code == 200
    assert headers["content-length"] == "5"
    assert bytes(sock.out).endswith(b"\r\n\r\n")
    assert worker.log.accesses[0][0].sent == 0


@pytest.mark.parametrize("status", ["204 No Content", "304 Not Modified"])
def test_no_body_statuses(status):
    sock, _ = serve_bytes(app_with(status=status, body=[b"ignored"]), GET)
    assert bytes(sock.out).endswith(b"\r\n\r\n")
    assert b"ignored" not in bytes(sock.out)


def test_iterable_close_always_called():
    closed = []

    class Body:
        def __iter__(self):
            yield b"a"
            raise RuntimeError("mid-body")

        def close(self):
            closed.append(True)

    def app(environ, start_response):
        start_response("200 OK", [])
        return Body()
    sock, worker = serve_bytes(app, GET)
    assert closed == [True]
    assert sock.closed
    assert worker.log.levels("exception")


def test_close_called_on_client_disconnect():
    closed = []

    class Body:
        def __iter__(self):
            for _ in range(100):
                yield b"x" * 1000

        def close(self):
            closed.append(True)

    def app(environ, start_response):
        start_response("200 OK", [])
        return Body()
    sock = PieceSocket(GET, fail_send_after=5000)
    sock, worker = serve_bytes(app, GET, sock=sock)
    assert closed == [True]
    assert not worker.log.levels("exception")
    assert any("EPIPE" in m for m in worker.log.levels("debug"))


def test_streaming_sends_each_chunk():
    def app(environ, start_response):
        start_response("200 OK", [])
        yield b"first"
        yield b"second"
    sock, _ = serve_bytes(app, GET)
    sends = [s for s in sock.sends if b"first" in s or b"second" in s]
    assert len(sends) == 2


def test_app_exception_before_start_response_gives_500_without_traceback():
    def app(environ, start_response):
        raise RuntimeError("secret detail")
    (code, headers, body), sock, worker = one(app)
    assert code == 500
    assert headers["connection"] == "close"
    assert b"secret" not in bytes(sock.out) and b"Traceback" not in bytes(sock.out)
    assert worker.log.accesses[0][0].status_code == 500
    assert any("Error handling request GET /p" in m for m in worker.log.levels("exception"))


def test_early_hints():
    def app(environ, start_response):
        environ["wsgi.early_hints"]([("Link", "</s.css>; rel=preload")])
        start_response("200 OK", [("Content-Length", "2")])
        return [b"ok"]
    sock, _ = serve_bytes(app, GET)
    responses = parse_responses(sock.out)
    assert [r[0] for r in responses] == [103, 200]
    assert responses[0][1]["link"] == "</s.css>; rel=preload"


def test_early_hints_skipped_for_http10():
    def app(environ, start_response):
        environ["wsgi.early_hints"]([("Link", "</s.css>")])
        start_response("200 OK", [("Content-Length", "2")])
        return [b"ok"]
    sock, _ = serve_bytes(app, b"GET / HTTP/1.0\r\n\r\n")
    assert [r[0] for r in parse_responses(sock.out)] == [200]


def test_file_wrapper_without_sendfile(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(b"0123456789" * 1000)

    def app(environ, start_response):
        start_response("200 OK", [])
        return environ["wsgi.file_wrapper"](open(path, "rb"), 4096)
    (code, headers, body), _, _ = one(app, cfg=make_cfg(sendfile=False))
    assert body == path.read_bytes()


def test_list_body_goes_out_in_one_write():
    sock, _ = serve_bytes(app_with(body=[b"a", b"b", b"c"]), GET)
    assert len(sock.sends) == 1
    assert parse_responses(sock.out)[0][2] == b"abc"


def test_error_after_head_was_framed_but_not_written_still_gets_500():
    # The head waits for the first chunk; a bad chunk type fails before any byte is out.
    (code, _, _), sock, worker = one(app_with(body=[b"ok", "not bytes"]))
    assert code == 500
    assert bytes(sock.out).count(b"HTTP/1.1") == 1


def test_generator_error_after_first_chunk_closes_without_500():
    def app(environ, start_response):
        start_response("200 OK", [])
        yield b"partial"
        raise RuntimeError("late")
    sock, worker = serve_bytes(app, GET)
    out = bytes(sock.out)
    assert out.startswith(b"HTTP/1.1 200 OK") and b"partial" in out
    assert b"500" not in out
    assert not out.endswith(b"0\r\n\r\n")
    assert sock.closed


class CountingSocket(socket.socket):
    sendfile_calls = 0

    def sendfile(self, file, offset=0, count=None):
        type(self).sendfile_calls += 1
        return super().sendfile(file, offset, count)


def _file_app(path):
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return environ["wsgi.file_wrapper"](open(path, "rb"))
    return app


def _serve_pair(app, payload, **settings):
    import threading

    from wsgi_support import FakeWorker

    from gunicorn.wsgi.serve import ServedConnection

    a, b = socket.socketpair()
    server = CountingSocket(a.family, a.type, fileno=a.detach())
    worker = FakeWorker(app, make_cfg(**settings))
    t = threading.Thread(target=ServedConnection(worker, server, None, ("127.0.0.1", 1),
                                                 keepalive=True).serve, args=(1,))
    t.start()
    b.sendall(payload)
    b.shutdown(socket.SHUT_WR)
    data = b""
    while chunk := b.recv(1 << 20):
        data += chunk
    t.join(5)
    b.close()
    return data


def test_file_wrapper_uses_sendfile_and_keeps_alive(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(bytes(range(256)) * 2000)
    CountingSocket.sendfile_calls = 0
    req = b"GET /f HTTP/1.1\r\nHost: h\r\n\r\n"
    data = _serve_pair(_file_app(path), req * 2)
    responses = parse_responses(data)
    assert [r[2] for r in responses] == [path.read_bytes()] * 2
    assert responses[0][1]["content-length"] == str(512000)
    assert responses[0][1]["connection"] == "keep-alive"
    assert CountingSocket.sendfile_calls == 2


def test_file_wrapper_respects_no_sendfile(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(b"abc" * 1000)
    CountingSocket.sendfile_calls = 0
    data = _serve_pair(_file_app(path), b"GET /f HTTP/1.1\r\nHost: h\r\n\r\n", sendfile=False)
    assert parse_responses(data)[0][2] == path.read_bytes()
    assert CountingSocket.sendfile_calls == 0


def test_file_wrapper_head_never_reads_file(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(b"abc" * 1000)
    data = _serve_pair(_file_app(path), b"HEAD /f HTTP/1.1\r\nHost: h\r\n\r\n")
    assert data.endswith(b"\r\n\r\n")
    assert b"content-length: 3000" in data.lower()


def test_file_wrapper_honours_shorter_content_length(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(b"0123456789")

    def app(environ, start_response):
        start_response("200 OK", [("Content-Length", "4")])
        return environ["wsgi.file_wrapper"](open(path, "rb"))
    data = _serve_pair(app, b"GET /f HTTP/1.1\r\nHost: h\r\n\r\n" * 2)
    assert [r[2] for r in parse_responses(data)] == [b"0123", b"0123"]


def test_header_lists_as_pairs_are_accepted():
    def app(environ, start_response):
        start_response("200 OK", (["X-A", "1"], ("Content-Length", "2")))
        return [b"ok"]
    (code, headers, body), _, _ = one(app)
    assert (code, headers["x-a"], body) == (200, "1", b"ok")


@pytest.mark.parametrize("headers", [None, "X-A: 1", [("X-A",)], [("X-A", "1", "2")], {"X-A": "1"}])
def test_malformed_header_containers_give_500(headers):
    (code, _, _), _, _ = one(_raw_headers(headers))
    assert code == 500


def _raw_headers(headers):
    def app(environ, start_response):
        start_response("200 OK", headers)
        return [b"x"]
    return app
