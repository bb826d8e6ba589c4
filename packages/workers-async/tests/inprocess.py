"""Run ``ASGIServer`` in a background thread for tests that need no arbiter."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
from types import SimpleNamespace

from gunicorn.asgi.event_loop import new_event_loop
from gunicorn.asgi.lifespan import Lifespan
from gunicorn.asgi.server import ASGIServer
from gunicorn.http.protocol import HTTP1Protocol


class RecordingLog:
    """A logger stand-in that keeps access entries and error messages."""

    def __init__(self):
        self.access_entries = []
        self.messages = []
        self._log = logging.getLogger("test.asgi")

    def access(self, resp, req, environ, request_time):
        self.access_entries.append((resp.status, resp.sent, environ["RAW_URI"], request_time))

    def _record(level):
        def method(self, msg, *args, **kw):
            self.messages.append((level, msg % args if args else msg))
            getattr(self._log, level)(msg, *args, **kw)
        return method

    debug = _record("debug")
    info = _record("info")
    warning = _record("warning")
    error = _record("error")
    exception = _record("exception")
    critical = _record("critical")


def make_cfg(**overrides):
    values = dict(keepalive=2, timeout=30, worker_connections=1000, root_path="",
                  asgi_disconnect_grace_period=3, graceful_timeout=5, asgi_lifespan="auto",
                  pre_request=lambda worker, req: None,
                  post_request=lambda worker, req, environ, resp: None)
    values.update(overrides)
    return SimpleNamespace(**values)


class InProcessServer:
    def __init__(self, app, lifespan="auto", **cfg):
        self.app = app
        self.cfg = make_cfg(**cfg)
        self.log = RecordingLog()
        self.lifespan_mode = lifespan
        self.server = None
        self.loop = None
        self._ready = threading.Event()
        self._stopped = threading.Event()
        self._error = None

    def __enter__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("server did not start")
        if self._error:
            raise self._error
        return self

    def url(self, path="/"):
        return f"http://127.0.0.1:{self.port}{path}"

    def _run(self):
        # ASGI_TEST_LOOP=uvloop runs the in-process suite on uvloop (the worker's default).
        self.loop = new_event_loop(os.environ.get("ASGI_TEST_LOOP", "asyncio"))
        try:
            self.loop.run_until_complete(self._main())
        except BaseException as exc:  # surfaced to the test
            self._error = exc
            self._ready.set()
        finally:
            self.loop.close()
            self._stopped.set()

    async def _main(self):
        self._stop = asyncio.Event()
        self.lifespan = Lifespan(self.app, self.lifespan_mode, self.log)
        await self.lifespan.startup()
        self.server = ASGIServer(self.app, self.cfg, self.log, HTTP1Protocol,
                                 state=self.lifespan.state if self.lifespan.supported else None)
        self.server.start([self.sock])
        self._ready.set()
        await self._stop.wait()
        await self.server.shutdown(self.cfg.graceful_timeout)
        await self.lifespan.shutdown()

    def stop(self):
        if self.loop is not None and not self._stopped.is_set():
            self.loop.call_soon_threadsafe(self._stop.set)
            self._stopped.wait(15)

    def __exit__(self, *exc):
        self.stop()
        self.sock.close()


def exchange(port, data, timeout=5):
    """Send ``data`` on a new connection; everything read until close or ``timeout``."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        out = b""
        try:
            while chunk := s.recv(65536):
                out += chunk
        except TimeoutError:
            pass
        return out
