"""The per-connection state machine: gunicorn.http.connection / protocol."""

import pytest
from corpus.inprocess import PEER, SERVER, StubConfig

from gunicorn.http import errors
from gunicorn.http.connection import DONE, ERROR, IDLE, SEND_BODY, SEND_RESPONSE
from gunicorn.http.errors import LocalProtocolError
from gunicorn.http.events import (
    NEED_DATA,
    PAUSED,
    ConnectionClosed,
    Data,
    EndOfMessage,
    InformationalResponse,
    Request,
    Response,
)
from gunicorn.http.protocol import HTTP1Protocol


def proto(**settings):
    return HTTP1Protocol(StubConfig(**settings), PEER, SERVER, False)


def events(p):
    out = []
    while True:
        event = p.next_event()
        if event is NEED_DATA or event is PAUSED:
            return out, event
        out.append(event)
        if isinstance(event, (EndOfMessage, ConnectionClosed)):
            return out, None


def respond(p, *chunks, headers=()):
    out = p.send(Response(200, "OK", list(headers)))
    for chunk in chunks:
        out += p.send(Data(chunk))
    return out + p.send(EndOfMessage())


def test_entry_point_registered():
    from importlib.metadata import entry_points
    eps = {ep.name: ep for ep in entry_points(group="gunicorn.protocols")}
    assert eps["http"].load() is HTTP1Protocol


def test_full_cycle_and_states():
    p = proto()
    assert p.next_event() is NEED_DATA
    p.receive_data(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
    req = p.next_event()
    assert isinstance(req, Request) and p.their_state == SEND_BODY
    assert p.our_state == SEND_RESPONSE and p.request is req
    assert p.next_event() == EndOfMessage()
    assert p.their_state == DONE and p.next_event() is PAUSED
    wire = respond(p, b"hi", headers=[("Content-Length", "2")])
    assert wire.startswith(b"HTTP/1.1 200 OK\r\n") and wire.endswith(b"\r\n\r\nhi")
    assert p.our_state == DONE and p.keep_alive
    p.start_next_cycle()
    assert (p.their_state, p.our_state) == (IDLE, IDLE)
    p.receive_data(b"")
    assert p.next_event() == ConnectionClosed()
    assert p.next_event() == ConnectionClosed()
    assert not p.keep_alive


def test_pipelined_bytes_kept_across_cycles():
    p = proto()
    p.receive_data(b"GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\nGET /3 HTTP/1.1\r\nHost: x\r\n\r\n")
    paths = []
    for _ in range(3):
        evs, _ = events(p)
        paths.append(evs[0].path)
        assert p.next_event() is PAUSED
        respond(p)
        p.start_next_cycle()
    assert paths == ["/1", "/2", "/3"]
    assert p.req_number == 3


def test_next_request_not_parsed_before_response_done():
    p = proto()
    p.receive_data(b"GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\n")
    events(p)
    assert p.next_event() is PAUSED
    with pytest.raises(LocalProtocolError):
        p.start_next_cycle()


def test_body_is_streamed_as_it_arrives():
    p = proto()
    p.receive_data(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\n\r\nab")
    assert isinstance(p.next_event(), Request)
    assert p.next_event() == Data(b"ab")
    assert p.next_event() is NEED_DATA
    p.receive_data(b"cdefGET")
    assert p.next_event() == Data(b"cdef")
    assert p.next_event() == EndOfMessage()
    assert p.trailing_data == (b"GET", False)


def test_peer_closing_mid_body_raises_no_more_data():
    p = proto()
    p.receive_data(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\n\r\nab")
    p.next_event()
    p.next_event()
    p.receive_data(b"")
    with pytest.raises(errors.NoMoreData) as info:
        p.next_event()
    assert info.value.req is p.request
    assert p.their_state == ERROR and not p.keep_alive
    with pytest.raises(errors.ParseError):
        p.next_event()


def test_parse_error_puts_connection_in_error():
    p = proto()
    p.receive_data(b"get / HTTP/1.1\r\nHost: x\r\n\r\n")
    with pytest.raises(errors.InvalidRequestMethod) as info:
        p.next_event()
    assert not p.keep_alive
    wire = p.send_error(info.value)
    assert wire.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert b"Connection: close\r\n" in wire


def test_error_page_for_head_has_no_content():
    # RFC 9110 section 9.3.2: the framing error is found once the HEAD head parsed.
    p = proto()
    p.receive_data(b"HEAD / HTTP/1.1\r\nHost: a\r\nContent-Length: x\r\n\r\n")
    with pytest.raises(errors.InvalidContentLength) as info:
        p.next_event()
    wire = p.send_error(info.value)
    assert wire.startswith(b"HTTP/1.1 400 Bad Request\r\n") and wire.endswith(b"\r\n\r\n")
    assert b"Invalid" not in wire


def test_request_line_limit_before_line_ends():
    p = proto(limit_request_line=10)
    p.receive_data(b"GET /12345678")
    with pytest.raises(errors.LimitRequestLine):
        p.next_event()


def test_request_line_at_limit_waits_for_more():
    p = proto(limit_request_line=14)
    p.receive_data(b"GET / HTTP/1.1\r")
    assert p.next_event() is NEED_DATA
    p.receive_data(b"\nHost: x\r\n\r\n")
    assert isinstance(p.next_event(), Request)


def test_head_size_bound_while_incomplete():
    p = proto(limit_request_fields=2, limit_request_field_size=10)
    p.receive_data(b"GET / HTTP/1.1\r\nHost: x\r\n" + b"X: 1\r\n" * 2000)
    with pytest.raises(errors.LimitRequestHeaders):
        p.next_event()


def test_bare_lf_detected_before_head_completes():
    p = proto()
    p.receive_data(b"GET / HTTP/1.1\r\nHost: a\n")
    with pytest.raises(errors.InvalidHeader):
        p.next_event()


@pytest.mark.parametrize("data", [
    # A TLS ClientHello sent to a plain-HTTP port: no CRLF ever comes.
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 40,
    b"GET /\x00",
    b"GET / HTTP/1.1\rHost",
    b"GET / HTTP/1.1\x7f",
    b"\r\nGET /\x16",
    # A second empty line is an empty request line (upstream: 400 too).
    b"\r\n\r\n", b"\r\n\r\n\x00",
])
def test_bad_request_line_refused_before_head_completes(data):
    p = proto()
    p.receive_data(data)
    with pytest.raises(errors.InvalidRequestLine):
        p.next_event()


@pytest.mark.parametrize("data", [
    b"GET / HTTP/1.1\r", b"GET / HTTP/1.1\r\nHost: x\r\nX-A: \x01", b"\r\n", b"\r\nGET /",
    b"\r\n\r",
])
def test_partial_request_line_waits_for_more(data):
    # A CR that may start the CRLF, a control in a field line (the full
    # parser names what is wrong), one skipped empty line: not refused early.
    p = proto()
    p.receive_data(data)
    assert p.next_event() is NEED_DATA


def test_one_leading_crlf_skipped_even_when_split():
    p = proto()
    p.receive_data(b"\r")
    assert p.next_event() is NEED_DATA
    p.receive_data(b"\nGET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert isinstance(p.next_event(), Request)


def test_expect_continue_flow():
    p = proto()
    p.receive_data(b"PUT / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n")
    req = p.next_event()
    assert req.expect_continue
    assert p.next_event() is NEED_DATA
    assert p.send(InformationalResponse(100)) == b"HTTP/1.1 100 Continue\r\n\r\n"
    assert p.send(InformationalResponse(100)) == b""  # only once
    p.receive_data(b"ok")
    assert p.next_event() == Data(b"ok")
    assert p.next_event() == EndOfMessage()
    respond(p)
    assert p.keep_alive


def test_expect_continue_unanswered_closes_connection():
    p = proto()
    p.receive_data(b"PUT / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n")
    p.next_event()
    wire = respond(p, headers=[("Content-Length", "0")])
    assert b"Connection: close\r\n" in wire and not p.keep_alive


def test_early_hints_and_http10_gets_no_1xx():
    p = proto()
    p.receive_data(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    p.next_event()
    wire = p.send(InformationalResponse(103, [("Link", "</s.css>; rel=preload")]))
    assert wire == b"HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n"
    p10 = proto()
    p10.receive_data(b"GET / HTTP/1.0\r\n\r\n")
    p10.next_event()
    assert p10.send(InformationalResponse(103, [("Link", "x")])) == b""


def test_send_order_enforced():
    p = proto()
    with pytest.raises(LocalProtocolError):
        p.send(Response(200))
    p.receive_data(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    p.next_event()
    with pytest.raises(LocalProtocolError):
        p.send(Data(b"x"))
    with pytest.raises(LocalProtocolError):
        p.send(EndOfMessage())
    p.send(Response(200))
    with pytest.raises(LocalProtocolError):
        p.send(Response(200))
    with pytest.raises(LocalProtocolError):
        p.send(InformationalResponse(100))
    with pytest.raises(LocalProtocolError):
        p.send("junk")


def test_short_content_length_response_closes():
    p = proto()
    p.receive_data(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    events(p)
    respond(p, b"abc", headers=[("Content-Length", "5")])
    assert not p.keep_alive
    with pytest.raises(LocalProtocolError):
        p.start_next_cycle()


def test_long_content_length_response_truncated_and_closes():
    p = proto()
    p.receive_data(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    events(p)
    p.send(Response(200, "OK", [("Content-Length", "3")]))
    assert p.send(Data(b"abcdef")) == b"abc"
    assert p.send(Data(b"x")) == b""
    p.send(EndOfMessage())
    assert not p.keep_alive


def test_http10_response_is_close_delimited():
    p = proto()
    p.receive_data(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
    events(p)
    wire = respond(p, b"abc")
    assert wire.startswith(b"HTTP/1.0 200 OK\r\n")
    assert b"Connection: close\r\n" in wire and wire.endswith(b"\r\n\r\nabc")
    assert not p.keep_alive


def test_http10_keep_alive_with_length():
    p = proto()
    p.receive_data(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
    events(p)
    wire = respond(p, b"abc", headers=[("Content-Length", "3")])
    assert b"Connection: keep-alive\r\n" in wire and p.keep_alive


def test_chunked_response_on_http11():
    p = proto()
    p.receive_data(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    events(p)
    wire = respond(p, b"hello", b"", b"!")
    assert b"Transfer-Encoding: chunked\r\n" in wire
    assert wire.endswith(b"\r\n\r\n5\r\nhello\r\n1\r\n!\r\n0\r\n\r\n")
    assert p.response_framing == "chunked" and p.keep_alive


def test_head_response_has_no_body_but_keeps_length():
    p = proto()
    p.receive_data(b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\n")
    events(p)
    wire = respond(p, b"ignored", headers=[("Content-Length", "7")])
    assert wire.endswith(b"Content-Length: 7\r\n\r\n") and p.keep_alive


@pytest.mark.parametrize("status", [204, 304])
def test_no_body_statuses(status):
    p = proto()
    p.receive_data(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    events(p)
    wire = p.send(Response(status, "", [("Content-Length", "3")]))
    wire += p.send(Data(b"abc")) + p.send(EndOfMessage())
    assert wire.endswith(b"\r\n\r\n") and b"Transfer-Encoding" not in wire
    assert (b"Content-Length" in wire) == (status == 304)
    assert p.keep_alive


def test_app_connection_close_honoured():
    p = proto()
    p.receive_data(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    events(p)
    wire = respond(p, headers=[("Connection", "close"), ("Content-Length", "0")])
    assert wire.count(b"Connection:") == 1 and b"Connection: close" in wire
    assert not p.keep_alive


def test_request_connection_close_answered_with_close():
    p = proto()
    p.receive_data(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    events(p)
    assert b"Connection: close" in respond(p, headers=[("Content-Length", "0")])
    assert not p.keep_alive


def test_upgrade_101_passes_bytes_through():
    p = proto()
    p.receive_data(b"GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
    events(p)
    wire = p.send(Response(101, "Switching Protocols", [("Upgrade", "websocket"),
                                                         ("Connection", "Upgrade")]))
    assert b"Connection: upgrade\r\n" in wire
    assert p.send(Data(b"\x81\x00")) == b"\x81\x00"
    assert not p.keep_alive


def test_note_body_sent_for_sendfile():
    p = proto()
    p.receive_data(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    events(p)
    p.send(Response(200, "OK", [("Content-Length", "10")]))
    assert p.response_framing == "content-length"
    p.note_body_sent(10)
    p.send(EndOfMessage())
    assert p.keep_alive


def test_peer_close_after_request_done_keeps_response_possible():
    p = proto()
    p.receive_data(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    p.receive_data(b"")
    events(p)
    respond(p)
    assert not p.keep_alive


def test_connection_closed_event_can_be_sent():
    p = proto()
    assert p.send(ConnectionClosed()) == b""
    assert not p.keep_alive


def test_keep_alive_false_after_http10_request():
    p = proto()
    p.receive_data(b"GET / HTTP/1.0\r\n\r\n")
    events(p)
    assert not p.keep_alive


def test_bodyless_request_completes_without_reading_end_of_message():
    p = proto()
    p.receive_data(b"GET /1 HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\n")
    assert p.next_event().path == "/1"
    respond(p)
    assert p.keep_alive
    p.start_next_cycle()
    assert p.next_event().path == "/2"
