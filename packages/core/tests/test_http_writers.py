"""Response heads and body framing: gunicorn.http.writers, response_head, error_response."""

import re

import pytest

from gunicorn.http.error_response import render_error, render_parse_error
from gunicorn.http.errors import InvalidResponseHeader, LimitRequestLine, ParseError
from gunicorn.http.response_head import body_forbidden, frame_response, informational_head
from gunicorn.http.writers import (
    ChunkedWriter,
    CloseDelimitedWriter,
    ContentLengthWriter,
    NoBodyWriter,
    check_response_header,
    encode_head,
    status_line,
)

DATE_RE = re.compile(rb"Date: [A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT\r\n")


def frame(status=200, headers=(), method="GET", version=(1, 1), keep_alive=True, **kw):
    return frame_response(status, "", list(headers), method, version, keep_alive, **kw)


def test_status_line():
    assert status_line((1, 1), 200) == b"HTTP/1.1 200 OK\r\n"
    assert status_line((1, 0), 404, "Nope") == b"HTTP/1.0 404 Nope\r\n"
    assert status_line((1, 1), 599) == b"HTTP/1.1 599 \r\n"
    with pytest.raises(InvalidResponseHeader):
        status_line((1, 1), 200, "OK\r\nX: y")


def test_default_headers_order_and_content():
    head, writer, keep_alive = frame(headers=[("Content-Type", "text/plain"),
                                              ("Content-Length", "3")])
    assert head.startswith(b"HTTP/1.1 200 OK\r\nServer: gunicorn\r\nDate: ")
    assert DATE_RE.search(head)
    assert head.endswith(b"Connection: keep-alive\r\nContent-Type: text/plain\r\n"
                         b"Content-Length: 3\r\n\r\n")
    assert writer.framing == "content-length" and keep_alive


def test_app_server_and_date_kept():
    head, _, _ = frame(headers=[("Server", "mine"), ("Date", "yesterday")])
    assert head.count(b"Server:") == 1 and b"Server: mine\r\n" in head
    assert head.count(b"Date:") == 1 and b"Date: yesterday\r\n" in head


def test_app_transfer_encoding_replaced():
    head, writer, _ = frame(headers=[("Transfer-Encoding", "gzip")])
    assert head.count(b"Transfer-Encoding") == 1 and writer.framing == "chunked"


def test_conflicting_content_lengths_refused():
    with pytest.raises(InvalidResponseHeader):
        frame(headers=[("Content-Length", "1"), ("Content-Length", "2")])
    head, _, _ = frame(headers=[("Content-Length", "1"), ("Content-Length", "1")])
    assert head.count(b"Content-Length") == 1
    with pytest.raises(InvalidResponseHeader):
        frame(headers=[("Content-Length", "-1")])


@pytest.mark.parametrize("name, value", [
    ("X-A", "a\r\nInjected: 1"), ("X-A", "a\nb"), ("X-A", "\x00"), ("X A", "1"),
    ("X-A:", "1"), ("", "1"), ("X-A", 5), (b"X-A", "1"), ("X-\u20ac", "1"),
])
def test_response_header_injection_refused(name, value):
    with pytest.raises(InvalidResponseHeader):
        check_response_header(name, value)


def test_non_latin1_value_refused():
    with pytest.raises(InvalidResponseHeader):
        frame(headers=[("X-A", "\u20ac")])


def test_close_delimited_for_http10_and_uwsgi():
    _, writer, keep_alive = frame(version=(1, 0))
    assert writer.framing == "close" and not keep_alive
    head, writer, keep_alive = frame(allow_chunked=False)
    assert writer.framing == "close" and not keep_alive and b"Transfer-Encoding" not in head


def test_server_header_can_be_disabled():
    head, _, _ = frame(server=None)
    assert b"Server:" not in head


def test_body_forbidden():
    assert body_forbidden("HEAD", 200)
    assert body_forbidden("GET", 100) and body_forbidden("GET", 204)
    assert body_forbidden("GET", 304) and not body_forbidden("GET", 200)


def test_204_drops_content_length():
    head, writer, _ = frame(status=204, headers=[("Content-Length", "0")])
    assert b"Content-Length" not in head and writer.framing == "none"


def test_content_length_writer():
    w = ContentLengthWriter(5)
    assert w.data(b"abc") == b"abc" and not w.complete
    assert w.data(b"defg") == b"de" and w.overflow and not w.complete
    assert w.end() == b""
    w = ContentLengthWriter(2)
    w.data(b"ab")
    assert w.complete


def test_chunked_writer():
    w = ChunkedWriter()
    assert w.data(b"") == b""
    assert w.data(b"x" * 26) == b"1a\r\n" + b"x" * 26 + b"\r\n"
    assert w.end() == b"0\r\n\r\n"
    assert w.end([("X-Sum", "1")]) == b"0\r\nX-Sum: 1\r\n\r\n"
    with pytest.raises(InvalidResponseHeader):
        w.end([("X-Sum", "1\r\n")])


def test_passthrough_writers():
    assert CloseDelimitedWriter().data(b"x") == b"x"
    assert NoBodyWriter().data(b"x") == b""


def test_encode_head():
    assert encode_head(b"HTTP/1.1 200 OK\r\n", [("A", "b")]) == b"HTTP/1.1 200 OK\r\nA: b\r\n\r\n"


def test_informational_head():
    assert informational_head(100, "", []) == b"HTTP/1.1 100 Continue\r\n\r\n"


def test_render_parse_error():
    wire = render_parse_error(LimitRequestLine(5000, 4094))
    head, _, body = wire.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 414 URI Too Long\r\n")
    assert b"Connection: close" in head
    assert b"Content-Length: %d" % len(body) in head
    assert b"Content-Type: text/html" in head
    assert b"<title>URI Too Long</title>" in body and b"<h1>URI Too Long</h1>" in body


def test_render_parse_error_sanitises_message():
    wire = render_parse_error(ParseError("evil\r\nSet-Cookie: x\x00<b>" + "a" * 500))
    body = wire.partition(b"\r\n\r\n")[2]
    assert b"\r" not in body and b"\x00" not in body and b"<b>" not in body
    assert len(body) < 400


def test_error_body_is_ascii_whatever_the_message():
    from gunicorn.http.error_response import error_body

    body = error_body("Bad Request", "caf\xe9 \u2603")
    assert body.isascii() and b"caf&#233;" in body and b"&#9731;" in body


def test_render_error_without_message():
    body = render_error(500, "Internal Server Error").partition(b"\r\n\r\n")[2]
    assert b"<h1>Internal Server Error</h1>" in body and b"<p></p>" in body
