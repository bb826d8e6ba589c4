"""Backpressure for streamed calls: pause a worker's stream while its client falls behind.

A dirty app's generator can produce far faster than a web worker reads. The
arbiter's write buffer toward that client would then hold the whole stream.
Instead, once more than ``HIGH_WATER`` bytes wait for one client, the arbiter
tells the worker to pause each of that client's streams (a STATUS
``{"paused": true}`` under the call's id, on the arbiter-worker link only);
the worker holds the generator before its next item. When the client's queue
is down to ``LOW_WATER`` the streams resume. Only that client waits: the
arbiter keeps reading every worker link, so other calls, even on the same
worker, flow on.
"""

import asyncio

from gunicorn.dirty import wire

# Bytes queued toward one client before its streams are paused. Chunks the
# worker sent before it saw the pause still arrive and are passed on, so the
# queue can pass this by what the worker link holds (a socket buffer, one chunk).
HIGH_WATER = 1024 * 1024
# ... and resumed once the queue is down to this: a gap between the two marks
# keeps a client that reads steadily from pausing the worker at every chunk.
LOW_WATER = 256 * 1024
# How often a paused client's queue is looked at. asyncio offers no portable
# way to wait for a transport's buffer to drain from a second task (two
# concurrent ``drain()`` calls fail on Python 3.10), and a short poll only runs
# while some client is paused.
DRAIN_POLL = 0.01

PAUSED_KEY = "paused"


def flow_message(call_id, paused):
    """The arbiter -> worker message pausing (or resuming) the stream of call ``call_id``."""
    return wire.encode_message(wire.STATUS, call_id, {PAUSED_KEY: bool(paused)})


def queued_bytes(client):
    """Bytes written toward ``client`` that its socket has not taken yet."""
    transport = client.writer.transport
    if transport is None or transport.is_closing():
        return 0
    return transport.get_write_buffer_size()


class StreamFlow:
    """Pauses and resumes the streams of slow clients, for one ``CallRelay``."""

    def __init__(self, relay):
        self.relay = relay

    def after_chunk(self, call):
        """A CHUNK of ``call`` was queued for its client: pause if the client is behind."""
        client = call.client
        if call.paused or client.closed or queued_bytes(client) <= HIGH_WATER:
            return
        call.paused = True
        # the worker is not late while it waits for the client: no dirty_timeout,
        # but the client must read on within it (calls.CallRelay.arm_paused)
        self.relay.arm_paused(call)
        self._tell_worker(call, paused=True)
        client.paused.add(call)
        if client.drain_waiter is None:
            client.drain_waiter = self.relay.arbiter.loop.create_task(self._wait_drained(client))

    def forget(self, call):
        """``call`` ended, failed or resumes: it no longer waits for its client."""
        if call.paused:
            call.paused = False
            call.client.paused.discard(call)

    async def _wait_drained(self, client):
        try:
            while not client.closed and queued_bytes(client) > LOW_WATER:
                await asyncio.sleep(DRAIN_POLL)
        finally:
            client.drain_waiter = None
        for call in list(client.paused):
            self.forget(call)
            if client.closed:
                # nobody will read the rest: stop the generator now rather
                # than leave a worker thread paused forever
                self.relay.cancel_stream(call)
            else:
                self._tell_worker(call, paused=False)
                self.relay.arm(call)

    def _tell_worker(self, call, paused):
        try:
            call.link.writer.write(flow_message(call.id, paused))
        except (OSError, RuntimeError):
            pass  # the link is closing: its calls fail when the arbiter sees it close
