"""The ``eventlet`` worker: a green thread per connection, serving with core's HTTP/1.1."""

from __future__ import annotations

import os
import time

try:
    import eventlet
except ImportError:
    raise RuntimeError("the eventlet worker needs eventlet: pip install gunicorn[eventlet]") from None

from eventlet import greenio, hubs

from gunicorn.plugins import require_plugin_api
from gunicorn.workers.base_async import AsyncWorker

require_plugin_api("gunicorn-workers-async", 1)

HEARTBEAT_INTERVAL = 1.0


# Bytes per os.sendfile() call: big enough to matter, small enough to let others run.
SENDFILE_BLOCK = 1 << 20


class SendfileGreenSocket(greenio.GreenSocket):
    """A green socket whose ``sendfile`` waits in the hub instead of refusing.

    The standard ``socket.sendfile`` refuses non-blocking sockets, which every
    green socket is underneath; core's response writer hands it ``wsgi.file_wrapper``
    bodies, which then came out empty.
    """

    def sendfile(self, file, offset=0, count=None):
        try:
            in_fd = file.fileno()
        except (AttributeError, OSError):
            return self._sendfile_by_send(file, offset, count)
        out_fd = self.fileno()
        total = 0
        while count is None or total < count:
            block = SENDFILE_BLOCK if count is None else min(SENDFILE_BLOCK, count - total)
            try:
                sent = os.sendfile(out_fd, in_fd, offset + total, block)
            except BlockingIOError:
                hubs.trampoline(out_fd, write=True, timeout=self.gettimeout(),
                                timeout_exc=TimeoutError("timed out"))
                continue
            if sent == 0:
                break
            total += sent
        file.seek(offset + total)
        return total

    def _sendfile_by_send(self, file, offset, count):
        file.seek(offset)
        total = 0
        while count is None or total < count:
            data = file.read(SENDFILE_BLOCK if count is None
                             else min(SENDFILE_BLOCK, count - total))
            if not data:
                break
            self.sendall(data)
            total += len(data)
        return total


class EventletWorker(AsyncWorker):
    """Each client runs in a green thread of a pool of ``worker_connections``."""

    # Green threads run the app concurrently, as gevent's greenlets do (same environ).
    wsgi_multithread = True

    def patch(self):
        hubs.use_hub()
        # Patch before the app is imported (load_wsgi runs in init_process).
        eventlet.monkey_patch()

    def timeout_ctx(self):
        return eventlet.Timeout(self.cfg.keepalive or None, False)

    def yield_turn(self):
        eventlet.sleep(0)

    def spawn_stream(self, fn, *args):
        eventlet.spawn_n(fn, *args)

    # Signal handlers run in the hub's greenlet; do their blocking parts elsewhere.
    def handle_quit(self, sig, frame):
        eventlet.spawn(super().handle_quit, sig, frame)

    def handle_usr1(self, sig, frame):
        eventlet.spawn(super().handle_usr1, sig, frame)

    def _drain_signal_wakeups(self):
        # The base worker points signal.set_wakeup_fd at PIPE[1]. Without a reader in
        # the hub, a signal would not wake it: the interrupted poll is retried (PEP 475)
        # and a QUIT's handler, spawned above, would wait for the next heartbeat.
        fd = self.PIPE[0]
        while True:
            hubs.trampoline(fd, read=True)
            try:
                os.read(fd, 4096)
            except BlockingIOError:
                pass

    def _accept_loop(self, listener, pool):
        # Accepted clients share the listener's class (GreenSocket.accept).
        sock = SendfileGreenSocket(getattr(listener, "sock", listener))
        sock.setblocking(True)
        while self.alive:
            try:
                client, addr = sock.accept()
            except OSError as exc:
                if not self.alive:
                    return
                self.log.debug("accept() failed: %s", exc)
                eventlet.sleep(0.1)
                continue
            # GreenPool.spawn_n waits for a free slot: at worker_connections we stop accepting.
            pool.spawn_n(self.handle, listener, client, addr)

    def run(self):
        pool = eventlet.GreenPool(self.worker_connections)
        acceptors = [eventlet.spawn(self._accept_loop, listener, pool)
                     for listener in self.sockets]
        if self.PIPE:
            eventlet.spawn_n(self._drain_signal_wakeups)
        while self.alive:
            self.notify()
            eventlet.sleep(HEARTBEAT_INTERVAL)

        for acceptor in acceptors:
            acceptor.kill()
        # Graceful: running requests get graceful_timeout seconds to finish.
        deadline = time.monotonic() + self.cfg.graceful_timeout
        while pool.running() and time.monotonic() < deadline:
            self.notify()
            eventlet.sleep(0.1)
