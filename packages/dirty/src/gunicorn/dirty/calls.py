"""Calls in flight: a client's request relayed to a dirty worker, its replies back, its deadline."""

import itertools

from gunicorn.dirty import wire
from gunicorn.dirty.errors import (
    DirtyAppNotConfiguredError,
    DirtyError,
    DirtyNoWorkersAvailableError,
    DirtyTimeoutError,
    DirtyWorkerError,
)
from gunicorn.dirty.flow import StreamFlow
from gunicorn.dirty.routing import pick_worker

# How long a paused stream (flow.py) waits for its client when dirty_timeout is
# 0 (no limit): a client that stays connected but never reads must not hold a
# worker thread, or keep a retired worker alive, forever.
PAUSE_LIMIT_WITHOUT_TIMEOUT = 300.0


class ClientLink:
    """The arbiter's end of one client connection (a web worker's DirtyClient)."""

    def __init__(self, writer):
        self.writer = writer
        self.closed = False
        self.paused = set()         # its calls whose streams wait for it to read (flow.py)
        self.drain_waiter = None    # the task that resumes them

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
    """One REQUEST on its way: who asked (and under which id), which worker has it, if any."""

    __slots__ = ("id", "client", "client_id", "payload", "link", "timer", "app_path", "action",
                 "unwanted", "cancelled", "paused", "answered")

    def __init__(self, call_id, client, client_id, payload, app_path, action):
        self.id = call_id
        self.client = client
        self.client_id = client_id
        self.payload = payload      # the REQUEST to send; None once a worker has it
        self.link = None            # the worker running it; None while it waits
        self.unwanted = False       # its client stopped listening (an END from it)
        self.cancelled = False      # the worker was told to stop the stream
        self.paused = False         # the worker holds the stream: its client is behind
        self.answered = False       # its client has had its last word (a pause timed out)
        self.timer = None
        self.app_path = app_path
        self.action = action


class CallRelay:
    """Routes requests to workers and replies to clients; enforces ``dirty_timeout``.

    A call goes to a booted worker with a free thread; while every worker
    that has its app is busy (or still booting) it waits here, in arrival
    order, so a timed-out call (whose worker is killed) never takes the
    calls queued behind it down too: they go to the replacement. Calls carry
    the arbiter's own ids on the worker links (clients' ids may collide
    across connections); replies go back under the client's id.
    """

    def __init__(self, arbiter):
        self.arbiter = arbiter
        self.calls = {}
        self.waiting = []      # calls not yet sent to a worker, oldest first
        self.flow = StreamFlow(self)
        self._ids = itertools.count(1)

    @property
    def log(self):
        return self.arbiter.log

    def start(self, client, msg):
        payload = msg.payload
        app_path = payload.get("app_path")
        if app_path not in self.arbiter.app_paths:
            client.send_error(msg.request_id, DirtyAppNotConfiguredError(app_path))
            return
        if self.arbiter.stopping:
            client.send_error(msg.request_id, DirtyNoWorkersAvailableError(
                app_path, f"No workers available for app: {app_path} (the dirty arbiter "
                          "is stopping)"))
            return
        # Otherwise a worker with the app comes, even when none has it right now
        # (a HUP retired them all, a timeout killed the only one): the call waits.
        call = Call(next(self._ids), client, msg.request_id, payload, app_path,
                    payload.get("action"))
        self.calls[call.id] = call
        self.waiting.append(call)
        self.dispatch()

    def dispatch(self):
        """Send waiting calls to free workers, oldest first (a worker booted or a call ended)."""
        if not self.waiting:
            return
        threads = max(1, self.arbiter.cfg.dirty_threads)
        still_waiting = []
        for call in self.waiting:
            link = pick_worker(self.arbiter.workers.values(), call.app_path, threads)
            if link is None:
                still_waiting.append(call)
            else:
                self._send_to(link, call)
        self.waiting = still_waiting

    def _send_to(self, link, call):
        payload, call.payload = call.payload, None
        try:
            link.writer.write(wire.encode_message(wire.REQUEST, call.id, payload))
        except (DirtyError, OSError, RuntimeError) as exc:
            self._finish(call)
            call.client.send_error(call.client_id, DirtyWorkerError(
                f"could not send the request to dirty worker {link.pid}: {exc}",
                worker_id=link.pid))
            return
        call.link = link
        link.calls[call.id] = call
        self.arm(call)

    def arm(self, call):
        """(Re)start the call's deadline: ``dirty_timeout`` seconds without an answer.

        It runs from when a worker takes the call (the time spent waiting for a
        free worker is bounded by the client's own timeout, as upstream).
        """
        self.disarm(call)
        timeout = self.arbiter.cfg.dirty_timeout
        if timeout and timeout > 0:
            call.timer = self.arbiter.loop.call_later(timeout, self._timed_out, call)

    def arm_paused(self, call):
        """The deadline of a paused stream: its client reads on within ``dirty_timeout``
        (``PAUSE_LIMIT_WITHOUT_TIMEOUT`` when that is 0), and within
        ``dirty_graceful_timeout`` of its worker's retirement, or the stream is
        cancelled and the client gets the timeout error."""
        self.disarm(call)
        cfg = self.arbiter.cfg
        limit = cfg.dirty_timeout if cfg.dirty_timeout and cfg.dirty_timeout > 0 \
            else PAUSE_LIMIT_WITHOUT_TIMEOUT
        loop = self.arbiter.loop
        deadline = loop.time() + limit
        retired_at = getattr(call.link, "retired_at", None)
        if retired_at is not None:
            deadline = min(deadline, retired_at + max(0, cfg.dirty_graceful_timeout))
        call.timer = loop.call_at(deadline, self._pause_timed_out, call, limit)

    def worker_retiring(self, link):
        """``link`` was told to stop: its paused streams get ``dirty_graceful_timeout`` at most."""
        for call in list(link.calls.values()):
            if call.paused and not call.answered:
                self.arm_paused(call)

    def disarm(self, call):
        if call.timer is not None:
            call.timer.cancel()
            call.timer = None

    def _finish(self, call):
        self.calls.pop(call.id, None)
        if call.link is not None:
            call.link.calls.pop(call.id, None)
        self.disarm(call)
        self.flow.forget(call)

    def from_worker(self, link, msg):
        """A reply from ``link``: pass it on under the client's id."""
        call = link.calls.get(msg.request_id)
        if call is None:
            return  # answered already (timed out): discard
        if call.answered:
            # a cancelled paused stream: its client has its error; the END
            # (or a last word) means the worker's thread is free
            if msg.type != wire.CHUNK:
                self._finish(call)
                self.dispatch()
            return
        if msg.type == wire.CHUNK:
            if call.client.closed or call.unwanted:
                self.cancel_stream(call)
                return
            call.client.send(wire.CHUNK, call.client_id, msg.payload)
            if not call.paused:
                self.arm(call)
            self.flow.after_chunk(call)
        elif msg.type in (wire.RESPONSE, wire.ERROR, wire.END):
            self._finish(call)
            call.client.send(msg.type, call.client_id, msg.payload)
            self.dispatch()

    def cancel_stream(self, call):
        """Its client is gone: ask the worker to stop the generator (an END the other way).

        The call stays the worker's until the worker's own END comes back, so the
        thread is not handed another call while the generator winds down.
        """
        if call.cancelled:
            return
        call.cancelled = True
        try:
            call.link.writer.write(wire.encode_message(wire.END, call.id))
        except (OSError, RuntimeError):
            pass  # the link is closing: the worker is on its way out anyway

    def _timed_out(self, call):
        if self.calls.get(call.id) is not call:
            return
        self._finish(call)
        timeout = self.arbiter.cfg.dirty_timeout
        call.client.send_error(call.client_id, DirtyTimeoutError(
            f"Dirty task {call.app_path}.{call.action} timed out after {timeout}s",
            timeout=timeout))
        # upstream's line for a dirty worker killed for being late, as web workers' WORKER TIMEOUT
        self.log.critical("DIRTY WORKER TIMEOUT (pid:%s)", call.link.pid)
        self.log.warning("Dirty worker %s: %s.%s timed out after %ss; replacing the worker",
                         call.link.pid, call.app_path, call.action, timeout)
        # the worker may still be busy with it: drop the link so its late reply
        # goes nowhere, and put a fresh worker in its place
        self.arbiter.kill_worker(call.link)

    def _pause_timed_out(self, call, limit):
        if self.calls.get(call.id) is not call:
            return
        # The client has not read for too long. Its stream is stopped in the
        # worker (the generator's finally runs) and the client gets what a
        # timed-out call gets; the call stays the worker's until the worker's
        # END, so its thread is not handed another call before it is free.
        self.calls.pop(call.id, None)
        self.flow.forget(call)
        call.answered = True
        call.client.send_error(call.client_id, DirtyTimeoutError(
            f"Dirty task {call.app_path}.{call.action} timed out after {limit}s",
            timeout=limit))
        self.log.warning("Dirty worker %s: %s.%s: its client has not read the stream for "
                         "%ss; stream cancelled", call.link.pid, call.app_path, call.action,
                         limit)
        self.cancel_stream(call)
        # a generator that will not stop still loses its worker
        self.disarm(call)
        call.timer = self.arbiter.loop.call_later(max(limit, 1.0), self._stuck, call)

    def _stuck(self, call):
        if call.link.calls.get(call.id) is call:
            self.log.warning("Dirty worker %s: %s.%s did not stop its cancelled stream; "
                             "replacing the worker", call.link.pid, call.app_path, call.action)
            self.arbiter.kill_worker(call.link, "was killed: a cancelled stream did not stop")

    def worker_lost(self, link, why):
        """``link`` is gone: every call it had fails with DirtyWorkerError."""
        for call in list(link.calls.values()):
            self._finish(call)
            if call.answered:
                continue
            call.client.send_error(call.client_id, DirtyWorkerError(
                f"Dirty worker {link.pid} {why} while handling {call.app_path}.{call.action}",
                worker_id=link.pid))

    def worker_failed_to_boot(self):
        """A worker died loading its apps: a waiting call that no booted worker can
        take fails now, rather than wait out its client's timeout for a worker that
        may never boot (the next try comes a second later)."""
        booted = [w for w in self.arbiter.workers.values() if w.booted and not w.stopping]
        for call in list(self.waiting):
            if any(call.app_path in w.apps for w in booted):
                continue
            self.waiting.remove(call)
            self._finish(call)
            call.client.send_error(call.client_id, DirtyNoWorkersAvailableError(
                call.app_path, f"No dirty worker could load {call.app_path}: "
                               "a dirty worker failed to start (see the log)"))

    def stop(self, client, client_id):
        """An END from ``client``: it no longer wants request ``client_id`` (an async
        stream left early on a shared connection). Waiting, it is dropped; running,
        a stream is stopped at its next chunk (at once if it is paused: no
        chunk comes until it resumes)."""
        for call in list(self.calls.values()):
            if call.client is client and call.client_id == client_id:
                if call.link is None:
                    self.waiting.remove(call)
                    self._finish(call)
                else:
                    call.unwanted = True
                    if call.paused:
                        self.flow.forget(call)
                        self.cancel_stream(call)
                return

    def drop_unconfigured(self):
        """``dirty_apps`` changed: waiting calls for an app no longer in it fail."""
        for call in [c for c in self.waiting if c.app_path not in self.arbiter.app_paths]:
            self.waiting.remove(call)
            self._finish(call)
            call.client.send_error(call.client_id, DirtyAppNotConfiguredError(call.app_path))

    def client_gone(self, client):
        """``client`` disconnected: its waiting calls are dropped (running ones end unseen)."""
        for call in [c for c in self.waiting if c.client is client]:
            self.waiting.remove(call)
            self._finish(call)

    def fail_all(self, why):
        self.waiting = []
        for call in list(self.calls.values()):
            self._finish(call)
            worker_id = call.link.pid if call.link is not None else None
            call.client.send_error(call.client_id, DirtyWorkerError(why, worker_id=worker_id))
