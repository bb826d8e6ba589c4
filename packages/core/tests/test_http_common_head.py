"""The one-pass head parser (common_head) agrees with the full parser wherever it answers."""

import os

import pytest
from corpus import CASES
from corpus.inprocess import StubConfig
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gunicorn.http.common_head import parse_common_head
from gunicorn.http.errors import ParseError
from gunicorn.http.parser_options import ParserOptions
from gunicorn.http.request_head import HeadContext, parse_any_head, parse_head

ATTRIBUTES = ("method", "uri", "path", "query", "fragment", "version", "headers", "trailers",
              "scheme", "content_length", "chunked", "expect_continue", "must_close",
              "extra_environ", "proxy", "peer_addr", "remote_addr", "req_number")


def context(settings=None, trusted=True, is_ssl=False):
    opts = ParserOptions(StubConfig(**(settings or {})))
    return HeadContext(opts, ("127.0.0.1", 1), is_ssl, lambda: trusted)


def full_parse(head, ctx):
    try:
        return parse_any_head(head, ctx, 7)
    except ParseError as exc:
        return exc


def check_agrees(head, ctx):
    """Run the full parser first (it fills the name cache), then the one-pass one."""
    slow = full_parse(head, ctx)
    fast = parse_common_head(head, ctx, 7)
    if fast is None:
        return False
    assert not isinstance(slow, Exception), (head, slow)
    for name in ATTRIBUTES:
        assert getattr(fast, name) == getattr(slow, name), (head, name)
    return True


def heads_of(raw):
    """Every candidate head in a raw stream: the bytes before each CRLF CRLF."""
    out = []
    start = 2 if raw.startswith(b"\r\n") else 0
    while True:
        end = raw.find(b"\r\n\r\n", start)
        if end < 0:
            return out
        out.append(raw[start:end])
        start = end + 4


def test_corpus_heads_agree_and_the_common_ones_take_the_short_path():
    taken = 0
    for case in CASES:
        for head in heads_of(case.raw):
            for options in (case.settings, {}):
                taken += check_agrees(head, context(options))
    # Most valid corpus heads are plain: the short path must really be used.
    assert taken > 50


@pytest.mark.parametrize("head", [
    b"GET / HTTP/1.1\r\nHost: a",
    b"GET /a/b?c=d#e HTTP/1.1\r\nHost: a\r\nAccept: */*",
    b"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 12\r\nContent-Type: text/plain",
    b"GET / HTTP/1.0\r\nConnection: keep-alive",
    b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close",
    b"GET / HTTP/1.0",
    b"HEAD /x?y HTTP/1.1\r\nHost: a\r\nX-Empty:",
    b"GET / HTTP/1.1\r\nHost: a\r\nX-A: caf\xe9",  # obs-text
])
def test_plain_heads_take_the_short_path(head):
    assert check_agrees(head, context())


@pytest.mark.parametrize("head", [
    b"GET / HTTP/1.1\r\nHost: a\r\nHost: b",  # duplicate singleton
    b"GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1",
    b"GET / HTTP/1.1\r\nContent-Length: +1",
    b"GET / HTTP/1.1\r\nContent-Length: \xb2",  # a digit to str.isdigit(), not to HTTP
    b"GET / HTTP/1.1\r\nContent-Length: 12345678901234567890",
    b"GET / HTTP/1.1\r\nTransfer-Encoding: chunked",
    b"GET / HTTP/1.1\r\nExpect: 100-continue",
    b"GET / HTTP/1.1\r\nX-Forwarded-Proto: https",
    b"GET / HTTP/1.1\r\nConnection: keep-alive, Upgrade",
    b"GET / HTTP/1.1\r\nHost: a\r\n b",  # obs-fold
    b"GET / HTTP/1.1\r\nHost : a",
    b"GET / HTTP/1.1\r\nX_Forwarded_For: a",
    b"GET / HTTP/1.1\r\nX-A: a\x00b",
    b"GET / HTTP/1.1\r\nX-A: a\rb",
    b"GET / HTTP/1.1\r\nX-A: a\nb",
    b"GET / HTTP/1.1\r\nX-A: a\tb",
    b"GET / HTTP/1.1\r\nX-A: a\x7fb",
    b"GET / HTTP/1.1\r\nX-A: a\xa0b",  # valid obs-text, but not printable to Python
    b"GET / HTTP/1.1\r\nno colon",
    b"GET http://h/ HTTP/1.1",
    b"OPTIONS * HTTP/1.1",
    b"CONNECT /x HTTP/1.1",
    b"get / HTTP/1.1",
    b"PROPFIND / HTTP/1.1",
    b"GET / HTTP/1.2",
    b"GET /\x80 HTTP/1.1",
    b"GET  / HTTP/1.1",
    b"GET / HTTP/1.1 ",
])
def test_unusual_heads_are_left_to_the_full_parser(head):
    ctx = context()
    full_parse(b"GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\nContent-Length: 1\r\nConnection: close"
               b"\r\nContent-Type: t\r\nTransfer-Encoding: chunked\r\nExpect: x", ctx)
    assert parse_common_head(head, ctx, 1) is None


def test_limits_are_left_to_the_full_parser():
    head = b"GET /" + b"a" * 30 + b" HTTP/1.1\r\nHost: a\r\nX-A: " + b"b" * 40
    assert parse_common_head(head, context({"limit_request_line": 20}), 1) is None
    assert parse_common_head(head, context({"limit_request_fields": 1}), 1) is None
    assert parse_common_head(head, context({"limit_request_field_size": 16}), 1) is None
    assert parse_common_head(head, context(), 1) is not None
    # Its request line is remembered now; the limits still apply.
    assert parse_common_head(head, context({"limit_request_line": 20}), 1) is None


def test_long_request_lines_are_parsed_but_not_remembered():
    from gunicorn.http import common_head

    ctx = context()
    full_parse(b"GET / HTTP/1.1\r\nHost: a", ctx)
    head = b"GET /" + b"x" * 300 + b" HTTP/1.1\r\nHost: a"
    assert check_agrees(head, ctx)
    assert head.split(b"\r\n")[0].decode() not in common_head._LINES
    assert "GET / HTTP/1.1" in common_head._LINES


def test_a_custom_scheme_header_is_left_to_the_full_parser():
    ctx = context({"secure_scheme_headers": {"HOST": "secure.example"}})
    assert parse_common_head(b"GET / HTTP/1.1\r\nHost: secure.example", ctx, 1) is None
    assert parse_head(b"GET / HTTP/1.1\r\nHost: secure.example", ctx).scheme == "https"


def test_tls_scheme():
    ctx = context(is_ssl=True)
    full_parse(b"GET / HTTP/1.1\r\nHost: a", ctx)
    assert parse_common_head(b"GET / HTTP/1.1\r\nHost: a", ctx, 1).scheme == "https"


TCHARS = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
REQUEST_LINES = st.sampled_from([
    "GET / HTTP/1.1", "POST /a?b=c HTTP/1.1", "HEAD /x#y HTTP/1.0", "PUT /%20 HTTP/1.1",
    "DELETE //x HTTP/1.1", "GET http://h/x HTTP/1.1", "OPTIONS * HTTP/1.1",
    "CONNECT h:1 HTTP/1.1", "GET / HTTP/1.2", "GET / HTTP/2.0", "get / HTTP/1.1",
    "GET /\x7f HTTP/1.1", "GET /\xe9 HTTP/1.1", "GET / HTTP/1.1 ", "GET\t/ HTTP/1.1",
    "PROPFIND / HTTP/1.1", "GET / http/1.1", "GET /a b HTTP/1.1", "GET /\x00 HTTP/1.1",
])
NAMES = st.one_of(
    st.sampled_from(["Host", "Content-Length", "Content-Type", "Connection", "Expect",
                     "Transfer-Encoding", "X-Forwarded-Proto", "X-Forwarded-Ssl",
                     "Accept", "X_Under", "X-A ", " X-A", "", "Ho\x00st", "Cookie"]),
    st.text(alphabet=TCHARS, min_size=1, max_size=8),
)
VALUES = st.one_of(
    st.sampled_from(["a", "", " a ", "\ta\t", "0", "12", "+1", "1 ", "\xb3", "\xb2",
                     "12345678901234567890", "close", "keep-alive", "Keep-Alive, Upgrade",
                     "CLOSE", "chunked", "100-continue", "https", "on", "a\x00b", "a\rb",
                     "a\nb", "a\x7f", "caf\xe9", "\xa0", "a\tb"]),
    st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0xFF), max_size=10),
)
FIELD_LINES = st.one_of(
    st.tuples(NAMES, VALUES).map(lambda nv: "%s:%s" % nv),
    st.sampled_from([" folded", "\tfolded", "no colon", ":empty name", "Host: a\rX: b"]),
)
OPTIONS = st.fixed_dictionaries({}, optional={
    "strip_header_spaces": st.booleans(),
    "permit_obsolete_folding": st.booleans(),
    "permit_unconventional_http_method": st.booleans(),
    "permit_unconventional_http_version": st.booleans(),
    "casefold_http_method": st.booleans(),
    "header_map": st.sampled_from(["drop", "refuse", "dangerous"]),
    "limit_request_line": st.sampled_from([0, 20, 4094]),
    "limit_request_fields": st.sampled_from([1, 3, 100]),
    "limit_request_field_size": st.sampled_from([0, 16, 8190]),
})


# HYPOTHESIS_LONG=1 raises the example count, as in test_http_properties.
@settings(max_examples=5000 if os.environ.get("HYPOTHESIS_LONG") else 600, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(REQUEST_LINES, st.lists(FIELD_LINES, max_size=6), OPTIONS, st.booleans(), st.booleans())
def test_any_head_gets_the_full_parsers_answer(line, fields, options, trusted, is_ssl):
    head = "\r\n".join([line] + fields).encode("latin-1")
    if b"\r\n\r\n" in head:
        return  # not one head
    check_agrees(head, context(options, trusted, is_ssl))


PLAIN_LINES = st.builds(
    "{} {} HTTP/1.{}".format,
    st.sampled_from(["GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "PATCH", "TRACE"]),
    st.text(alphabet="abcXYZ019-._~%/=&?#!$'()*+,;:@", max_size=20).map(lambda p: "/" + p),
    st.sampled_from("01"),
)
PLAIN_FIELDS = st.tuples(
    st.one_of(st.text(alphabet=TCHARS, min_size=1, max_size=8),
              st.sampled_from(["Host", "Content-Length", "Content-Type", "Connection"])),
    st.one_of(st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF,
                                             blacklist_characters="\x7f"), max_size=12),
              st.sampled_from(["5", "close", "keep-alive", "Keep-Alive", " 7 "])),
).map(lambda nv: "%s: %s" % nv)


@settings(max_examples=5000 if os.environ.get("HYPOTHESIS_LONG") else 600, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(PLAIN_LINES, st.lists(PLAIN_FIELDS, max_size=6), OPTIONS, st.booleans())
def test_mostly_plain_heads_get_the_full_parsers_answer(line, fields, options, is_ssl):
    head = "\r\n".join([line] + fields).encode("latin-1")
    check_agrees(head, context(options, True, is_ssl))
