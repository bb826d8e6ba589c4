"""The ``eventlet`` worker: a green thread per connection, serving with core's HTTP/1.1."""

from __future__ import annotations

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


class EventletWorker(AsyncWorker):
    """Each client runs in a green thread of a pool of ``worker_connections``."""

    def patch(self):
        hubs.use_hub()
        # Patch before the app is imported (load_wsgi runs in init_process).
        eventlet.monkey_patch()

    def timeout_ctx(self):
        return eventlet.Timeout(self.cfg.keepalive or None, False)

    # Signal handlers run in the hub's greenlet; do their blocking parts elsewhere.
    def handle_quit(self, sig, frame):
        eventlet.spawn(super().handle_quit, sig, frame)

    def handle_usr1(self, sig, frame):
        eventlet.spawn(super().handle_usr1, sig, frame)

    def _accept_loop(self, listener, pool):
        sock = greenio.GreenSocket(getattr(listener, "sock", listener))
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
