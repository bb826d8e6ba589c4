"""wsgi.input over the protocol: read/readline/iteration, chunked bodies, 100-continue."""

import pytest
from wsgi_support import PieceSocket, make_cfg

from gunicorn.http.errors import ParseError
from gunicorn.http.protocol import HTTP1Protocol
from gunicorn.wsgi.connection import ClientConnection
from gunicorn.wsgi.input import RequestBody

BODY = b"line one\nline two\r\n\nlast line without newline"


def chunked(data, size=5):
    out = b""
    for i in range(0, len(data), size):
        part = data[i:i + size]
        out += b"%x\r\n%s\r\n" % (len(part), part)
    return out + b"0\r\n\r\n"


def open_body(raw, piece=3):
    sock = PieceSocket(raw, piece=piece)
    cfg = make_cfg()
    conn = ClientConnection(sock, HTTP1Protocol(cfg, ("127.0.0.1", 1), ("127.0.0.1", 2)))
    req = conn.next_event()
    return RequestBody(conn, req), sock, req


def cl_request(body, extra=b""):
    return (b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: %d\r\n%s\r\n" % (len(body), extra)
            + body)


def te_request(body, extra=b""):
    return b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n%s\r\n" % extra + \
        chunked(body)


FRAMINGS = [pytest.param(cl_request, id="content-length"), pytest.param(te_request, id="chunked")]


@pytest.mark.parametrize("make", FRAMINGS)
@pytest.mark.parametrize("piece", [1, 3, 64])
def test_read_all(make, piece):
    body, _, _ = open_body(make(BODY), piece)
    assert body.read() == BODY
    assert body.read() == b""
    assert body.complete


@pytest.mark.parametrize("make", FRAMINGS)
def test_read_sized(make):
    body, _, _ = open_body(make(BODY))
    parts = []
    while True:
        part = body.read(4)
        if not part:
            break
        assert len(part) <= 4
        parts.append(part)
    assert b"".join(parts) == BODY
    assert all(len(p) == 4 for p in parts[:-1])


@pytest.mark.parametrize("make", FRAMINGS)
def test_readline_and_iteration(make):
    expected = [b"line one\n", b"line two\r\n", b"\n", b"last line without newline"]
    body, _, _ = open_body(make(BODY))
    assert list(body) == expected
    body, _, _ = open_body(make(BODY))
    assert [body.readline() for _ in range(5)] == expected + [b""]


@pytest.mark.parametrize("make", FRAMINGS)
def test_readline_with_size(make):
    body, _, _ = open_body(make(BODY))
    assert body.readline(4) == b"line"
    assert body.readline(100) == b" one\n"
    assert body.readline(0) == b""
    assert body.readline(-1) == b"line two\r\n"


@pytest.mark.parametrize("make", FRAMINGS)
def test_readlines_hint(make):
    body, _, _ = open_body(make(BODY))
    assert body.readlines(5) == [b"line one\n"]
    assert body.readlines() == [b"line two\r\n", b"\n", b"last line without newline"]


def test_reads_pull_lazily():
    big = b"x" * 100_000
    body, sock, _ = open_body(cl_request(big), piece=1000)
    before = sock.recv_calls
    assert body.read(10) == b"x" * 10
    # Only what was needed was read from the socket, not the whole body.
    assert sock.recv_calls - before <= 2
    assert len(sock.inbox) > 90_000


def test_empty_body():
    body, _, _ = open_body(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
    assert body.read() == b""
    assert body.readline() == b""
    assert body.complete


def test_trailers_recorded():
    raw = (b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
           b"3\r\nabc\r\n0\r\nX-Sum: 9\r\n\r\n")
    body, _, req = open_body(raw)
    assert body.read() == b"abc"
    assert [(k.upper(), v) for k, v in req.trailers] == [("X-SUM", "9")]


def test_continue_sent_once_on_first_read():
    body, sock, _ = open_body(cl_request(BODY, b"Expect: 100-continue\r\n"))
    assert bytes(sock.out) == b""
    assert body.read(3) == BODY[:3]
    assert bytes(sock.out).startswith(b"HTTP/1.1 100 Continue\r\n")
    sent = bytes(sock.out)
    body.read()
    body.readline()
    assert bytes(sock.out) == sent


def test_no_continue_without_expectation():
    body, sock, _ = open_body(cl_request(BODY))
    body.read()
    assert bytes(sock.out) == b""


def test_no_continue_for_bodyless_request():
    body, sock, _ = open_body(b"GET / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n\r\n")
    assert body.read() == b""
    assert bytes(sock.out) == b""


def test_drain_refuses_when_client_awaits_continue():
    body, sock, _ = open_body(cl_request(BODY, b"Expect: 100-continue\r\n"))
    assert body.drain() is False
    assert bytes(sock.out) == b""


def test_drain_discards_the_rest():
    body, _, _ = open_body(cl_request(BODY))
    body.read(2)
    assert body.drain() is True
    assert body.complete


def test_drain_is_bounded():
    body, _, _ = open_body(cl_request(b"y" * 5000), piece=100)
    assert body.drain(limit=1000) is False


def test_truncated_body_raises_parse_error():
    raw = cl_request(BODY)[:-5]
    body, _, _ = open_body(raw)
    with pytest.raises(ParseError):
        body.read()


def test_bad_chunk_raises_parse_error():
    raw = b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\nabc\r\n"
    body, _, _ = open_body(raw)
    with pytest.raises(ParseError) as info:
        body.read()
    assert info.value.status_code == 400


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_OPS = st.lists(st.one_of(
    st.tuples(st.just("read"), st.integers(-1, 40)),
    st.tuples(st.just("readline"), st.integers(-1, 40)),
    st.tuples(st.just("readlines"), st.integers(-1, 40)),
), max_size=30)


@settings(max_examples=150, deadline=None)
@given(data=st.binary(max_size=300).map(lambda b: b.replace(b"x", b"\n")),
       piece=st.integers(1, 50), chunk=st.integers(1, 30), use_chunked=st.booleans(),
       ops=_OPS)
def test_any_read_pattern_yields_the_body_in_order(data, piece, chunk, use_chunked, ops):
    if use_chunked:
        raw = b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n" + \
            chunked(data, chunk)
    else:
        raw = cl_request(data)
    body, _, _ = open_body(raw, piece)
    got = b""
    for op, arg in ops:
        if op == "read":
            part = body.read(arg)
            assert arg < 0 or len(part) <= arg
        elif op == "readline":
            part = body.readline(arg)
            assert arg < 0 or len(part) <= max(arg, 0)
            assert b"\n" not in part[:-1]
        else:
            part = b"".join(body.readlines(arg))
        got += part
    got += body.read()
    assert got == data
