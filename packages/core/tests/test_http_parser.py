"""Request line and head parsing: gunicorn.http.request_line, request_head, field_lines."""

import pytest
from corpus.inprocess import StubConfig

from gunicorn.config import Config
from gunicorn.http import errors
from gunicorn.http.parser_options import ParserOptions, options_for
from gunicorn.http.request_head import HeadContext, parse_head
from gunicorn.http.request_line import parse_request_line, parse_version, split_target


def ctx(trusted=True, is_ssl=False, **settings):
    return HeadContext(ParserOptions(StubConfig(**settings)), ("127.0.0.1", 1), is_ssl,
                       lambda: trusted)


def parse(raw, **kw):
    return parse_head(raw, ctx(**kw))


def test_request_attributes():
    req = parse(b"GET /p/a?q=1#f HTTP/1.1\r\nHost: h\r\nX-A: b")
    assert (req.method, req.uri, req.path, req.query, req.fragment) == (
        "GET", "/p/a?q=1#f", "/p/a", "q=1", "f")
    assert req.version == (1, 1)
    assert req.headers == [("HOST", "h"), ("X-A", "b")]
    assert req.content_length is None and not req.chunked and not req.expect_continue
    assert req.scheme == "http" and not req.should_close()
    assert req.peer_addr == ("127.0.0.1", 1) and req.req_number == 1
    assert req.extra_environ == {} and req.proxy is None and req.proxy_protocol_info is None


def test_https_scheme_from_tls():
    assert parse_head(b"GET / HTTP/1.1\r\nHost: x", ctx(is_ssl=True)).scheme == "https"


def test_scheme_header_ignored_for_untrusted_peer():
    req = parse_head(b"GET / HTTP/1.1\r\nHost: x\r\nX-Forwarded-Proto: https", ctx(trusted=False))
    assert req.scheme == "http"


def test_trust_is_not_asked_without_scheme_headers():
    def never():
        raise AssertionError("trust evaluated")
    c = HeadContext(ParserOptions(StubConfig()), ("127.0.0.1", 1), False, never)
    parse_head(b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 0", c)


def test_custom_secure_scheme_headers():
    settings = {"secure_scheme_headers": {"X-Scheme": "https"}}
    assert parse(b"GET / HTTP/1.1\r\nHost: x\r\nX-Scheme: https", **settings).scheme == "https"
    assert parse(b"GET / HTTP/1.1\r\nHost: x\r\nX-Forwarded-Proto: https", **settings).scheme == "http"


@pytest.mark.parametrize("version, expected", [("HTTP/1.0", (1, 0)), ("HTTP/1.1", (1, 1)),
                                               ("HTTP/1.5", (1, 5))])
def test_versions(version, expected):
    assert parse_version(version, ParserOptions(StubConfig())) == expected


def test_unsupported_version_is_505_and_an_invalid_version():
    with pytest.raises(errors.UnsupportedHTTPVersion) as info:
        parse_version("HTTP/2.0", ParserOptions(StubConfig()))
    assert info.value.status_code == 505
    assert isinstance(info.value, errors.InvalidHTTPVersion)


@pytest.mark.parametrize("target, method, expected", [
    ("/a?b#c", "GET", ("/a", "b", "c")),
    ("/a?b?c", "GET", ("/a", "b?c", "")),
    ("http://h:1/x?y", "GET", ("/x", "y", "")),
    ("http://h?y", "GET", ("", "y", "")),
    ("*", "OPTIONS", ("*", "", "")),
    ("h:443", "CONNECT", ("", "", "")),
    ("[::1]:443", "CONNECT", ("", "", "")),
])
def test_target_forms(target, method, expected):
    assert split_target(target, method, "line") == expected


@pytest.mark.parametrize("target, method", [
    ("", "GET"), ("*", "GET"), ("h:443", "GET"), ("h", "CONNECT"), ("h:x", "CONNECT"),
    (":443", "CONNECT"), ("a b", "GET"), ("http://h\\/", "GET"), ("/\x80", "GET"),
])
def test_bad_targets(target, method):
    with pytest.raises(errors.InvalidRequestLine):
        split_target(target, method, "line")


def test_request_line_split():
    opts = ParserOptions(StubConfig())
    assert parse_request_line("PUT /x HTTP/1.0", opts)[0] == "PUT"
    with pytest.raises(errors.InvalidRequestLine):
        parse_request_line("PUT /x HTTP/1.0 extra", opts)


def test_method_casefold_only_with_permit():
    with pytest.raises(errors.InvalidRequestMethod):
        parse(b"get / HTTP/1.1\r\nHost: x", casefold_http_method=True)
    req = parse(b"get / HTTP/1.1\r\nHost: x", casefold_http_method=True,
                permit_unconventional_http_method=True)
    assert req.method == "GET"


def test_content_length_and_duplicates():
    assert parse(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 012").content_length == 12
    # RFC 9110 section 8.6 lets a recipient refuse any repeat; upstream does.
    for second in (b"13", b"12", b"012"):
        with pytest.raises(errors.InvalidContentLength) as info:
            parse(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 12\r\nContent-Length: " + second)
        assert info.value.req is not None and info.value.req.method == "POST"


def test_transfer_encoding_rules():
    assert parse(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked").chunked
    req = parse(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: deflate\r\nTransfer-Encoding: chunked")
    assert req.chunked and req.should_close()
    with pytest.raises(errors.UnsupportedTransferCoding) as info:
        parse(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: foo, chunked")
    assert info.value.status_code == 501
    for bad in (b"chunked, gzip", b"gzip", b"chunked,chunked", b" , "):
        with pytest.raises(errors.InvalidHeader):
            parse(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: " + bad)


def test_connection_semantics():
    assert parse(b"GET / HTTP/1.0").should_close()
    assert not parse(b"GET / HTTP/1.0\r\nConnection: Keep-Alive").should_close()
    assert parse(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: te, close").should_close()
    assert not parse(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: upgrade").should_close()
    assert parse(b"CONNECT h:1 HTTP/1.1\r\nHost: x").should_close()
    req = parse(b"GET / HTTP/1.1\r\nHost: x")
    req.force_close()
    assert req.should_close()


def test_expect_continue():
    assert parse(b"PUT / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue").expect_continue
    assert not parse(b"PUT / HTTP/1.0\r\nExpect: 100-continue").expect_continue
    with pytest.raises(errors.ExpectationFailed) as info:
        parse(b"PUT / HTTP/1.1\r\nHost: x\r\nExpect: nope")
    assert info.value.status_code == 417


def test_obs_fold_joined_with_one_space():
    req = parse(b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a  \r\n   b\r\n\tc\r\nX-B: d",
                permit_obsolete_folding=True)
    assert req.headers == [("HOST", "x"), ("X-A", "a b c"), ("X-B", "d")]


def test_strip_header_spaces():
    assert parse(b"GET / HTTP/1.1\r\nHost: x\r\nX-A \t: 1", strip_header_spaces=True).headers == [
        ("HOST", "x"), ("X-A", "1")]
    with pytest.raises(errors.InvalidHeader):
        parse(b"GET / HTTP/1.1\r\n \t: 1\r\nHost: x", strip_header_spaces=True)
    with pytest.raises(errors.InvalidHeaderName):
        parse(b"GET / HTTP/1.1\r\nHost: x\r\nX A : 1", strip_header_spaces=True)


def test_header_map_policies():
    raw = b"GET / HTTP/1.1\r\nHost: x\r\nX_A: 1\r\nX-B: 2"
    assert parse(raw).headers == [("HOST", "x"), ("X-B", "2")]
    assert parse(raw, header_map="dangerous").headers == [("HOST", "x"), ("X_A", "1"),
                                                          ("X-B", "2")]
    with pytest.raises(errors.InvalidHeaderName):
        parse(raw, header_map="refuse")


def test_forwarder_header_wildcard():
    raw = b"GET / HTTP/1.1\r\nHost: x\r\nX_A: 1"
    assert parse(raw, header_map="refuse", forwarder_headers="*").headers == [("HOST", "x"),
                                                                               ("X_A", "1")]
    with pytest.raises(errors.InvalidHeaderName):
        parse(raw, header_map="refuse", forwarder_headers="*", trusted=False)


def test_field_limits():
    raw = b"GET / HTTP/1.1\r\nHost: x\r\n" + b"\r\n".join(b"X-%d: v" % i for i in range(5))
    assert len(parse(raw, limit_request_fields=6).headers) == 6
    with pytest.raises(errors.LimitRequestHeaders) as info:
        parse(raw, limit_request_fields=5)
    assert info.value.status_code == 431
    with pytest.raises(errors.LimitRequestHeaders):
        parse(b"GET / HTTP/1.1\r\nHost: x\r\nX-A: 12345", limit_request_field_size=10)
    assert parse(b"GET / HTTP/1.1\r\nHost: x\r\nX-A: 1234", limit_request_field_size=11).headers


def test_request_line_limit_in_head():
    with pytest.raises(errors.LimitRequestLine) as info:
        parse(b"GET /123456 HTTP/1.1\r\nHost: x", limit_request_line=10)
    assert info.value.status_code == 414


@pytest.mark.parametrize("raw, error", [
    (b"GET / HTTP/1.1\r\nHost: x\r\nX: \x00", errors.InvalidHeader),
    (b"GET / HTTP/1.1\r\nHost: x\r\nX: a\nY: b", errors.InvalidHeader),
    (b"GET / HTTP/1.1\r\nHost: x\r\nX: a\rY: b", errors.InvalidHeader),
    (b"GET /\x01 HTTP/1.1\r\nHost: x\r\nX: a", errors.InvalidRequestLine),
    (b"GET / HTTP/1.1\r\nHost: a\r\nHost: a", errors.InvalidHeader),
    (b"GET / HTTP/1.1\r\nHost: x\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Ssl: off",
     errors.InvalidSchemeHeaders),
])
def test_head_errors(raw, error):
    with pytest.raises(error):
        parse(raw)


def test_parse_error_fields():
    exc = errors.InvalidHeader("X")
    assert exc.status_code == 400 and exc.reason == "Bad Request" and "X" in str(exc)
    assert errors.ParseException is errors.ParseError
    assert errors.ForbiddenProxyRequest("1.2.3.4").status_code == 403
    assert errors.NoMoreData(b"abc").status_code == 400


def test_options_cached_per_config_until_changed():
    cfg = Config()
    first = options_for(cfg)
    assert options_for(cfg) is first
    cfg.set("limit_request_line", 10)
    second = options_for(cfg)
    assert second is not first and second.limit_request_line == 10
    assert options_for(cfg) is second


def test_options_for_a_stub_follow_its_values():
    # A stub counts no changes: its options are built on every call.
    cfg = StubConfig()
    assert options_for(cfg).limit_request_line == 4094
    cfg.limit_request_line = 10
    assert options_for(cfg).limit_request_line == 10


@pytest.mark.parametrize("value, expected", [(0, 0), (100, 100), (9000, 8190), (-1, 8190)])
def test_limit_request_line_normalised(value, expected):
    assert ParserOptions(StubConfig(limit_request_line=value)).limit_request_line == expected


def test_limit_request_fields_capped():
    assert ParserOptions(StubConfig(limit_request_fields=0)).limit_request_fields == 32768
    assert ParserOptions(StubConfig(limit_request_fields=99999)).limit_request_fields == 32768


def test_proxy_mode_normalised():
    assert ParserOptions(StubConfig(proxy_protocol=True)).proxy_protocol == "auto"
    assert ParserOptions(StubConfig(proxy_protocol=False)).proxy_protocol == "off"
    assert ParserOptions(StubConfig(proxy_protocol="V2")).proxy_protocol == "v2"
