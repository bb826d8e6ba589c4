"""Header blocks to core Requests, response blocks, the preface test and h2c upgrade rules."""

import base64

import pytest

from gunicorn.http.events import Request
from gunicorn.http2.preface import PREFACE, starts_with_preface
from gunicorn.http2.request_head import MalformedRequest, build_request, trailer_fields
from gunicorn.http2.response_head import response_block, trailer_block
from gunicorn.http2.upgrade import as_stream_one, upgrade_settings


def block(*extra, method="GET", path="/x?y=1", authority="example.com"):
    head = [(b":method", method.encode()), (b":scheme", b"https"), (b":path", path.encode())]
    if authority is not None:
        head.append((b":authority", authority.encode()))
    return head + [(n.encode(), v.encode()) for n, v in extra]


def test_authority_and_a_matching_host_give_one_host():
    req = build_request(block(("host", "example.com")), ("1.2.3.4", 5), True)
    assert [v for n, v in req.headers if n == "HOST"] == ["example.com"]
    assert req.scheme == "https" and req.peer_addr == ("1.2.3.4", 5)


MALFORMED = {
    # RFC 9113 section 8.3.1: a host field naming another target than :authority.
    "host differs from :authority": block(("host", "other")),
    "two host fields": block(("host", "example.com"), ("host", "example.com")),
    "neither :authority nor host": block(authority=None),
    "no :scheme": [(b":method", b"GET"), (b":path", b"/"), (b":authority", b"h")],
    "empty :path": block(path=""),
    "duplicate :path": block() + [(b":path", b"/")],
    "unknown pseudo-header": block() + [(b":protocol", b"websocket")],
    "pseudo-header after a field": [(b"x-a", b"1")] + block(),
    # Section 8.2.1: field names and values.
    "uppercase name": block(("X-A", "1")),
    "space in a name": block(("x a", "1")),
    "colon in a name": block(("x:a", "1")),
    "empty name": block(("", "1")),
    "non-ASCII name": [*block(), ("x-\xe9".encode("latin-1"), b"1")],
    "CR in a value": block(("x-a", "1\r2")),
    "LF in a value": block(("x-a", "1\n2")),
    "NUL in a value": block(("x-a", "1\x002")),
    "leading space in a value": block(("x-a", " 1")),
    "trailing tab in a value": block(("x-a", "1\t")),
    "CR in a pseudo-header": block(path="/a\r\nb"),
    # Section 8.2.2: connection-specific fields.
    "connection": block(("connection", "close")),
    "keep-alive": block(("keep-alive", "5")),
    "proxy-connection": block(("proxy-connection", "x")),
    "transfer-encoding": block(("transfer-encoding", "chunked")),
    "upgrade": block(("upgrade", "h2c")),
    "TE other than trailers": block(("te", "gzip")),
    "content-length not a number": block(("content-length", "+1")),
    "content-lengths that disagree": block(("content-length", "1"), ("content-length", "2")),
    # str.isdigit() is true for superscript two, int() is not.
    "content-length a non-ASCII digit": block() + [(b"content-length", b"\xb2")],
    # Section 8.3.1: :authority is host[:port], :path a printable ASCII target.
    "userinfo in :authority": [(b":method", b"GET"), (b":path", b"/"), (b":scheme", b"http"),
                               (b":authority", b"u@h")],
    "space in :authority": [(b":method", b"GET"), (b":path", b"/"), (b":scheme", b"http"),
                            (b":authority", b"a b")],
    "control character in :path": block(path="/a\x01b"),
    # Section 8.3.1: :path is an absolute-path (and query), or "*" for OPTIONS only;
    # the absolute-form and authority-form of HTTP/1.1 have no place in it.
    ":path without a leading slash": block(path="x?y=1"),
    ":path in absolute form": block(path="http://evil.example/x"),
    ":path of * for GET": block(path="*"),
}


@pytest.mark.parametrize("head", list(MALFORMED.values()), ids=list(MALFORMED))
def test_malformed_heads(head):
    with pytest.raises(MalformedRequest):
        build_request(head, None, False)


def test_allowed_fields():
    req = build_request(block(("te", "Trailers"), ("x-empty", ""), ("x-inner", "a b\tc"),
                              ("x-sym", "!#$%&'*+-.^_`|~")), None, False)
    assert ("TE", "Trailers") in req.headers and ("X-EMPTY", "") in req.headers
    assert ("X-INNER", "a b\tc") in req.headers


def test_trailer_fields():
    assert trailer_fields([(b"x-sum", b"1")]) == [("X-SUM", "1")]
    for bad in ([(b":path", b"/")], [(b"X-Sum", b"1")], [(b"connection", b"x")],
                [(b"x-sum", b"1\r\n")]):
        with pytest.raises(MalformedRequest):
            trailer_fields(bad)


def test_fields_keep_their_order_then_cookie_then_host():
    # As upstream 27.0.1 lists them (the ASGI scope shows the order).
    req = build_request(block(("x-a", "1"), ("cookie", "a=1"), ("x-b", "2"), ("cookie", "b=2")),
                        None, False)
    assert req.headers == [("X-A", "1"), ("X-B", "2"), ("COOKIE", "a=1; b=2"),
                           ("HOST", "example.com")]


@pytest.mark.parametrize("authority,host", [
    ("Example.COM", "example.com"), ("example.com:443", "example.com"),
    ("example.com", "EXAMPLE.com:443"), ("[::1]:443", "[::1]")])
def test_a_host_naming_the_same_target_as_authority_is_allowed(authority, host):
    # RFC 9113 section 8.3.1 rejects a host naming *another* entity; RFC 9110
    # section 4.2.3: the host is case-insensitive and https's port 443 is the default.
    req = build_request(block(("host", host), authority=authority), None, True)
    assert [v for n, v in req.headers if n == "HOST"] == [authority]


def test_a_host_with_another_port_still_differs():
    for authority, host in (("example.com:8443", "example.com"), ("example.com:80", "example.com"),
                            ("example.com", "example.org")):
        with pytest.raises(MalformedRequest):
            build_request(block(("host", host), authority=authority), None, True)


def test_host_stands_in_for_a_missing_authority():
    req = build_request(block(("host", "h.example"), authority=None), None, False)
    assert ("HOST", "h.example") in req.headers and req.scheme is None


def test_content_length_and_expect():
    req = build_request(block(("content-length", "12"), ("expect", "100-continue"),
                              method="POST"), None, False)
    assert req.content_length == 12 and req.expect_continue
    with pytest.raises(MalformedRequest):
        build_request(block(("content-length", "x1"), method="POST"), None, False)


def test_fragment_and_asterisk():
    req = build_request(block(path="/a#frag"), None, False)
    assert (req.path, req.fragment) == ("/a", "frag")
    req = build_request(block(method="OPTIONS", path="*"), None, False)
    assert req.uri == "*" and req.path == "*"


def test_missing_method_or_path_and_connect_are_malformed():
    for bad in ([(b":path", b"/")], [(b":method", b"GET")],
                [(b":method", b"CONNECT"), (b":authority", b"h:1")]):
        with pytest.raises(MalformedRequest):
            build_request(bad, None, False)


def test_response_block_lowercases_and_drops_connection_fields():
    got = response_block(200, [("Content-Type", "text/plain"), ("Keep-Alive", "5"),
                               ("TE", "trailers"), ("X-A", " v ")])
    names = [n for n, _ in got]
    assert got[0] == (b":status", b"200")
    assert b"keep-alive" not in names and b"te" not in names
    assert (b"x-a", b"v") in got and b"server" in names and b"date" in names
    # An app's own Server/Date are kept, not doubled.
    own = response_block(200, [("Server", "mine"), ("Date", "then")])
    assert [n for n, _ in own].count(b"server") == 1 and (b"server", b"mine") in own
    # 1xx heads carry neither.
    assert response_block(103, [("Link", "<a>")]) == [(b":status", b"103"), (b"link", b"<a>")]


@pytest.mark.parametrize("status", [103, 204])
def test_no_content_length_on_1xx_and_204(status):
    # RFC 9110 section 8.6: a server MUST NOT send Content-Length with 1xx or 204.
    names = [n for n, _ in response_block(status, [("Content-Length", "0"), ("X-A", "1")])]
    assert b"content-length" not in names and b"x-a" in names


def test_content_length_stays_on_304():
    # ...but a 304 may carry the length of the representation it stands for.
    assert (b"content-length", b"1234") in response_block(304, [("Content-Length", "1234")])


def test_trailer_block():
    assert trailer_block([("X-Sum", "1"), ("Connection", "x"), (":status", "1")]) == \
        [(b"x-sum", b"1")]


def test_trailer_block_drops_content_length():
    # RFC 9110 section 6.5.1: framing fields never go in trailers; nghttp2 (and so
    # curl) fails the whole response on a trailer content-length.
    assert trailer_block([("Content-Length", "5"), ("grpc-status", "0")]) == \
        [(b"grpc-status", b"0")]


def test_preface_is_decided_on_three_bytes():
    assert starts_with_preface(PREFACE) and starts_with_preface(PREFACE + b"\x00")
    assert starts_with_preface(b"PRI") and not starts_with_preface(b"PR")
    assert not starts_with_preface(b"POST / HTTP/1.1\r\n")
    assert not starts_with_preface(b"PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n")


def _req(*headers, content_length=None, chunked=False):
    return Request("GET", "/", "/", "", "", (1, 1), list(headers),
                   content_length=content_length, chunked=chunked)


SETTINGS = base64.urlsafe_b64encode(b"\x00\x03\x00\x00\x00\x64").rstrip(b"=").decode()


def test_upgrade_settings_rules():
    ok = _req(("UPGRADE", "h2c"), ("HTTP2-SETTINGS", SETTINGS), ("CONNECTION", "Upgrade"))
    assert upgrade_settings(ok) is not None
    assert upgrade_settings(_req(("UPGRADE", "websocket"), ("HTTP2-SETTINGS", SETTINGS))) is None
    assert upgrade_settings(_req(("UPGRADE", "h2c"))) is None
    assert upgrade_settings(_req(("UPGRADE", "h2c"), ("HTTP2-SETTINGS", "!!"))) is None
    assert upgrade_settings(_req(("UPGRADE", "h2c"), ("HTTP2-SETTINGS", "AAAA"))) is None
    with_body = _req(("UPGRADE", "h2c"), ("HTTP2-SETTINGS", SETTINGS), content_length=5)
    assert upgrade_settings(with_body) is None


def test_stream_one_keeps_only_the_request_fields():
    req = as_stream_one(_req(("HOST", "h"), ("UPGRADE", "h2c"), ("HTTP2-SETTINGS", SETTINGS),
                             ("CONNECTION", "Upgrade, HTTP2-Settings"), ("ACCEPT", "*/*")))
    assert req.version == (2, 0)
    assert req.headers == [("HOST", "h"), ("ACCEPT", "*/*")]
    assert req.extra_environ["HTTP_VERSION"] == "2"
