"""flow.StreamFlow without processes: when a stream is paused, resumed, or stopped."""

import asyncio
import logging
from types import SimpleNamespace

from gunicorn.dirty import wire
from gunicorn.dirty.calls import CallRelay, ClientLink
from gunicorn.dirty.flow import DRAIN_POLL, HIGH_WATER, LOW_WATER

APP = "m:A"


class FakeTransport:
    def __init__(self):
        self.queued = 0

    def get_write_buffer_size(self):
        return self.queued

    def is_closing(self):
        return False


class RecordingWriter:
    """Stands for a StreamWriter: keeps what was written, as messages."""

    def __init__(self):
        self.transport = FakeTransport()
        self.reader = wire.MessageReader()
        self.messages = []

    def write(self, data):
        self.reader.feed(data)
        self.messages.extend(self.reader)


def setup(loop):
    link = SimpleNamespace(pid=1001, age=1, apps=[APP], booted=True, stopping=False,
                           last_picked=0, calls={}, writer=RecordingWriter())
    arbiter = SimpleNamespace(loop=loop, cfg=SimpleNamespace(dirty_timeout=5, dirty_threads=1),
                              log=logging.getLogger("test"), app_paths={APP}, stopping=False,
                              workers={link.pid: link})
    relay = CallRelay(arbiter)
    client = ClientLink(RecordingWriter())
    relay.start(client, wire.Message(wire.REQUEST, 7, {"app_path": APP, "action": "gen"}))
    (call,) = relay.calls.values()
    return relay, link, client, call


def flow_messages(link, call):
    return [m.payload["paused"] for m in link.writer.messages
            if m.type == wire.STATUS and m.request_id == call.id]


def pause_deadline(call):
    """Whether the call's timer is a paused stream's deadline (not dirty_timeout's)."""
    return call.timer is not None and call.timer._callback.__name__ == "_pause_timed_out"


def chunk(relay, link, call):
    relay.from_worker(link, wire.Message(wire.CHUNK, call.id, {"data": b"x"}))


def test_pause_past_high_water_resume_at_low_water():
    async def scenario():
        relay, link, client, call = setup(asyncio.get_running_loop())
        chunk(relay, link, call)
        assert flow_messages(link, call) == [] and call.timer is not None
        client.writer.transport.queued = HIGH_WATER + 1
        chunk(relay, link, call)
        # paused once, and no dirty_timeout while paused, only the pause's own deadline
        assert flow_messages(link, call) == [True] and pause_deadline(call)
        chunk(relay, link, call)            # sent before the worker saw the pause
        assert flow_messages(link, call) == [True] and pause_deadline(call)
        client.writer.transport.queued = LOW_WATER + 1
        await asyncio.sleep(DRAIN_POLL * 5)
        assert flow_messages(link, call) == [True]  # between the marks: still paused
        client.writer.transport.queued = LOW_WATER
        await asyncio.sleep(DRAIN_POLL * 5)
        assert flow_messages(link, call) == [True, False] and call.timer is not None
        assert not pause_deadline(call)
        assert not call.paused and not client.paused and client.drain_waiter is None
        # every chunk reached the client, in order
        assert [m.type for m in client.writer.messages] == [wire.CHUNK] * 3
        relay.from_worker(link, wire.Message(wire.END, call.id, {}))
        assert not relay.calls

    asyncio.run(scenario())


def test_client_gone_while_paused_stops_the_stream():
    async def scenario():
        relay, link, client, call = setup(asyncio.get_running_loop())
        client.writer.transport.queued = HIGH_WATER + 1
        chunk(relay, link, call)
        assert call.paused
        client.closed = True
        await asyncio.sleep(DRAIN_POLL * 5)
        # an END toward the worker, not a resume; the call stays until the worker's END
        ends = [m for m in link.writer.messages if m.type == wire.END]
        assert [m.request_id for m in ends] == [call.id]
        assert flow_messages(link, call) == [True]
        assert call.id in relay.calls

    asyncio.run(scenario())


def test_end_from_the_client_stops_a_paused_stream_at_once():
    async def scenario():
        relay, link, client, call = setup(asyncio.get_running_loop())
        client.writer.transport.queued = HIGH_WATER + 1
        chunk(relay, link, call)
        relay.stop(client, 7)
        assert [m.request_id for m in link.writer.messages if m.type == wire.END] == [call.id]
        assert not call.paused and not client.paused

    asyncio.run(scenario())


def test_a_stream_paused_past_dirty_timeout_is_cancelled_with_a_timeout_error():
    async def scenario():
        relay, link, client, call = setup(asyncio.get_running_loop())
        relay.arbiter.cfg.dirty_timeout = 0.2
        client.writer.transport.queued = HIGH_WATER + 1
        chunk(relay, link, call)
        assert call.paused
        await asyncio.sleep(0.1)
        assert [m.type for m in client.writer.messages] == [wire.CHUNK]
        await asyncio.sleep(0.3)
        # the client has the timeout error, the worker the "stop"
        last = client.writer.messages[-1]
        assert (last.type, last.request_id) == (wire.ERROR, 7)
        assert last.payload["error"]["error_type"] == "DirtyTimeoutError"
        assert [m.request_id for m in link.writer.messages if m.type == wire.END] == [call.id]
        assert not call.paused and not client.paused
        # the worker's thread counts as busy until its END comes back, which
        # goes no further: the client already has its answer
        assert link.calls == {call.id: call} and not relay.calls
        chunk(relay, link, call)
        relay.from_worker(link, wire.Message(wire.END, call.id, {}))
        assert link.calls == {} and call.timer is None
        assert [m.type for m in client.writer.messages] == [wire.CHUNK, wire.ERROR]

    asyncio.run(scenario())


def test_a_retiring_worker_gives_its_paused_streams_the_graceful_timeout():
    async def scenario():
        loop = asyncio.get_running_loop()
        relay, link, client, call = setup(loop)
        relay.arbiter.cfg.dirty_timeout = 0      # no dirty_timeout: the cap applies
        relay.arbiter.cfg.dirty_graceful_timeout = 0.2
        client.writer.transport.queued = HIGH_WATER + 1
        chunk(relay, link, call)
        assert call.timer.when() - loop.time() > 100
        link.retired_at = loop.time()
        relay.worker_retiring(link)
        assert call.timer.when() - loop.time() < 0.3
        await asyncio.sleep(0.4)
        assert client.writer.messages[-1].type == wire.ERROR
        assert [m.request_id for m in link.writer.messages if m.type == wire.END] == [call.id]

    asyncio.run(scenario())
