"""UWSGIProtocol, request side: bytes in, core events out."""

import pytest
from conftest import LOCAL_PEER, drain, make_proto

from gunicorn.http.errors import NoMoreData, ParseError
from gunicorn.http.events import (
    NEED_DATA,
    PAUSED,
    ConnectionClosed,
    Data,
    EndOfMessage,
    Request,
    Response,
)
from gunicorn.uwsgi.errors import ForbiddenUWSGIRequest, InvalidUWSGIHeader, UnsupportedModifier
from gunicorn.uwsgi.packet import encode_packet


def get_packet(path="/p", query="a=1", **more):
    pairs = [("REQUEST_METHOD", "GET"), ("REQUEST_URI", f"{path}?{query}" if query else path),
             ("PATH_INFO", path), ("QUERY_STRING", query), ("SERVER_PROTOCOL", "HTTP/1.1"),
             ("REMOTE_ADDR", "203.0.113.7"), ("REMOTE_PORT", "5555"),
             ("SERVER_NAME", "example.com"), ("SERVER_PORT", "80"), ("HTTP_HOST", "example.com")]
    pairs += list(more.items())
    return encode_packet(pairs)


def post_packet(body: bytes, **more):
    pairs = [("REQUEST_METHOD", "POST"), ("REQUEST_URI", "/up"), ("PATH_INFO", "/up"),
             ("CONTENT_LENGTH", str(len(body))), ("CONTENT_TYPE", "application/octet-stream")]
    pairs += list(more.items())
    return encode_packet(pairs) + body


def test_get_request(proto):
    proto.receive_data(get_packet())
    request, end, paused = drain(proto)
    assert isinstance(request, Request)
    assert (request.method, request.uri, request.path, request.query) == ("GET", "/p?a=1", "/p",
                                                                          "a=1")
    assert request.version == (1, 1)
    assert request.headers == [("HOST", "example.com")]
    assert request.content_length == 0
    assert not request.chunked and not request.expect_continue
    assert not request.should_close()
    assert request.peer_addr == LOCAL_PEER
    assert request.extra_environ["REMOTE_ADDR"] == "203.0.113.7"
    assert request.extra_environ["wsgi.url_scheme"] == "http"
    assert end == EndOfMessage()
    assert paused is PAUSED
    assert proto.next_event() is PAUSED


def test_needs_data_until_the_packet_is_whole(proto):
    data = get_packet()
    for byte in data[:-1]:
        proto.receive_data(bytes([byte]))
        assert proto.next_event() is NEED_DATA
    proto.receive_data(data[-1:])
    assert isinstance(proto.next_event(), Request)


def test_post_body_framed_by_content_length(proto):
    body = bytes(range(256)) * 40
    data = post_packet(body)
    head = len(data) - len(body) + 10
    proto.receive_data(data[:head])
    assert isinstance(proto.next_event(), Request)
    received = bytearray()
    for start in range(head, len(data), 777):
        proto.receive_data(data[start:start + 777])
        for event in drain(proto):
            if isinstance(event, Data):
                received += event.data
    assert received == body
    assert proto.next_event() is PAUSED


def test_empty_post_ends_at_once(proto):
    proto.receive_data(post_packet(b""))
    request, end, _ = drain(proto)
    assert request.content_length == 0 and end == EndOfMessage()


def test_bytes_after_the_body_wait_for_the_next_cycle(proto):
    proto.receive_data(post_packet(b"abc") + get_packet("/second"))
    events = drain(proto)
    assert isinstance(events[0], Request)
    assert [type(e).__name__ for e in events[1:]] == ["Data", "EndOfMessage", "_Sentinel"]
    assert events[1].data == b"abc"
    proto.send(Response(200, "OK", [("Content-Length", "0")]))
    proto.send(EndOfMessage())
    proto.start_next_cycle()
    request = proto.next_event()
    assert request.path == "/second" and request.req_number == 2


def test_peer_close_between_requests(proto):
    proto.receive_data(b"")
    assert proto.next_event() == ConnectionClosed()
    assert not proto.keep_alive


@pytest.mark.parametrize("cut", [1, 3, 4, 20])
def test_peer_close_inside_the_packet_is_an_error(proto, cut):
    proto.receive_data(get_packet()[:cut])
    assert proto.next_event() is NEED_DATA
    proto.receive_data(b"")
    with pytest.raises(InvalidUWSGIHeader, match="truncated"):
        proto.next_event()
    assert not proto.keep_alive


def test_peer_close_inside_the_body(proto):
    proto.receive_data(post_packet(b"0123456789")[:-4])
    events = drain(proto)
    assert events[1] == Data(b"012345")
    proto.receive_data(b"")
    with pytest.raises(NoMoreData):
        proto.next_event()


def test_unknown_modifier_refused_from_the_first_four_bytes(proto):
    proto.receive_data(b"\x05\x10\x00\x00")
    with pytest.raises(UnsupportedModifier):
        proto.next_event()


def test_errors_are_sticky_and_end_keep_alive(proto):
    proto.receive_data(b"\x00\x06\x00\x00\x09\x00AB")  # key length overruns the block
    assert proto.next_event() is NEED_DATA
    proto.receive_data(b"CD")
    with pytest.raises(InvalidUWSGIHeader) as first:
        proto.next_event()
    with pytest.raises(InvalidUWSGIHeader) as second:
        proto.next_event()
    assert first.value is second.value
    assert isinstance(first.value, ParseError)
    assert not proto.keep_alive


@pytest.mark.parametrize("peer, allow, allowed", [
    (("127.0.0.1", 1), ["127.0.0.1", "::1"], True),
    (("::1", 1, 0, 0), ["127.0.0.1", "::1"], True),
    (("10.0.0.5", 1), ["127.0.0.1", "::1"], False),
    (("10.0.0.5", 1), ["10.0.0.0/8"], True),
    (("10.0.0.5", 1), "127.0.0.1,10.0.0.0/24", True),
    (("198.51.100.1", 1), ["*"], True),
    (("::ffff:127.0.0.1", 1, 0, 0), ["127.0.0.1"], True),
    (("127.0.0.1", 1), [], False),
    ("", [], True),
    ("/run/gunicorn.sock", ["127.0.0.1"], True),
    (None, [], True),
])
def test_uwsgi_allow_ips(peer, allow, allowed):
    proto = make_proto(peer=peer, uwsgi_allow_ips=allow)
    proto.receive_data(get_packet())
    if allowed:
        assert isinstance(proto.next_event(), Request)
    else:
        with pytest.raises(ForbiddenUWSGIRequest) as info:
            proto.next_event()
        assert info.value.status_code == 403
        assert peer[0] in str(info.value)


def test_forbidden_peer_that_sends_nothing_just_closes():
    proto = make_proto(peer=("10.0.0.5", 1))
    proto.receive_data(b"")
    assert proto.next_event() == ConnectionClosed()


def test_connection_close_var(proto):
    proto.receive_data(get_packet(HTTP_CONNECTION="close"))
    request = proto.next_event()
    assert request.should_close()
    assert not proto.keep_alive


def test_https_var_sets_scheme():
    proto = make_proto()
    proto.receive_data(get_packet(HTTPS="on"))
    request = proto.next_event()
    assert request.scheme == "https"
    assert request.extra_environ["wsgi.url_scheme"] == "https"


def test_tls_listener_means_https():
    proto = make_proto(is_ssl=True)
    proto.receive_data(get_packet())
    assert proto.next_event().scheme == "https"


def test_data_after_peer_close_is_a_bug(proto):
    proto.receive_data(b"")
    with pytest.raises(RuntimeError):
        proto.receive_data(b"x")


def test_datasize_limit_follows_the_request_head_limits():
    proto = make_proto(limit_request_line=4094, limit_request_fields=5,
                       limit_request_field_size=100)
    # the HTTP/1 head bound, plus the target twice more and nginx's CGI vars
    assert proto.max_datasize == (4094 + 4 + 5 * 102 + 4) + 2 * 4094 + 4096
    proto.receive_data(b"\x00" + (17000).to_bytes(2, "little") + b"\x00")
    with pytest.raises(InvalidUWSGIHeader, match="over the limit"):
        proto.next_event()


def test_default_limits_allow_the_largest_packet(proto):
    assert proto.max_datasize == 0xFFFF
    big = encode_packet([("REQUEST_METHOD", "GET"), ("HTTP_COOKIE", "c" * 65000)])
    proto.receive_data(big)
    assert proto.next_event().headers == [("COOKIE", "c" * 65000)]
