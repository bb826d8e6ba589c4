"""The ``gevent`` workers: greenlet per connection, with core's HTTP/1.1 or gevent's pywsgi."""

from __future__ import annotations

import time
from datetime import datetime
from functools import partial

try:
    import gevent
except ImportError:
    raise RuntimeError("the gevent worker needs gevent: pip install gunicorn[gevent]") from None

from gevent import hub, monkey, pywsgi
from gevent.pool import Pool
from gevent.server import StreamServer

from gunicorn.plugins import require_plugin_api
from gunicorn.workers.base_async import TURN_SECONDS, AsyncWorker
from gunicorn.workers.http2_modes import wants_http2

require_plugin_api("gunicorn-workers-async", 1)

# Seconds between heartbeats while serving; well under any sane ``timeout``.
HEARTBEAT_INTERVAL = 1.0


class GeventWorker(AsyncWorker):
    """Each client runs in a greenlet of a pool of ``worker_connections``."""

    server_class = None
    wsgi_handler = None
    # Greenlets run the app concurrently in one thread; upstream reports that as
    # multithreaded (core's environ reads this attribute).
    wsgi_multithread = True

    def patch(self):
        # Patch before the app is imported (load_wsgi runs in init_process), so its
        # blocking I/O becomes cooperative.
        monkey.patch_all()
        # Listeners were made before patching: rebuild them as cooperative sockets.
        import socket

        patched = []
        for listener in self.sockets:
            raw = getattr(listener, "sock", listener)
            sock = socket.socket(raw.family, socket.SOCK_STREAM, fileno=raw.detach())
            if hasattr(listener, "sock"):
                listener.sock = sock
                patched.append(listener)
            else:
                patched.append(sock)
        self.sockets = patched
        # The hub must not carry state over from the master across fork.
        hub.reinit()

    def timeout_ctx(self):
        return gevent.Timeout(self.cfg.keepalive or None, False)

    def yield_turn(self):
        gevent.sleep(0)

    def spawn_stream(self, fn, *args):
        gevent.spawn(fn, *args)

    # Signal handlers run in the hub; do their blocking parts in a greenlet.
    def handle_quit(self, sig, frame):
        gevent.spawn(super().handle_quit, sig, frame)

    def handle_usr1(self, sig, frame):
        gevent.spawn(super().handle_usr1, sig, frame)

    def _listener_socket(self, listener):
        return getattr(listener, "sock", listener)

    def _make_server(self, listener, pool):
        sock = self._listener_socket(listener)
        sock.setblocking(True)
        if self.server_class is not None:
            extra = {}
            if self.cfg.is_ssl:
                from gunicorn.sock import ssl_context

                extra["ssl_context"] = context = ssl_context(self.cfg)
                if wants_http2(self.cfg):
                    # pywsgi speaks HTTP/1 only: ALPN must never pick h2.
                    context.set_alpn_protocols(["http/1.1"])
            server = self.server_class(
                sock, application=self.wsgi, spawn=pool, log=self.log,
                handler_class=self.wsgi_handler, environ=self._base_environ(listener), **extra)
        else:
            server = StreamServer(sock, handle=partial(self.handle, listener), spawn=pool)
        return server

    def _base_environ(self, listener):
        # pywsgi's environ, completed with what gunicorn's own environ offers apps.
        from gunicorn.wsgi.error_stream import ErrorStream
        from gunicorn.wsgi.file_wrapper import FileWrapper

        return {"SERVER_SOFTWARE": f"gevent/{gevent.__version__} {_server_software()}",
                "wsgi.errors": ErrorStream(self.log),
                "wsgi.file_wrapper": FileWrapper,
                "wsgi.multithread": self.wsgi_multithread,
                "wsgi.multiprocess": self.cfg.workers > 1}

    def run(self):
        servers = []
        for listener in self.sockets:
            pool = Pool(self.worker_connections)
            server = self._make_server(listener, pool)
            server.start()
            servers.append(server)

        while self.alive:
            self.notify()
            gevent.sleep(HEARTBEAT_INTERVAL)

        try:
            # Graceful: stop accepting, let running greenlets finish within graceful_timeout.
            for server in servers:
                server.close()
            deadline = time.monotonic() + self.cfg.graceful_timeout
            while time.monotonic() < deadline:
                busy = [s for s in servers if s.pool is not None and len(s.pool)]
                if not busy:
                    break
                self.notify()
                gevent.sleep(0.1)
            for server in servers:
                server.stop(timeout=1)
        except Exception:
            self.log.exception("Error while stopping the gevent servers")


def _server_software():
    from gunicorn import SERVER_SOFTWARE

    return SERVER_SOFTWARE


class _AccessResponse:
    """``resp`` for the access log from pywsgi's handler state."""

    def __init__(self, status, headers, sent):
        self.status = status.decode("latin-1") if isinstance(status, bytes) else (status or "")
        try:
            self.status_code = int(self.status.split(None, 1)[0])
        except (ValueError, IndexError):
            self.status_code = None
        self.headers = list(headers or [])
        self.sent = sent or 0
        self.response_length = self.sent


class PyWSGIHandler(pywsgi.WSGIHandler):
    """gevent's own HTTP handler, logging through gunicorn's access log."""

    # (0.0: the first request of a connection ends a turn; later ones every TURN_SECONDS.)
    _turn_started = 0.0

    def handle_one_request(self):
        result = super().handle_one_request()
        # pywsgi's keep-alive loop never waits while the client's next request is
        # already here: take turns with the other connections, as core's loop does.
        if time.monotonic() - self._turn_started >= TURN_SECONDS:
            gevent.sleep(0)
            self._turn_started = time.monotonic()
        return result

    def log_request(self):
        started = datetime.fromtimestamp(self.time_start)
        finished = datetime.fromtimestamp(self.time_finish)
        resp = _AccessResponse(self.status, getattr(self, "response_headers", []),
                               self.response_length)
        req_headers = list(self.headers.items()) if getattr(self, "headers", None) else []
        self.server.log.access(resp, req_headers, self.environ, finished - started)

    def get_environ(self):
        environ = super().get_environ()
        environ["gunicorn.sock"] = self.socket
        environ["RAW_URI"] = self.path
        return environ


class PyWSGIServer(pywsgi.WSGIServer):
    pass


class GeventPyWSGIWorker(GeventWorker):
    """The ``gevent_wsgi``/``gevent_pywsgi`` worker: gevent parses HTTP, not core."""

    # pywsgi has no HTTP/2: h2 in http_protocols gets a warning, HTTP/1.1 only.
    serves_http2 = False

    server_class = PyWSGIServer
    wsgi_handler = PyWSGIHandler


# The upstream name of the access-log response object.
GeventResponse = _AccessResponse

__all__ = ["GeventWorker", "GeventPyWSGIWorker", "GeventResponse", "PyWSGIHandler",
           "PyWSGIServer"]
