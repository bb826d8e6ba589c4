"""The serve driver: keep-alive, parse errors, hooks, max_requests, access log."""

import datetime

import pytest
from wsgi_support import FakeWorker, PieceSocket, make_cfg, parse_responses, serve_bytes

from gunicorn.wsgi.serve import ServedConnection, error_reply, protocol_class, serve_connection

GET = b"GET /p HTTP/1.1\r\nHost: h\r\n\r\n"


def hello(environ, start_response):
    body = environ["PATH_INFO"].encode("latin-1")
    start_response("200 OK", [("Content-Length", str(len(body)))])
    return [body]


def echo(environ, start_response):
    body = environ["wsgi.input"].read()
    start_response("200 OK", [("Content-Length", str(len(body)))])
    return [body]


def ignore_body(environ, start_response):
    start_response("200 OK", [("Content-Length", "2")])
    return [b"ok"]


def test_sync_style_serves_one_request_and_closes():
    sock, worker = serve_bytes(hello, GET + GET)
    responses = parse_responses(sock.out)
    assert len(responses) == 1
    assert responses[0][1]["connection"] == "close"
    assert worker.nr == 1
    assert sock.closed


def test_keepalive_serves_pipelined_requests():
    raw = b"".join(b"GET /%d HTTP/1.1\r\nHost: h\r\n\r\n" % i for i in range(3))
    sock, worker = serve_bytes(hello, raw, keepalive=True)
    responses = parse_responses(sock.out)
    assert [r[2] for r in responses] == [b"/0", b"/1", b"/2"]
    assert [r[1]["connection"] for r in responses] == ["keep-alive"] * 3
    assert worker.nr == 3


def test_keepalive_with_bodies_read_or_not():
    post = b"POST /e HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello"
    sock, _ = serve_bytes(echo, post + post)
    assert [r[2] for r in parse_responses(sock.out)] == [b"hello"]
    sock, _ = serve_bytes(echo, post + post, keepalive=True)
    assert [r[2] for r in parse_responses(sock.out)] == [b"hello", b"hello"]
    # an unread body is drained so the next request is found where it starts
    sock, _ = serve_bytes(ignore_body, post + GET, keepalive=True)
    assert [r[2] for r in parse_responses(sock.out)] == [b"ok", b"ok"]


def test_unread_body_of_continue_request_closes_connection():
    post = b"POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n"
    sock, _ = serve_bytes(ignore_body, post + b"hello" + GET, keepalive=True)
    responses = parse_responses(sock.out)
    assert [r[0] for r in responses] == [200]
    assert responses[0][1]["connection"] == "close"
    assert b"100 Continue" not in bytes(sock.out)


def test_continue_sent_when_app_reads():
    post = b"POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\nhello"
    sock, _ = serve_bytes(echo, post)
    assert [r[0] for r in parse_responses(sock.out)] == [100, 200]


def test_http10_keepalive_only_when_asked():
    raw = b"GET /a HTTP/1.0\r\n\r\nGET /b HTTP/1.0\r\n\r\n"
    sock, _ = serve_bytes(hello, raw, keepalive=True)
    assert len(parse_responses(sock.out)) == 1
    raw = b"GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /b HTTP/1.0\r\n\r\n"
    sock, _ = serve_bytes(hello, raw, keepalive=True)
    assert [r[2] for r in parse_responses(sock.out)] == [b"/a", b"/b"]


@pytest.mark.parametrize("raw, status", [
    (b"GARBAGE\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nBad Header\r\n\r\n", 400),
    (b"GET / HTTP/9.9\r\nHost: h\r\n\r\n", 505),
    (b"GET /" + b"a" * 5000 + b" HTTP/1.1\r\n\r\n", 414),
    (b"GET / HTTP/1.1\r\n" + b"X-A: b\r\n" * 200 + b"\r\n", 431),
    (b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: foo, chunked\r\n\r\n", 501),
    (b"GET / HTTP/1.1\r\nHost: h\r\nExpect: teapot\r\n\r\n", 417),
    (b"GET / HTTP/1.1\r\nHost: h\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Ssl: off\r\n\r\n",
     400),
])
def test_parse_errors_answered_with_their_status(raw, status):
    sock, worker = serve_bytes(hello, raw)
    code, headers, _ = parse_responses(sock.out)[0]
    assert code == status
    assert headers["connection"] == "close"
    assert not worker.log.levels("exception")
    assert b"Traceback" not in bytes(sock.out)
    assert worker.log.accesses and worker.log.accesses[0][0].status_code == status
    assert sock.closed


def test_forbidden_proxy_is_403():
    cfg = make_cfg(proxy_protocol="v1", proxy_allow_ips="10.0.0.1")
    raw = b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n" + GET
    sock, _ = serve_bytes(hello, raw, cfg=cfg)
    assert parse_responses(sock.out)[0][0] == 403


def test_script_name_mismatch_is_500(monkeypatch):
    monkeypatch.setenv("SCRIPT_NAME", "/app")
    sock, worker = serve_bytes(hello, GET)
    assert parse_responses(sock.out)[0][0] == 500


def test_body_parse_error_while_app_reads():
    raw = b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nQQ\r\n"
    sock, worker = serve_bytes(echo, raw)
    assert parse_responses(sock.out)[0][0] == 400
    assert not worker.log.levels("exception")


def test_system_exit_in_app_answers_500_then_propagates():
    # The arbiter's timeout abort (or the app's own sys.exit()) unwinds through
    # the app: the client still gets a 500, and the worker still exits.
    def exits(environ, start_response):
        start_response("200 OK", [("Content-Length", "2")])
        raise SystemExit(1)

    sock = PieceSocket(GET)
    with pytest.raises(SystemExit):
        serve_bytes(exits, GET, sock=sock)
    responses = parse_responses(sock.out)
    assert [r[0] for r in responses] == [500]
    assert responses[0][1]["connection"] == "close"
    assert sock.closed


def test_system_exit_after_bytes_went_out_only_closes():
    def exits_mid_body(environ, start_response):
        start_response("200 OK", [])

        def body():
            yield b"partial"
            raise SystemExit(1)
        return body()

    sock = PieceSocket(GET)
    with pytest.raises(SystemExit):
        serve_bytes(exits_mid_body, GET, sock=sock)
    out = bytes(sock.out)
    assert out.startswith(b"HTTP/1.1 200 ") and b"partial" in out
    assert b" 500 " not in out and sock.closed


def test_error_page_for_head_has_no_content():
    # RFC 9110 section 9.3.2, for the app's 500 and for a parse error alike.
    def fails(environ, start_response):
        raise RuntimeError("boom")

    sock, _ = serve_bytes(fails, b"HEAD / HTTP/1.1\r\nHost: h\r\n\r\n")
    out = bytes(sock.out)
    assert out.startswith(b"HTTP/1.1 500 ") and out.endswith(b"\r\n\r\n")
    sock, _ = serve_bytes(hello, b"HEAD / HTTP/1.1\r\nHost: h\r\nContent-Length: x\r\n\r\n")
    out = bytes(sock.out)
    assert out.startswith(b"HTTP/1.1 400 ") and out.endswith(b"\r\n\r\n")


def test_client_closing_early_is_quiet():
    sock, worker = serve_bytes(hello, b"")
    assert bytes(sock.out) == b""
    assert not worker.log.accesses
    sock, worker = serve_bytes(hello, b"GET / HTTP/1.1\r\nHo")
    assert not worker.log.levels("exception")


def test_hooks_and_access_log_order():
    calls = []
    cfg = make_cfg(
        pre_request=lambda worker, req: calls.append(("pre", req.path)),
        post_request=lambda worker, req, environ, resp: calls.append(
            ("post", req.path, environ["PATH_INFO"], resp.status)),
    )

    def app(environ, start_response):
        calls.append(("app",))
        start_response("200 OK", [])
        return [b"x"]
    sock, worker = serve_bytes(app, GET, cfg=cfg)
    assert calls == [("pre", "/p"), ("app",), ("post", "/p", "/p", "200 OK")]
    resp, req, environ, request_time = worker.log.accesses[0]
    assert isinstance(request_time, datetime.timedelta)
    assert req.path == "/p" and environ["PATH_INFO"] == "/p"
    assert resp.response_length is None and resp.sent == 1


def test_post_request_failure_is_logged_not_fatal():
    def boom(worker, req, environ, resp):
        raise RuntimeError("hook")
    raw = GET + GET
    sock, worker = serve_bytes(hello, raw, cfg=make_cfg(post_request=boom), keepalive=True)
    assert len(parse_responses(sock.out)) == 2
    assert any("post_request" in m for m in worker.log.levels("exception"))


def test_max_requests_stops_worker_and_closes():
    worker = FakeWorker(hello)
    worker.max_requests = 2
    raw = GET * 4
    sock, worker = serve_bytes(hello, raw, keepalive=True, worker=worker)
    responses = parse_responses(sock.out)
    assert len(responses) == 2
    assert responses[-1][1]["connection"] == "close"
    assert worker.alive is False
    assert "Autorestarting worker after current request." in worker.log.levels("info")


def test_term_during_app_closes_keepalive_connection():
    worker = FakeWorker(None)

    def app(environ, start_response):
        worker.alive = False
        return hello(environ, start_response)
    worker.wsgi = app
    sock, _ = serve_bytes(app, GET * 2, keepalive=True, worker=worker)
    responses = parse_responses(sock.out)
    assert len(responses) == 1 and responses[0][1]["connection"] == "close"


def test_a_stop_after_the_head_promised_keep_alive_keeps_the_promise():
    # Another thread (max_requests reached, a HUP) may stop the worker while this
    # response is on its way. Its head already said keep-alive: closing after it
    # would reset the next request the client may already have sent. The driver
    # says the connection may go on; the worker then gives it a short grace.
    worker = FakeWorker(None)

    def app(environ, start_response):
        start_response("200 OK", [("Content-Length", "4")])
        yield b"ab"
        worker.alive = False
        yield b"cd"
    worker.wsgi = app
    sock = PieceSocket(GET * 2)
    served = ServedConnection(worker, sock, None, ("127.0.0.1", 40000), keepalive=True)
    assert served.handle(served.next_request()) is True
    code, headers, body = parse_responses(sock.out)[0]
    assert (code, headers["connection"], body) == (200, "keep-alive", b"abcd")


def test_max_requests_is_logged_once_when_threads_race():
    from gunicorn.wsgi.serve import serve_settings

    worker = FakeWorker(hello)
    worker.max_requests = 3
    settings = serve_settings(worker)
    settings.count_lock = __import__("threading").Lock()
    raw = GET * 5
    sock, worker = serve_bytes(hello, raw, keepalive=True, worker=worker)
    worker.alive = True  # as if a second pool thread had not seen the stop yet
    serve_bytes(hello, raw, keepalive=True, worker=worker)
    notes = [m for m in worker.log.levels("info") if m.startswith("Autorestarting")]
    assert len(notes) == 1, notes


def test_keepalive_idle_timeout_applied_and_restored():
    seen = []

    class Sock(PieceSocket):
        def settimeout(self, value):
            seen.append(value)
            super().settimeout(value)
    sock = Sock(GET, piece=100)
    worker = FakeWorker(hello)
    ServedConnection(worker, sock, None, ("127.0.0.1", 1), keepalive=True).serve(
        keepalive_timeout=7)
    assert 7 in seen


def test_unix_peer_access_and_environ():
    seen = {}

    def app(environ, start_response):
        seen.update(environ)
        return hello(environ, start_response)
    import socket
    sock = PieceSocket(GET, family=socket.AF_UNIX)
    serve_bytes(app, GET, sock=sock, peer="")
    assert seen["REMOTE_ADDR"] == ""


def test_error_reply_mapping():
    from gunicorn.http import errors
    assert error_reply(errors.LimitRequestLine(9000, 4094))[0] == 414
    assert error_reply(errors.LimitRequestHeaders("x"))[0] == 431
    assert error_reply(errors.UnsupportedTransferCoding("gzip"))[0] == 501
    assert error_reply(errors.ForbiddenProxyRequest("1.2.3.4"))[0] == 403
    assert error_reply(errors.InvalidRequestLine("x"))[0] == 400
    assert error_reply(ValueError("x")) == (500, "Internal Server Error", "")


def test_protocol_class_default_is_http1():
    from gunicorn.http.protocol import HTTP1Protocol
    assert protocol_class(make_cfg()) is HTTP1Protocol


def test_unknown_protocol_names_the_extra(monkeypatch):
    from gunicorn import plugins
    monkeypatch.setattr(plugins, "_module_available", lambda name: False)

    class Cfg:
        protocol = "uwsgi"
    from gunicorn.wsgi import serve
    monkeypatch.setattr(serve, "_protocol_classes", {})
    with pytest.raises(RuntimeError, match=r"pip install gunicorn\[uwsgi\]"):
        protocol_class(Cfg())


def test_truncated_request_closes_without_answer():
    sock, worker = serve_bytes(hello, b"GET / HTTP/1.1\r\nHost: h\r\n")
    assert bytes(sock.out) == b""
    post = b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nabc"
    sock, worker = serve_bytes(echo, post)
    assert bytes(sock.out) == b""
    assert not worker.log.levels("exception")
    assert any("premature" in m for m in worker.log.levels("debug"))


@pytest.mark.parametrize("raw", [
    GET,
    b"GET /q%20x?a=1 HTTP/1.0\r\n\r\n",
    b"POST /e HTTP/1.1\r\nHost: h\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello",
    b"POST /e HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    b"HEAD /h HTTP/1.1\r\nHost: h\r\n\r\n",
])
def test_environ_and_server_pass_wsgiref_validator(raw):
    import warnings
    from wsgiref.validate import validator

    def app(environ, start_response):
        body = environ["wsgi.input"].read(65536)  # the validator insists on a size
        environ["wsgi.errors"].write("")
        start_response("200 OK", [("Content-Type", "text/plain"),
                                  ("Content-Length", str(len(body) + 2))])
        return [b"ok" + body]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sock, worker = serve_bytes(validator(app), raw)
    assert not worker.log.levels("exception"), worker.log.records
    assert parse_responses(sock.out)[-1][0] == 200


def test_duck_typed_tls_socket_means_https():
    # gevent's SSLSocket is no ssl.SSLSocket subclass; it still speaks TLS.
    class GreenTLS(PieceSocket):
        def getpeercert(self, binary_form=False):
            return None
    seen = {}

    def app(environ, start_response):
        seen["scheme"] = environ["wsgi.url_scheme"]
        return hello(environ, start_response)
    serve_bytes(app, GET, sock=GreenTLS(GET))
    assert seen["scheme"] == "https"


def test_tcp_nodelay_on_tcp_clients():
    import socket
    listener = socket.create_server(("127.0.0.1", 0))
    client = socket.create_connection(listener.getsockname())
    server, addr = listener.accept()
    try:
        ServedConnection(FakeWorker(hello), server, listener, addr)
        assert server.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    finally:
        for s in (client, server, listener):
            s.close()


def test_parse_error_lingers_so_the_answer_survives():
    # A bad request line followed by a body the server will never parse: the
    # 400 must reach the client, not be destroyed by a reset on close.
    import socket
    import threading
    listener = socket.create_server(("127.0.0.1", 0))
    client = socket.create_connection(listener.getsockname())
    server, addr = listener.accept()
    t = threading.Thread(target=serve_connection,
                         args=(FakeWorker(hello), server, listener, addr))
    t.start()

    def send():
        try:
            client.sendall(b"BROKEN\r\n\r\n" + b"j" * 150_000)
        except OSError:
            pass
    sender = threading.Thread(target=send)
    sender.start()
    client.settimeout(5)
    data = b""
    while chunk := client.recv(65536):
        data += chunk
    sender.join(5)
    t.join(5)
    client.close()
    listener.close()
    assert data.startswith(b"HTTP/1.1 400"), data[:80]


def test_linger_is_bounded_in_time():
    import socket
    import threading
    import time as _time
    listener = socket.create_server(("127.0.0.1", 0))
    client = socket.create_connection(listener.getsockname())
    server, addr = listener.accept()
    t = threading.Thread(target=serve_connection,
                         args=(FakeWorker(hello), server, listener, addr))
    t.start()
    client.sendall(b"BROKEN\r\n\r\n")
    stop = _time.monotonic() + 3

    def trickle():
        while _time.monotonic() < stop:
            try:
                client.sendall(b"x")
            except OSError:
                return
            _time.sleep(0.05)
    threading.Thread(target=trickle, daemon=True).start()
    started = _time.monotonic()
    t.join(5)
    assert not t.is_alive()
    assert _time.monotonic() - started < 2
    client.close()
    listener.close()
