"""Flood protections of the sans-I/O connection (RFC 9113 section 10.5, ``flood_limits``)."""

import time

import pytest
from conftest import Pair, h2c_server
from frames import goaway_codes, headers
from h2.settings import SettingCodes
from hyperframe.frame import (
    DataFrame,
    PingFrame,
    PriorityFrame,
    RstStreamFrame,
    SettingsFrame,
)
from raw_client import RawH2Client

from gunicorn.http2 import events as ev
from gunicorn.http2.errors import ENHANCE_YOUR_CALM
from gunicorn.http2.flood_limits import CONTROL_BURST, FrameBudget
from gunicorn.http2.flood_limits import RESET_BURST as BURST
from gunicorn.http2.flood_limits import RESET_RATE as RATE

GET = [(":method", "GET"), (":path", "/"), (":scheme", "http"), (":authority", "h")]


def _open_and_reset(pair, count, first=1):
    events = []
    for sid in range(first, first + 2 * count, 2):
        pair.client.send_headers(sid, GET, end_stream=True)
        pair.client.reset_stream(sid)
        events += pair.to_server()
        if pair.server.ended:
            break
    return events


def test_rapid_reset_ends_with_enhance_your_calm():
    # CVE-2023-44487: open a stream, cancel it, repeat; each one started an app call.
    p = Pair()
    p.exchange()
    events = _open_and_reset(p, 5 * BURST)
    requests = [e for e in events if isinstance(e, ev.StreamRequest)]
    assert BURST <= len(requests) < 2 * BURST
    assert isinstance(events[-1], ev.ConnectionEnded)
    assert events[-1].error_code == ENHANCE_YOUR_CALM and not events[-1].by_peer
    assert goaway_codes(p.server.data_to_send())[-1] == ENHANCE_YOUR_CALM
    assert p.server.receive_data(b"\0" * 100) == []


def test_cancelling_a_page_worth_of_streams_is_fine():
    p = Pair()
    p.exchange()
    events = _open_and_reset(p, 100)
    assert len([e for e in events if isinstance(e, ev.StreamReset)]) == 100
    assert not [e for e in events if isinstance(e, ev.ConnectionEnded)]


def test_resets_after_the_answer_cost_nothing():
    # Only cancelled work counts: a reset of an answered stream is harmless.
    p = Pair()
    p.exchange()
    events = []
    for sid in range(1, 2 * (BURST + 50), 2):
        p.client.send_headers(sid, GET, end_stream=True)
        events += p.to_server()
        p.server.send_response(sid, 204, [], end_stream=True)
        p.to_client()
        rst = RstStreamFrame(sid)
        rst.error_code = 8
        events += p.server.receive_data(rst.serialize())
    assert not [e for e in events if isinstance(e, ev.ConnectionEnded)]


def test_reset_budget_refills_with_time():
    now = [0.0]
    budget = FrameBudget(3, RATE, clock=lambda: now[0])
    assert all(budget.spend() for _ in range(3))
    assert not budget.spend()
    now[0] += 2.0 / RATE
    assert budget.spend()



def _frames(frame, count):
    return frame.serialize() * count


def _flood(frame, count, stream=False):
    p = Pair()
    p.exchange()
    if stream:
        p.client.send_headers(1, [(":method", "POST")] + GET[1:])
        p.to_server()
    events = []
    raw = _frames(frame, count)
    for start in range(0, len(raw), 65536):
        events += p.server.receive_data(raw[start:start + 65536])
        if p.server.ended:
            break
    return p, events


def _ping():
    frame = PingFrame(0)
    frame.opaque_data = b"12345678"
    return frame


def _empty_data():
    frame = DataFrame(1)
    frame.data = b""
    return frame


def _priority():
    frame = PriorityFrame(3)
    frame.depends_on = 0
    frame.stream_weight = 15
    return frame


@pytest.mark.parametrize("make,stream", [(_ping, False), (lambda: SettingsFrame(0), False),
                                         (_empty_data, True), (_priority, False)],
                         ids=["ping", "settings", "empty-data", "priority"])
def test_a_flood_of_frames_without_requests_is_enhance_your_calm(make, stream):
    # CVE-2019-9512 (PING), -9515 (SETTINGS), -9518 (empty frames): each frame is
    # cheap to send and costs us parsing (and an answer); a client needs a handful.
    p, events = _flood(make(), 4 * CONTROL_BURST, stream)
    assert events and isinstance(events[-1], ev.ConnectionEnded)
    assert events[-1].error_code == ENHANCE_YOUR_CALM
    assert goaway_codes(p.server.data_to_send())[-1] == ENHANCE_YOUR_CALM


@pytest.mark.parametrize("extra", [[("connection", "close")], []], ids=["malformed", "refused"])
def test_a_flood_of_streams_we_refuse_is_enhance_your_calm(extra):
    # RFC 9113 sections 8.1.1 and 5.1.2 make these stream errors, so the connection
    # survives each one: repeating them must still end it.
    p = Pair(http2_max_concurrent_streams=0 if not extra else 100)
    p.exchange()
    events = []
    for n in range(4 * CONTROL_BURST):
        events += p.server.receive_data(headers(1 + 2 * n, GET + extra))
        if p.server.ended:
            break
    assert not [e for e in events if isinstance(e, ev.StreamRequest)]
    assert CONTROL_BURST <= n < 2 * CONTROL_BURST
    assert isinstance(events[-1], ev.ConnectionEnded)
    assert events[-1].error_code == ENHANCE_YOUR_CALM
    assert goaway_codes(p.server.data_to_send())[-1] == ENHANCE_YOUR_CALM


def test_some_pings_are_answered():
    p, events = _flood(_ping(), 100)
    assert not events
    assert not goaway_codes(p.server.data_to_send())
    assert len(p.server._priorities) == 0


def test_priority_frames_for_unopened_streams_are_kept_bounded():
    p = Pair()
    p.exchange()
    raw = b""
    for sid in range(1, 2001, 2):
        frame = PriorityFrame(sid)
        frame.stream_weight = 7
        raw += frame.serialize()
    p.server.receive_data(raw)
    assert len(p.server._priorities) <= 100
    events = p.request(stream_id=1)
    assert events[0].request.extra_environ["gunicorn.http2.priority_weight"] == 8


# -- the real gthread worker --------------------------------------------------

def test_one_connection_with_a_closed_window_leaves_stream_threads_for_others():
    # Four streams whose client never opens its window: they may hold half of
    # the worker's four stream threads, not all of them for --timeout seconds.
    with h2c_server(threads="4") as srv:
        stalled = RawH2Client(srv.port, local_settings={SettingCodes.INITIAL_WINDOW_SIZE: 0})
        try:
            for _ in range(4):
                stalled.request("/big?1000000")
            time.sleep(0.5)
            started = time.monotonic()
            with RawH2Client(srv.port, timeout=5) as other:
                assert other.response(other.request("/sized"))[0] == 200
            assert time.monotonic() - started < 2
        finally:
            stalled.close()
