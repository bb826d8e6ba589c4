"""A client's graceful GOAWAY (RFC 9113 section 6.8): no new streams, the open ones are still answered."""

import socket
import time

import h2.events
from conftest import Pair, h2_client, h2c_server
from frames import GET, data, goaway, headers
from hyperframe.frame import WindowUpdateFrame

from gunicorn.http2 import events as ev


def test_streams_open_before_the_clients_goaway_still_exchange_frames():
    p = Pair()
    p.exchange()
    p.request(stream_id=1, method="POST", end=False)
    events = p.server.receive_data(goaway() + data(1, b"abc", end_stream=True))
    assert [type(e) for e in events] == [ev.ConnectionEnded, ev.StreamData, ev.StreamEnded]
    assert events[0].by_peer and events[0].error_code == 0
    assert p.server.goaway_received and not p.server.ended
    p.server.send_response(1, 200, [])
    p.server.send_data(1, b"x" * 70000, end_stream=True)
    assert p.server.queued_bytes(1) > 0
    more = WindowUpdateFrame(1)
    more.window_increment = 10000
    conn_more = WindowUpdateFrame(0)
    conn_more.window_increment = 10000
    p.server.receive_data(more.serialize() + conn_more.serialize())
    assert p.server.queued_bytes(1) == 0 and p.server.is_answered(1)
    # A stream opened after its own GOAWAY is refused.
    assert p.server.receive_data(headers(3, GET)) == []
    # Then the peer closes: that ends it.
    assert type(p.server.receive_data(b"")[-1]) is ev.ConnectionEnded and p.server.ended


def test_frames_queued_before_a_goaway_are_not_lost():
    # h2 clears what it has not handed out when a GOAWAY arrives.
    p = Pair()
    p.exchange()
    p.request(stream_id=1)
    p.server.send_response(1, 204, [], end_stream=True)
    p.server.receive_data(goaway())
    p.to_client()
    assert any(isinstance(e, h2.events.ResponseReceived) for e in p.client_events)


def test_a_goaway_with_an_error_still_ends_the_connection():
    p = Pair()
    p.exchange()
    p.request(stream_id=1)
    events = p.server.receive_data(goaway(code=2) + data(1, b"x"))
    assert [type(e) for e in events] == [ev.ConnectionEnded]
    assert p.server.ended


def test_gthread_answers_a_request_sent_with_goaway():
    # The request and the client's GOAWAY in one write: the answer still comes
    # (as upstream 27.0.1 gives it), then our GOAWAY, then the close.
    with h2c_server() as srv:
        sock = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
        client = h2_client()
        client.send_headers(1, [(":method", "GET"), (":path", "/slow?0.2"), (":scheme", "http"),
                                (":authority", "h")], end_stream=True)
        client.close_connection()
        sock.sendall(client.data_to_send())
        received = b""
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
        sock.close()
        assert b"slept" in received
        assert received[-17 + 3] == 0x07     # the last frame is our GOAWAY
