"""Findings of the differential audit against upstream gunicorn and h11: targets, Host, CONNECT, over-long methods (RFC 9110, RFC 9112)."""

import pytest
from corpus.inprocess import StubConfig

from gunicorn.http import errors
from gunicorn.http.connection import HTTP1Connection
from gunicorn.http.events import Data, EndOfMessage, Request, Response
from gunicorn.http.parser_options import ParserOptions
from gunicorn.http.request_head import HeadContext, parse_head


def parse(raw):
    ctx = HeadContext(ParserOptions(StubConfig()), ("127.0.0.1", 1), False, lambda: False)
    return parse_head(raw, ctx)


def host_of(req):
    return [value for name, value in req.headers if name == "HOST"]


# RFC 9110 section 9.3.6 / RFC 9112 section 3.2.3: a CONNECT target is the
# authority-form, uri-host ":" port and nothing else; a server MUST reject an
# empty or invalid port.  Upstream accepted all of these and handed them to the app.
@pytest.mark.parametrize("target", [
    "/",                  # origin-form
    "/x",
    "http://h:80/",       # absolute-form
    "u@h:443",            # userinfo is not part of authority-form
    "h:443:443",          # ":" is not a reg-name character
    "h:99999",            # past the TCP port range
    "h:0",
    "h:+443",
    "h%zz:443",
    "[::1:443",
    "[zz]:443",
])
def test_connect_requires_authority_form(target):
    with pytest.raises(errors.InvalidRequestLine):
        parse(b"CONNECT %s HTTP/1.1\r\nHost: h" % target.encode())


@pytest.mark.parametrize("target", ["h:443", "[::1]:443", "1.2.3.4:8080", "a-b.example:1",
                                    "h%41:65535", "[v1.x]:443"])
def test_connect_authority_form_accepted(target):
    req = parse(b"CONNECT %s HTTP/1.1\r\nHost: h" % target.encode())
    assert req.method == "CONNECT" and req.uri == target and req.should_close()


# RFC 9112 section 3.2.2: an origin server that receives the absolute-form
# MUST ignore the received Host and use the target's host instead.  Upstream
# and h11 hand the app the Host field as received.
@pytest.mark.parametrize("target, host", [
    ("http://a/p", "a"),
    ("http://a:8080/p?q", "a:8080"),
    ("https://u:pw@a/p", "a"),
    ("HTTP://[::1]:80/", "[::1]:80"),
    ("http://a", "a"),
    ("http://a?x", "a"),
    ("file:///x", ""),
])
def test_absolute_form_host_replaces_host_field(target, host):
    req = parse(b"GET %s HTTP/1.1\r\nHost: b\r\nX-A: 1" % target.encode())
    assert host_of(req) == [host]
    assert req.headers[-1] == ("X-A", "1")


def test_absolute_form_host_given_to_http10_without_host():
    req = parse(b"GET http://a:81/p HTTP/1.0")
    assert host_of(req) == ["a:81"]


def test_absolute_form_received_host_is_still_checked():
    # RFC 9112 section 3.2: a duplicated or invalid Host is a 400 whatever the target.
    with pytest.raises(errors.InvalidHeader):
        parse(b"GET http://a/p HTTP/1.1\r\nHost: b c")
    with pytest.raises(errors.InvalidHeader):
        parse(b"GET http://a/p HTTP/1.1\r\nHost: a\r\nHost: a")
    with pytest.raises(errors.MissingHost):
        parse(b"GET http://a/p HTTP/1.1")


@pytest.mark.parametrize("target", ["http://h:abc/", "http://h%zz/", "http://h:1:2/"])
def test_absolute_form_authority_must_be_a_valid_host(target):
    # RFC 3986 section 3.2: port = *DIGIT, pct-encoded = "%" HEXDIG HEXDIG.
    with pytest.raises(errors.InvalidRequestLine):
        parse(b"GET %s HTTP/1.1\r\nHost: h" % target.encode())


def test_absolute_form_host_on_the_wire():
    conn = HTTP1Connection(ParserOptions(StubConfig()), ("127.0.0.1", 1))
    conn.receive_data(b"GET http://a/p HTTP/1.1\r\nHost: b\r\n\r\n")
    req = conn.next_event()
    assert isinstance(req, Request) and host_of(req) == ["a"]


# RFC 9110 section 9.3.6: "A server MUST NOT send any Transfer-Encoding or
# Content-Length header fields in a 2xx (Successful) response to CONNECT";
# RFC 9112 section 6.3: the connection is a tunnel right after that head.
# Upstream sends the app's Content-Length (and would chunk without one).
@pytest.mark.parametrize("headers", [
    [("Content-Length", "2"), ("X-A", "1")],
    [("X-A", "1")],
    [("Transfer-Encoding", "chunked"), ("X-A", "1")],
])
def test_connect_2xx_has_no_length_and_tunnels(headers):
    conn = HTTP1Connection(ParserOptions(StubConfig()), ("127.0.0.1", 1))
    conn.receive_data(b"CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n")
    assert isinstance(conn.next_event(), Request)
    head = conn.send(Response(200, "OK", headers))
    fields = head.lower()
    assert b"content-length" not in fields and b"transfer-encoding" not in fields
    assert b"x-a: 1" in fields
    assert conn.send(Data(b"ok")) == b"ok"  # tunnel bytes, not a chunk
    conn.send(EndOfMessage())
    assert not conn.keep_alive


def test_connect_refused_keeps_its_length():
    conn = HTTP1Connection(ParserOptions(StubConfig()), ("127.0.0.1", 1))
    conn.receive_data(b"CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n")
    conn.next_event()
    head = conn.send(Response(405, "Method Not Allowed", [("Content-Length", "2")]))
    assert b"Content-Length: 2\r\n" in head


# RFC 9112 section 3: 414 is for a request-target longer than the server
# parses; a method longer than any implemented is a method error.  Upstream
# (and we, before) answered 414 to a 5000-byte method.
@pytest.mark.parametrize("raw", [
    b"A" * 5000 + b" / HTTP/1.1\r\nHost: h\r\n\r\n",   # whole head received
    b"A" * 5000,                                         # no line end yet
    b"A" * 5000 + b" / HTTP/1.1\r\n",                    # line ended, head not yet
])
def test_over_long_method_is_a_method_error(raw):
    conn = HTTP1Connection(ParserOptions(StubConfig()), ("127.0.0.1", 1))
    conn.receive_data(raw)
    with pytest.raises(errors.InvalidRequestMethod) as info:
        conn.next_event()
    assert info.value.status_code == 400


def test_over_long_method_in_the_full_parser():
    with pytest.raises(errors.InvalidRequestMethod):
        parse(b"A" * 5000 + b" / HTTP/1.1\r\nHost: h")


@pytest.mark.parametrize("raw", [
    b"GET /" + b"a" * 5000 + b" HTTP/1.1\r\nHost: h\r\n\r\n",
    b"GET /" + b"a" * 5000,
])
def test_over_long_target_is_still_414(raw):
    conn = HTTP1Connection(ParserOptions(StubConfig()), ("127.0.0.1", 1))
    conn.receive_data(raw)
    with pytest.raises(errors.LimitRequestLine):
        conn.next_event()


def test_over_long_unconventional_method_is_414_when_permitted():
    opts = ParserOptions(StubConfig(permit_unconventional_http_method=True))
    conn = HTTP1Connection(opts, ("127.0.0.1", 1))
    conn.receive_data(b"A" * 5000 + b" / HTTP/1.1\r\nHost: h\r\n\r\n")
    with pytest.raises(errors.LimitRequestLine):
        conn.next_event()
