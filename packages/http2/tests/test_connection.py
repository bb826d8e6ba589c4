"""The sans-I/O HTTP2Connection driven with bytes from an h2 client."""

import h2.events
import pytest
from conftest import Pair, h2_client, make_cfg
from h2.settings import SettingCodes
from hyperframe.frame import GoAwayFrame

from gunicorn.http2 import events as ev
from gunicorn.http2.connection import HTTP2Connection
from gunicorn.http2.errors import FLOW_CONTROL_ERROR, PROTOCOL_ERROR, REFUSED_STREAM, StreamClosed


def of(kind, events):
    return [e for e in events if isinstance(e, kind)]


def test_first_settings_carry_the_configured_values():
    p = Pair(http2_max_concurrent_streams=7, http2_initial_window_size=100000,
             http2_max_frame_size=32768, http2_max_header_list_size=4000)
    p.to_server()
    p.to_client()
    changed = of(h2.events.RemoteSettingsChanged, p.client_events)[0].changed_settings
    got = {code: s.new_value for code, s in changed.items()}
    assert got[SettingCodes.MAX_CONCURRENT_STREAMS] == 7
    assert got[SettingCodes.INITIAL_WINDOW_SIZE] == 100000
    assert got[SettingCodes.MAX_FRAME_SIZE] == 32768
    assert got[SettingCodes.MAX_HEADER_LIST_SIZE] == 4000
    # The connection window grew to match the stream window.
    assert p.client.outbound_flow_control_window == 100000


def test_request_head_maps_pseudo_headers(pair):
    events = pair.request(path="/a/b%20c?x=1&y=2", headers=[("user-agent", "t"),
                                                            ("cookie", "a=1"), ("cookie", "b=2")])
    req_event = of(ev.StreamRequest, events)[0]
    assert req_event.stream_id == 1 and req_event.ended
    req = req_event.request
    assert (req.method, req.uri, req.path, req.query) == ("GET", "/a/b%20c?x=1&y=2",
                                                           "/a/b%20c", "x=1&y=2")
    assert req.version == (2, 0)
    assert ("HOST", "example.com") in req.headers
    assert ("USER-AGENT", "t") in req.headers
    assert ("COOKIE", "a=1; b=2") in req.headers
    assert not [n for n, _ in req.headers if n.startswith(":")]
    assert req.extra_environ["gunicorn.http2.priority_weight"] == 16
    assert req.extra_environ["gunicorn.http2.priority_depends_on"] == 0
    assert of(ev.StreamEnded, events)[0].stream_id == 1


def test_request_body_and_trailers(pair):
    pair.client.send_headers(1, [(":method", "POST"), (":path", "/up"), (":scheme", "http"),
                                 (":authority", "h"), ("content-length", "5")])
    pair.client.send_data(1, b"hello")
    pair.client.send_headers(1, [("x-checksum", "abc")], end_stream=True)
    events = pair.to_server()
    assert of(ev.StreamRequest, events)[0].request.content_length == 5
    data = of(ev.StreamData, events)
    assert b"".join(d.data for d in data) == b"hello"
    assert of(ev.StreamEnded, events)[0].trailers == [("X-CHECKSUM", "abc")]


def test_trailers_ending_a_body_short_of_its_content_length_reset_the_stream(pair):
    # RFC 9113 section 8.1.1: h2 checks the length only on DATA that ends the stream.
    pair.client.send_headers(1, [(":method", "POST"), (":path", "/up"), (":scheme", "http"),
                                 (":authority", "h"), ("content-length", "10")])
    pair.client.send_data(1, b"hello")
    pair.client.send_headers(1, [("x-checksum", "abc")], end_stream=True)
    events = pair.to_server()
    assert not of(ev.StreamEnded, events)
    pair.to_client()
    resets = of(h2.events.StreamReset, pair.client_events)
    assert [(e.stream_id, e.error_code) for e in resets] == [(1, PROTOCOL_ERROR)]
    # The connection goes on serving.
    assert of(ev.StreamRequest, pair.request(3))


def test_response_goes_out_with_server_and_date(pair):
    pair.request()
    pair.server.send_response(1, 200, [("Content-Type", "text/plain"), ("Connection", "close"),
                                       ("Transfer-Encoding", "chunked")])
    pair.server.send_data(1, b"hi", end_stream=True)
    pair.to_client()
    resp = of(h2.events.ResponseReceived, pair.client_events)[0]
    names = [n for n, _ in resp.headers]
    assert resp.headers[0] == (b":status", b"200")
    assert b"server" in names and b"date" in names
    assert b"connection" not in names and b"transfer-encoding" not in names
    assert of(h2.events.DataReceived, pair.client_events)[0].data == b"hi"
    assert of(h2.events.StreamEnded, pair.client_events)
    assert pair.server.is_answered(1)


def test_body_beyond_the_window_waits_for_window_update(pair):
    pair.request()
    pair.server.send_response(1, 200, [])
    body = bytes(range(256)) * 1024          # 256 KiB, four times the default window
    pair.server.send_data(1, body, end_stream=True)
    assert pair.server.queued_bytes(1) == len(body) - 65535
    received = bytearray()
    for _ in range(50):
        pair.to_client()
        for event in of(h2.events.DataReceived, pair.client_events):
            received += event.data
            pair.client.acknowledge_received_data(event.flow_controlled_length, 1)
        pair.client_events.clear()
        pair.to_server()
        if pair.server.is_answered(1):
            pair.to_client()
            received += b"".join(e.data for e in of(h2.events.DataReceived,
                                                     pair.client_events))
            break
    assert bytes(received) == body
    assert of(h2.events.StreamEnded, pair.client_events)
    assert pair.server.queued_bytes(1) == 0


def test_trailers_end_the_response(pair):
    pair.request()
    pair.server.send_response(1, 200, [])
    pair.server.send_data(1, b"x")
    pair.server.end_stream(1, trailers=[("X-Sum", "1")])
    pair.to_client()
    trailers = of(h2.events.TrailersReceived, pair.client_events)
    assert trailers and trailers[0].headers == [(b"x-sum", b"1")]


def test_trailers_with_nothing_left_to_send_end_the_stream_on_data(pair):
    # Dropped fields (content-length, connection) leave no trailer section: an
    # empty HEADERS frame is one nghttp2 rejects as a messaging violation.
    pair.request()
    pair.server.send_response(1, 200, [])
    pair.server.send_data(1, b"x")
    pair.server.end_stream(1, trailers=[("Content-Length", "1"), ("Connection", "x")])
    pair.to_client()
    assert not of(h2.events.TrailersReceived, pair.client_events)
    ended = of(h2.events.StreamEnded, pair.client_events)
    assert ended and ended[0].stream_id == 1


def test_informational_before_final(pair):
    pair.request()
    pair.server.send_informational(1, 103, [("Link", "</s.css>; rel=preload")])
    pair.server.send_response(1, 204, [], end_stream=True)
    pair.to_client()
    info = of(h2.events.InformationalResponseReceived, pair.client_events)
    assert info[0].headers[0] == (b":status", b"103")
    assert (b"link", b"</s.css>; rel=preload") in info[0].headers


def test_garbage_gets_goaway_protocol_error():
    server = HTTP2Connection(make_cfg())
    server.initiate()
    events = server.receive_data(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert isinstance(events[-1], ev.ConnectionEnded) and not events[-1].by_peer
    assert events[-1].error_code == PROTOCOL_ERROR
    assert _goaway_code(server.data_to_send()) == PROTOCOL_ERROR


def _goaway_code(data):
    # The last frame written is the GOAWAY.
    frame, _ = GoAwayFrame.parse_frame_header(memoryview(data[-17:-8]))
    frame.parse_body(memoryview(data[-8:]))
    return frame.error_code


def test_too_many_streams_is_refused_stream():
    p = Pair(http2_max_concurrent_streams=2)
    p.exchange()
    p.to_client()
    p.client.local_settings  # noqa: B018 (the client obeys our limit unless told otherwise)
    p.client.remote_settings._settings[SettingCodes.MAX_CONCURRENT_STREAMS][0] = 100
    events = []
    for sid in (1, 3, 5):
        p.client.send_headers(sid, [(":method", "GET"), (":path", "/"), (":scheme", "http"),
                                    (":authority", "h")], end_stream=True)
        events += p.to_server()
    # RFC 9113 section 5.1.2: a stream error; the two streams in progress go on.
    assert [e.stream_id for e in of(ev.StreamRequest, events)] == [1, 3]
    assert not of(ev.ConnectionEnded, events)
    p.to_client()
    resets = of(h2.events.StreamReset, p.client_events)
    assert [(e.stream_id, e.error_code) for e in resets] == [(5, REFUSED_STREAM)]
    p.server.send_response(1, 200, [], end_stream=True)
    p.client.send_headers(7, [(":method", "GET"), (":path", "/"), (":scheme", "http"),
                              (":authority", "h")], end_stream=True)
    assert [e.stream_id for e in of(ev.StreamRequest, p.to_server())] == [7]


def test_data_past_the_window_is_a_flow_control_error(pair):
    pair.client.send_headers(1, [(":method", "POST"), (":path", "/"), (":scheme", "http"),
                                 (":authority", "h")])
    pair.to_server()
    # Bypass the client's own flow control: a raw DATA frame of 70000 bytes in pieces.
    from hyperframe.frame import DataFrame

    raw = b""
    for _ in range(5):
        f = DataFrame(1)
        f.data = b"x" * 16000
        raw += f.serialize()
    events = pair.server.receive_data(raw)
    assert events[-1].error_code == FLOW_CONTROL_ERROR
    assert _goaway_code(pair.server.data_to_send()) == FLOW_CONTROL_ERROR


def test_peer_reset_reports_and_refuses_writes(pair):
    pair.request(end=False)
    pair.client.reset_stream(1)
    events = pair.to_server()
    assert of(ev.StreamReset, events)[0].stream_id == 1
    with pytest.raises(StreamClosed):
        pair.server.send_data(1, b"x")


def test_acknowledge_reopens_the_upload_window(pair):
    pair.client.send_headers(1, [(":method", "POST"), (":path", "/"), (":scheme", "http"),
                                 (":authority", "h")])
    for _ in range(4):
        pair.client.send_data(1, b"y" * 15000)
    events = pair.to_server()
    data = of(ev.StreamData, events)
    for d in data:
        pair.server.acknowledge(1, d.flow_length)
    pair.to_client()
    # Without the acknowledgement the client could send only 5535 more bytes.
    assert pair.client.local_flow_control_window(1) >= 65535 - 15000


def test_no_window_credit_is_kept_for_streams_answered_or_reset(pair):
    # Credit below the WINDOW_UPDATE threshold waits per stream; a stream that is
    # over must not leave its entry behind (one per stream, for the connection's life).
    for sid in (1, 3):
        pair.client.send_headers(sid, [(":method", "POST"), (":path", "/"), (":scheme", "http"),
                                       (":authority", "h")])
        pair.client.send_data(sid, b"y" * 100)
    pair.to_server()
    pair.server.send_response(1, 204, [], end_stream=True)
    assert pair.server.acknowledge(1, 100) is False
    pair.server.acknowledge(3, 100)
    pair.client.reset_stream(3)
    pair.to_server()
    assert pair.server._stream_credit == {}


def test_graceful_shutdown_answers_open_streams_and_refuses_new(pair):
    pair.request(stream_id=1)
    pair.server.start_shutdown()
    pair.to_client()
    goaway = of(h2.events.ConnectionTerminated, pair.client_events)
    assert goaway and goaway[0].error_code == 0 and goaway[0].last_stream_id == 1
    # The open stream can still be answered.
    pair.server.send_response(1, 200, [], end_stream=True)
    assert pair.server.data_to_send()


def test_peer_close_ends_the_connection(pair):
    events = pair.server.receive_data(b"")
    assert isinstance(events[0], ev.ConnectionEnded) and events[0].by_peer


def test_connect_is_refused_per_stream(pair):
    pair.client.send_headers(1, [(":method", "CONNECT"), (":authority", "h:443")],
                             end_stream=True)
    events = pair.to_server()
    assert not of(ev.StreamRequest, events)
    pair.to_client()
    assert of(h2.events.StreamReset, pair.client_events)


def test_priority_is_reported():
    p = Pair()
    p.exchange()
    p.client.send_headers(1, [(":method", "GET"), (":path", "/"), (":scheme", "http"),
                              (":authority", "h")], end_stream=True, priority_weight=200,
                          priority_depends_on=0)
    req = of(ev.StreamRequest, p.to_server())[0].request
    assert req.extra_environ["gunicorn.http2.priority_weight"] == 200


def test_garbage_after_handshake_never_raises():
    import random

    rng = random.Random(7)
    for _ in range(200):
        server = HTTP2Connection(make_cfg())
        server.initiate()
        client = h2_client()
        server.receive_data(client.data_to_send())
        events = server.receive_data(bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 200))))
        for e in events:
            assert type(e).__module__ == "gunicorn.http2.events"


def test_unread_body_of_one_stream_does_not_close_the_connection_window(pair):
    # Stream 1 sends a whole window that nobody reads yet...
    pair.client.send_headers(1, [(":method", "POST"), (":path", "/"), (":scheme", "http"),
                                 (":authority", "h")])
    for _ in range(4):
        pair.client.send_data(1, b"a" * 16000)
    pair.to_server()
    pair.to_client()
    # ...and stream 3 can still send: the connection window came back on receipt.
    assert pair.client.local_flow_control_window(1) < 6000
    # (without it only 1535 bytes would be left for every other stream)
    assert pair.client.outbound_flow_control_window > 40000


def test_a_smaller_window_applies_only_once_acknowledged():
    p = Pair(http2_initial_window_size=1000)
    # The client sends under the default window before it has seen our SETTINGS.
    p.client.send_headers(1, [(":method", "POST"), (":path", "/"), (":scheme", "http"),
                              (":authority", "h")])
    p.client.send_data(1, b"e" * 5000)
    events = p.to_server()
    assert not of(ev.ConnectionEnded, events)
    assert sum(len(d.data) for d in of(ev.StreamData, events)) == 5000
    p.to_client()
    changed = of(h2.events.RemoteSettingsChanged, p.client_events)[0].changed_settings
    assert changed[SettingCodes.INITIAL_WINDOW_SIZE].new_value == 1000
    p.to_server()
    # Acknowledged: a new stream now gets 1000 bytes, and more is an error.
    p.client.send_headers(3, [(":method", "POST"), (":path", "/"), (":scheme", "http"),
                              (":authority", "h")])
    assert p.client.local_flow_control_window(3) == 1000
