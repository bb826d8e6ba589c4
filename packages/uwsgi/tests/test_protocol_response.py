"""UWSGIProtocol, response side: what nginx reads back (an HTTP/1.x head, never chunked)."""

import pytest
from conftest import make_proto

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
from gunicorn.uwsgi.errors import ForbiddenUWSGIRequest
from gunicorn.uwsgi.packet import encode_packet


def start(method="GET", protocol="HTTP/1.1", **more):
    proto = make_proto()
    pairs = [("REQUEST_METHOD", method), ("REQUEST_URI", "/"), ("SERVER_PROTOCOL", protocol)]
    proto.receive_data(encode_packet(pairs + list(more.items())))
    assert isinstance(proto.next_event(), Request)
    assert proto.next_event() == EndOfMessage()
    return proto


def head_lines(head: bytes):
    assert head.endswith(b"\r\n\r\n")
    status, *fields = head[:-4].decode("latin-1").split("\r\n")
    return status, [tuple(f.split(": ", 1)) for f in fields]


def test_content_length_response_keeps_alive():
    proto = start()
    head = proto.send(Response(200, "OK", [("Content-Type", "text/plain"),
                                           ("Content-Length", "5")]))
    status, fields = head_lines(head)
    assert status == "HTTP/1.1 200 OK"
    names = [name for name, _ in fields]
    assert "Date" in names and "Server" in names
    assert ("Connection", "keep-alive") in fields
    assert ("Content-Length", "5") in fields
    assert proto.send(Data(b"hello")) == b"hello"
    assert proto.send(EndOfMessage()) == b""
    assert proto.keep_alive
    proto.start_next_cycle()
    assert proto.next_event() is NEED_DATA


@pytest.mark.parametrize("protocol", ["HTTP/1.1", "HTTP/1.0", "HTTP/2.0"])
def test_unknown_length_is_close_delimited_never_chunked(protocol):
    proto = start(protocol=protocol)
    status, fields = head_lines(proto.send(Response(200, "OK", [("Content-Type", "text/plain")])))
    assert status.startswith("HTTP/1.")
    assert not any(name.lower() == "transfer-encoding" for name, _ in fields)
    assert ("Connection", "close") in fields
    body = b"".join(proto.send(Data(b"x" * 1000)) for _ in range(5))
    assert body == b"x" * 5000  # raw bytes, no chunk framing
    assert proto.send(EndOfMessage()) == b""
    assert not proto.keep_alive
    with pytest.raises(RuntimeError):
        proto.start_next_cycle()


def test_app_transfer_encoding_header_is_dropped():
    proto = start()
    _, fields = head_lines(proto.send(Response(200, "OK", [("Transfer-Encoding", "chunked")])))
    assert not any(name.lower() == "transfer-encoding" for name, _ in fields)
    assert proto.send(Data(b"raw")) == b"raw"


def test_head_request_sends_no_body():
    proto = start(method="HEAD")
    proto.send(Response(200, "OK", [("Content-Length", "100")]))
    assert proto.send(Data(b"x" * 100)) == b""
    proto.send(EndOfMessage())
    assert proto.keep_alive


@pytest.mark.parametrize("status", [204, 304])
def test_no_body_statuses(status):
    proto = start()
    proto.send(Response(status, "", []))
    assert proto.send(Data(b"ignored")) == b""


def test_http10_status_line_follows_the_request():
    proto = start(protocol="HTTP/1.0")
    status, _ = head_lines(proto.send(Response(404, "Not Found", [("Content-Length", "0")])))
    assert status == "HTTP/1.0 404 Not Found"


def test_request_connection_close_is_honoured():
    proto = start(HTTP_CONNECTION="close")
    _, fields = head_lines(proto.send(Response(200, "OK", [("Content-Length", "0")])))
    assert ("Connection", "close") in fields
    proto.send(EndOfMessage())
    assert not proto.keep_alive


def test_short_body_poisons_keep_alive():
    proto = start()
    proto.send(Response(200, "OK", [("Content-Length", "10")]))
    proto.send(Data(b"abc"))
    proto.send(EndOfMessage())
    assert not proto.keep_alive


def test_informational_responses_are_not_sent():
    proto = start()
    assert proto.send(InformationalResponse(100)) == b""
    assert proto.send(InformationalResponse(103, [("Link", "</a.css>; rel=preload")])) == b""
    assert proto.send(Response(200, "OK", [("Content-Length", "0")])).startswith(b"HTTP/1.1 200")


def test_misuse_is_refused():
    proto = start()
    with pytest.raises(RuntimeError):
        proto.send(Data(b"before head"))
    proto.send(Response(200, "OK", [("Content-Length", "0")]))
    with pytest.raises(RuntimeError):
        proto.send(Response(200, "OK", []))
    with pytest.raises(TypeError):
        proto.send("not an event")


def test_start_next_cycle_needs_both_sides_done():
    proto = start()
    with pytest.raises(RuntimeError):
        proto.start_next_cycle()
    proto.send(Response(200, "OK", [("Content-Length", "0")]))
    with pytest.raises(RuntimeError):
        proto.start_next_cycle()
    proto.send(EndOfMessage())
    proto.start_next_cycle()
    assert proto.next_event() is NEED_DATA


def test_response_before_any_request_for_an_error_page():
    proto = make_proto()
    head = proto.send(Response(403, "Forbidden", [("Content-Length", "0")]))
    assert head.startswith(b"HTTP/1.1 403 Forbidden\r\n")


def test_two_requests_on_one_connection():
    proto = make_proto()
    pairs = [("REQUEST_METHOD", "GET"), ("REQUEST_URI", "/1")]
    second = [("REQUEST_METHOD", "GET"), ("REQUEST_URI", "/2")]
    proto.receive_data(encode_packet(pairs) + encode_packet(second))
    assert proto.next_event().uri == "/1"
    assert proto.next_event() == EndOfMessage()
    assert proto.next_event() is PAUSED
    proto.send(Response(200, "OK", [("Content-Length", "1")]))
    proto.send(Data(b"1"))
    proto.send(EndOfMessage())
    proto.start_next_cycle()
    request = proto.next_event()
    assert request.uri == "/2" and request.req_number == 2
    assert proto.send(ConnectionClosed()) == b""


def test_sendfile_bytes_count_toward_content_length():
    proto = start()
    proto.send(Response(200, "OK", [("Content-Length", "10")]))
    proto.send(Data(b"abc"))
    assert proto.response_framing == "content-length"
    proto.note_body_sent(7)
    proto.send(EndOfMessage())
    assert proto.keep_alive


def test_response_framing_is_never_chunked():
    proto = start()
    assert proto.response_framing is None
    proto.send(Response(200, "OK", []))
    assert proto.response_framing == "close"


def test_send_error_renders_the_parse_error_and_closes():
    proto = make_proto(peer=("10.0.0.9", 1))
    proto.receive_data(encode_packet([("REQUEST_METHOD", "GET")]))
    with pytest.raises(ForbiddenUWSGIRequest) as info:
        proto.next_event()
    page = proto.send_error(info.value)
    assert page.startswith(b"HTTP/1.1 403 Forbidden\r\n")
    assert b"Connection: close" in page
    assert not proto.keep_alive


def test_force_close_by_the_worker_is_honoured():
    proto = start()
    proto.request.force_close()
    _, fields = head_lines(proto.send(Response(200, "OK", [("Content-Length", "0")])))
    assert ("Connection", "close") in fields
    proto.send(EndOfMessage())
    assert not proto.keep_alive


@pytest.mark.parametrize("headers", [
    [("Content-Length", "5")],
    [("Content-Length", "9")],  # fewer bytes than announced: must close
    [("X-A", "1")],  # no length: close-delimited
])
@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_whole_response_matches_the_three_sends(headers, method):
    one, three = start(method), start(method)
    response = Response(200, "OK", headers)
    whole = one.send_whole_response(response, b"hello")
    parts = (three.send(response), three.send(Data(b"hello")), three.send(EndOfMessage()))
    assert whole == parts
    assert one.keep_alive == three.keep_alive
    assert one.response_framing == three.response_framing


def test_error_page_for_a_head_request_has_no_body():
    from gunicorn.uwsgi.errors import InvalidUWSGIHeader
    page = start("HEAD").send_error(InvalidUWSGIHeader("late trouble"))
    assert page.startswith(b"HTTP/1.1 400 ") and page.endswith(b"\r\n\r\n")
    assert b"Content-Length: " in page  # the length of the page a GET would get
