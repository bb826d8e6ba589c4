"""Calls in flight: a client's request relayed to a dirty worker, its replies back, its deadline."""

import itertools

from gunicorn.dirty import wire
from gunicorn.dirty.errors import (
    DirtyAppNotFoundError,
    DirtyError,
    DirtyNoWorkersAvailableError,
    DirtyTimeoutError,
    DirtyWorkerError,
)
from gunicorn.dirty.routing import pick_worker


class ClientLink:
    """The arbiter's end of one client connection (a web worker's DirtyClient)."""

    def __init__(self, writer):
        self.writer = writer
        self.closed = False

    def send(self, msg_type, request_id, payload=None):
        if self.closed:
            return
        try:
            data = wire.encode_message(msg_type, request_id, payload)
        except DirtyError as exc:
            # a result the wire cannot carry still gets an answer
            data = wire.encode_message(wire.ERROR, request_id, {"error": exc.to_dict()})
        try:
            self.writer.write(data)
        except (OSError, RuntimeError):
            self.closed = True

    def send_error(self, request_id, exc):
        self.send(wire.ERROR, request_id, {"error": exc.to_dict()})


class Call:
    """One REQUEST on its way: who asked (and under which id), which worker has it."""

    __slots__ = ("id", "client", "client_id", "link", "timer", "app_path", "action")

    def __init__(self, call_id, client, client_id, link, app_path, action):
        self.id = call_id
        self.client = client
        self.client_id = client_id
        self.link = link
        self.timer = None
        self.app_path = app_path
        self.action = action


class CallRelay:
    """Routes requests to workers and replies to clients; enforces ``dirty_timeout``.

    Calls carry the arbiter's own ids on the worker links (clients' ids may
    collide across connections); replies go back under the client's id.
    """

    def __init__(self, arbiter):
        self.arbiter = arbiter
        self.calls = {}
        self._ids = itertools.count(1)

    @property
    def log(self):
        return self.arbiter.log

    def start(self, client, msg):
        payload = msg.payload
        app_path = payload.get("app_path")
        if app_path not in self.arbiter.app_paths:
            client.send_error(msg.request_id, DirtyAppNotFoundError(app_path))
            return
        link = pick_worker(self.arbiter.workers.values(), app_path,
                           max(1, self.arbiter.cfg.dirty_threads))
        if link is None:
            client.send_error(msg.request_id, DirtyNoWorkersAvailableError(app_path))
            return
        call = Call(next(self._ids), client, msg.request_id, link, app_path,
                    payload.get("action"))
        try:
            link.writer.write(wire.encode_message(wire.REQUEST, call.id, payload))
        except (DirtyError, OSError, RuntimeError) as exc:
            client.send_error(msg.request_id, DirtyWorkerError(
                f"could not send the request to dirty worker {link.pid}: {exc}",
                worker_id=link.pid))
            return
        link.calls[call.id] = call
        self.calls[call.id] = call
        self._arm(call)

    def _arm(self, call):
        """(Re)start the call's deadline: ``dirty_timeout`` seconds without an answer."""
        if call.timer is not None:
            call.timer.cancel()
        timeout = self.arbiter.cfg.dirty_timeout
        if timeout and timeout > 0:
            call.timer = self.arbiter.loop.call_later(timeout, self._timed_out, call)

    def _finish(self, call):
        self.calls.pop(call.id, None)
        call.link.calls.pop(call.id, None)
        if call.timer is not None:
            call.timer.cancel()
            call.timer = None

    def from_worker(self, link, msg):
        """A reply from ``link``: pass it on under the client's id."""
        call = link.calls.get(msg.request_id)
        if call is None:
            return  # answered already (timed out): discard
        if msg.type == wire.CHUNK:
            call.client.send(wire.CHUNK, call.client_id, msg.payload)
            self._arm(call)
        elif msg.type in (wire.RESPONSE, wire.ERROR, wire.END):
            self._finish(call)
            call.client.send(msg.type, call.client_id, msg.payload)

    def _timed_out(self, call):
        if self.calls.get(call.id) is not call:
            return
        self._finish(call)
        timeout = self.arbiter.cfg.dirty_timeout
        call.client.send_error(call.client_id, DirtyTimeoutError(
            f"Dirty task {call.app_path}.{call.action} timed out after {timeout}s",
            timeout=timeout))
        self.log.warning("Dirty worker %s: %s.%s timed out after %ss; replacing the worker",
                         call.link.pid, call.app_path, call.action, timeout)
        # the worker may still be busy with it: drop the link so its late reply
        # goes nowhere, and put a fresh worker in its place
        self.arbiter.kill_worker(call.link)

    def worker_lost(self, link, why):
        """``link`` is gone: every call it had fails with DirtyWorkerError."""
        for call in list(link.calls.values()):
            self._finish(call)
            call.client.send_error(call.client_id, DirtyWorkerError(
                f"Dirty worker {link.pid} {why} while handling {call.app_path}.{call.action}",
                worker_id=link.pid))

    def fail_all(self, why):
        for call in list(self.calls.values()):
            self._finish(call)
            call.client.send_error(call.client_id, DirtyWorkerError(why, worker_id=call.link.pid))
