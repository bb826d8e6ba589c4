"""The ``tornado`` worker: Tornado's HTTP server for native Applications and WSGI apps."""

from __future__ import annotations

import asyncio
import os
import signal

try:
    import tornado.web
    from tornado import httputil
    from tornado.httpserver import HTTPServer
    from tornado.wsgi import WSGIContainer
except ImportError:
    raise RuntimeError("the tornado worker needs tornado: pip install gunicorn[tornado]") from None

from gunicorn.plugins import require_plugin_api
from gunicorn.workers.base import Worker
from gunicorn.workers.http2_modes import wants_http2

require_plugin_api("gunicorn-workers-async", 1)

HEARTBEAT_INTERVAL = 1.0


def _server_header_names_gunicorn():
    """Make ``RequestHandler`` responses say ``Server: <tornado's value> (Gunicorn/<version>)``.

    Upstream's tornado worker marks native handlers' Server header so; the app's own
    value (set in ``set_default_headers``) is kept and marked too, a removed one stays gone.
    """
    handler = tornado.web.RequestHandler
    if getattr(handler.clear, "_gunicorn_marks_server", False):
        return
    from gunicorn import __version__

    suffix = f" (Gunicorn/{__version__})"
    original_clear = handler.clear

    def clear(self):
        original_clear(self)
        value = self._headers.get("Server")
        if value is not None:
            self.set_header("Server", value + suffix)

    clear._gunicorn_marks_server = True
    handler.clear = clear


class _CountedRequest(httputil.HTTPMessageDelegate):
    """Passes one request through to the app's delegate, keeping the server's counts.

    Tornado starts a delegate before each read, even one that never comes on an
    idle keep-alive connection, so a request counts only once its head arrived.
    """

    def __init__(self, server, inner, request_conn):
        self.server = server
        self.inner = inner
        self.request_conn = request_conn

    def headers_received(self, start_line, headers):
        server = self.server
        server.responding += 1
        respond_finish = self.request_conn.finish
        done = []

        def finish():
            # The response is complete: graceful shutdown need not wait for it.
            try:
                return respond_finish()
            finally:
                if not done:
                    done.append(True)
                    server.responding -= 1

        self.request_conn.finish = finish
        return self.inner.headers_received(start_line, headers)

    def data_received(self, chunk):
        return self.inner.data_received(chunk)

    def finish(self):
        try:
            self.inner.finish()
        finally:
            self.server.worker.request_handled()

    def on_connection_close(self):
        self.inner.on_connection_close()


class CountingHTTPServer(HTTPServer):
    """Tornado's server, counting requests (``max_requests``) and responses in progress."""

    def initialize(self, *args, worker=None, **kwargs):
        self.worker = worker
        self.responding = 0  # requests whose response is not finished yet
        super().initialize(*args, **kwargs)

    def start_request(self, server_conn, request_conn):
        delegate = super().start_request(server_conn, request_conn)
        return _CountedRequest(self, delegate, request_conn)


class TornadoWorker(Worker):
    """Serves a ``tornado.web.Application`` natively, or a WSGI app in a WSGIContainer."""

    _wakeup = None

    def request_handled(self):
        self.nr += 1
        if self.alive and self.nr >= self.max_requests:
            self.log.info("Autorestarting worker after current request.")
            self.alive = False
            self._wake()

    def _wake(self):
        # Stop accepting at once rather than at the next heartbeat.
        if self._wakeup is not None:
            # May run inside a signal handler: go through the loop's thread-safe path.
            self._loop.call_soon_threadsafe(self._wakeup.set)

    def handle_exit(self, sig, frame):
        super().handle_exit(sig, frame)
        self._wake()

    def init_process(self):
        # Until init_signals() runs, a TERM would reach the master's inherited handler.
        signal.signal(signal.SIGTERM, self.handle_exit)
        super().init_process()

    def _application(self):
        app = self.wsgi
        if isinstance(app, (httputil.HTTPServerConnectionDelegate, WSGIContainer)):
            _server_header_names_gunicorn()
            return app
        return WSGIContainer(app)

    def run(self):
        asyncio.set_event_loop(asyncio.new_event_loop())
        loop = asyncio.get_event_loop()
        try:
            loop.run_until_complete(self._serve())
        finally:
            loop.close()

    async def _serve(self):
        ssl_options = None
        h2 = wants_http2(self.cfg)
        if h2:
            # As upstream's tornado worker: HTTP/1.1 only, said once.
            self.log.warning("HTTP/2 is not supported by the tornado worker; serving "
                             "HTTP/1.1 only (use gthread, gevent, eventlet or asgi for h2)")
        if self.cfg.is_ssl:
            from gunicorn.sock import ssl_context

            ssl_options = ssl_context(self.cfg)
            if h2:
                # Never let ALPN pick a protocol tornado cannot speak.
                ssl_options.set_alpn_protocols(["http/1.1"])
        server = CountingHTTPServer(self._application(), worker=self, ssl_options=ssl_options,
                                    idle_connection_timeout=self.cfg.keepalive or None,
                                    no_keep_alive=not self.cfg.keepalive)
        listeners = []
        for listener in self.sockets:
            sock = getattr(listener, "sock", listener)
            sock.setblocking(False)
            listeners.append(sock)
        server.add_sockets(listeners)

        self._loop = asyncio.get_running_loop()
        self._wakeup = asyncio.Event()
        while self.alive:
            self.notify()
            if self.ppid != os.getppid():
                self.log.info("Parent changed, shutting down: %s", self)
                break
            try:
                await asyncio.wait_for(self._wakeup.wait(), HEARTBEAT_INTERVAL)
            except asyncio.TimeoutError:
                pass

        # Graceful: stop accepting, let responses in progress finish within graceful_timeout.
        server.stop()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.cfg.graceful_timeout
        # Connections accepted a moment ago may not have sent their head yet.
        await asyncio.sleep(0.1)
        while server.responding > 0 and loop.time() < deadline:
            self.notify()
            await asyncio.sleep(0.05)
        try:
            await asyncio.wait_for(server.close_all_connections(), 2)
        except asyncio.TimeoutError:
            self.log.warning("Connections still open after graceful shutdown; leaving.")


__all__ = ["TornadoWorker", "CountingHTTPServer"]
