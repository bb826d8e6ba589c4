"""send_whole_response() writes and decides exactly what send(Response), send(Data), send(EndOfMessage) do."""

import re

import pytest
from corpus.inprocess import PEER, SERVER, StubConfig

from gunicorn.http.errors import LocalProtocolError
from gunicorn.http.events import Data, EndOfMessage, Response
from gunicorn.http.protocol import HTTP1Protocol

DATE_RE = re.compile(rb"Date: [^\r]*\r\n")


def ready(request):
    p = HTTP1Protocol(StubConfig(), PEER, SERVER, False)
    p.receive_data(request)
    p.next_event()
    return p


def state(p):
    return (p.our_state, p.their_state, p.keep_alive, p.response_framing, p.response_status)


@pytest.mark.parametrize("request_bytes", [
    b"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
    b"HEAD / HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET / HTTP/1.0\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
])
@pytest.mark.parametrize("status, headers, body", [
    (200, [("Content-Length", "5")], b"hello"),
    (200, [("Content-Length", "3")], b"hello"),  # too long: cut, not reusable
    (200, [("Content-Length", "9")], b"hello"),  # too short: not reusable
    (200, [], b"hello"),  # chunked (1.1) or close-delimited (1.0)
    (200, [], b""),
    (204, [], b""),
    (304, [("Content-Length", "5")], b"hello"),
    (101, [("Upgrade", "x"), ("Connection", "upgrade")], b"raw"),
])
def test_same_bytes_and_state_as_three_sends(request_bytes, status, headers, body):
    one = ready(request_bytes)
    head, data, tail = one.send_whole_response(Response(status, "", list(headers)), body)
    three = ready(request_bytes)
    expected = (three.send(Response(status, "", list(headers))), three.send(Data(body)),
                three.send(EndOfMessage()))
    assert DATE_RE.sub(b"", head) == DATE_RE.sub(b"", expected[0])
    assert (data, tail) == expected[1:]
    assert state(one) == state(three)


def test_out_of_order_is_refused_like_send():
    p = ready(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
    p.send(Response(200, "", [("Content-Length", "1")]))
    with pytest.raises(LocalProtocolError):
        p.send_whole_response(Response(200, "", []), b"x")


def test_the_connection_is_reusable_after_it():
    p = ready(b"GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n")
    p.send_whole_response(Response(200, "", [("Content-Length", "2")]), b"ok")
    p.start_next_cycle()
    assert p.next_event().path == "/2"


class _OwnSend(HTTP1Protocol):
    def send(self, event):
        return super().send(event)


class _OwnBoth(_OwnSend):
    def send_whole_response(self, event, body):
        return super().send_whole_response(event, body)


class _Plain(HTTP1Protocol):
    pass


@pytest.mark.parametrize("cls, usable", [
    (HTTP1Protocol, True), (_Plain, True), (_OwnSend, False), (_OwnBoth, True),
], ids=["core", "subclass", "overrides-send", "overrides-both"])
def test_whole_sender_only_where_send_is_not_overridden(cls, usable):
    # A subclass that changes send() must see every response event: the one-call
    # path would go around it.
    from gunicorn.http.connection import whole_response_sender

    proto = cls(StubConfig(), PEER, SERVER)
    assert (whole_response_sender(proto) is not None) is usable
