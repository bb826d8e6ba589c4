"""The ``asgi`` worker: one asyncio (or uvloop) event loop serving an ASGI 3 application."""

from __future__ import annotations

import asyncio
import os
import signal
import sys

from gunicorn.plugins import require_plugin_api
from gunicorn.workers import base
from gunicorn.workers.http2_modes import h2c_modes, load_http2_plugin, wants_http2

require_plugin_api("gunicorn-workers-async", 1)

# The arbiter halts the whole server when a worker exits with this (Arbiter.APP_LOAD_ERROR).
APP_LOAD_ERROR = 4
# A failed lifespan startup: the arbiter halts with "Worker failed to boot." and
# exits 3, as upstream's asgi worker makes it (Arbiter.WORKER_BOOT_ERROR).
WORKER_BOOT_ERROR = 3


class ASGIWorker(base.Worker):
    """Serves HTTP/1.1, WebSocket and (with gunicorn-http2) HTTP/2 to an ASGI app.

    Lifespan runs once per worker.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.worker_connections = self.cfg.worker_connections
        self.loop = None
        self.asgi = None
        self.server = None
        self.lifespan = None
        self.exit_code = 0
        self._wakeup = None
        self._quick_exit = False

    # -- process setup -----------------------------------------------------------

    def init_process(self):
        # Until init_signals() runs, a TERM or QUIT would reach the master's inherited
        # handlers and be lost: note it now, act on it once the loop runs.
        self._install_boot_signal_handlers()
        from gunicorn.asgi.event_loop import new_event_loop

        self.loop = new_event_loop(getattr(self.cfg, "asgi_loop", "auto"))
        asyncio.set_event_loop(self.loop)
        super().init_process()

    def init_signals(self):
        # Reset what the master installed. While booting (app import, loop not yet
        # running) plain handlers only take note; _serve() moves them onto the loop,
        # where they run between callbacks. uvloop drops a signal that arrives for a
        # loop handler before the loop runs, hence the two steps.
        for sig in self.SIGNALS:
            signal.signal(sig, signal.SIG_DFL)
        self._install_boot_signal_handlers()
        signal.signal(signal.SIGUSR1, self.handle_usr1)
        signal.signal(signal.SIGWINCH, self.handle_winch)
        # ABRT (heartbeat timeout) must work even when the loop is stuck in app code.
        signal.signal(signal.SIGABRT, self.handle_abort)

    def _install_boot_signal_handlers(self):
        signal.signal(signal.SIGTERM, self.handle_exit)
        signal.signal(signal.SIGQUIT, self._early_quit)
        signal.signal(signal.SIGINT, self._early_quit)

    def _install_loop_signal_handlers(self):
        """Called from inside the running loop (see init_signals)."""
        loop = self.loop
        loop.add_signal_handler(signal.SIGTERM, self._graceful_stop)
        loop.add_signal_handler(signal.SIGQUIT, self._quick_stop)
        loop.add_signal_handler(signal.SIGINT, self._quick_stop)
        loop.add_signal_handler(signal.SIGUSR1, self._reopen_logs)
        loop.add_signal_handler(signal.SIGWINCH, self._ignore_winch)

    def load_wsgi(self):
        self.notify()  # the boot so far (loop setup) counts against ``timeout`` too
        super().load_wsgi()
        self.notify()
        from gunicorn.asgi.app_style import as_asgi3, looks_like_wsgi

        if looks_like_wsgi(self.wsgi):
            from gunicorn.errors import AppImportError

            # AppImportError makes the worker exit with APP_LOAD_ERROR: the arbiter halts.
            raise AppImportError(
                "the application is a WSGI callable; the asgi worker serves ASGI apps "
                "(use -k sync, gthread, gevent or eventlet for WSGI)")
        self.asgi = as_asgi3(self.wsgi)

    # -- signals -----------------------------------------------------------------

    def _early_quit(self, sig, frame):
        self.alive = False
        self._quick_exit = True

    def wake(self):
        if self._wakeup is not None:
            self._wakeup.set()

    def _graceful_stop(self):
        self.alive = False
        self.wake()

    def _quick_stop(self):
        self.alive = False
        self._quick_exit = True
        try:
            self.cfg.worker_int(self)
        except Exception:
            self.log.exception("Exception in worker_int hook")
        self.wake()

    def _reopen_logs(self):
        self.log.reopen_files()

    def _ignore_winch(self):
        self.log.debug("worker: SIGWINCH ignored.")

    # -- main loop ---------------------------------------------------------------

    def run(self):
        try:
            self.loop.run_until_complete(self._serve())
        finally:
            try:
                self.loop.run_until_complete(self.loop.shutdown_asyncgens())
            finally:
                self.loop.close()
        if self.exit_code:
            sys.exit(self.exit_code)

    def _protocol_class(self):
        name = getattr(self.cfg, "protocol", "http") or "http"
        if name == "http":
            from gunicorn.http.protocol import HTTP1Protocol

            return HTTP1Protocol
        from gunicorn.plugins import load_protocol

        return load_protocol(name)

    def _http2_plugin(self):
        """gunicorn-http2's plugin class when h2 is asked for and installed, else None.

        Found through the ``gunicorn.protocols`` entry point ``h2``: this
        distribution never depends on gunicorn-http2.
        """
        if not wants_http2(self.cfg):
            return None
        if (getattr(self.cfg, "protocol", "http") or "http") != "http":
            return None
        try:
            return load_http2_plugin()
        except (LookupError, ImportError) as exc:
            self.log.debug("HTTP/2 unavailable: %s", exc)
            return None

    def _h2c_modes(self, http2):
        """``(prior_knowledge, upgrade)`` cleartext HTTP/2, only with the plugin loaded."""
        if http2 is None:
            return False, False
        return h2c_modes(self.cfg, self.cfg.is_ssl)

    def _ssl_context(self, http2):
        if not self.cfg.is_ssl:
            return None
        from gunicorn.sock import ssl_context

        context = ssl_context(self.cfg)
        if http2 is None and wants_http2(self.cfg):
            # Without gunicorn-http2 this worker speaks HTTP/1.1 only: never
            # let ALPN pick h2 for it.
            context.set_alpn_protocols(["http/1.1"])
        return context

    def _warn_without_http2(self, http2):
        if http2 is not None or not wants_http2(self.cfg):
            return
        cleartext = getattr(self.cfg, "http2_cleartext", "off") or "off"
        if self.cfg.is_ssl or cleartext != "off":
            self.log.warning("the asgi worker serves HTTP/1.1 only; h2 is not offered "
                             "(install gunicorn-http2 for HTTP/2)")

    async def _serve(self):
        from gunicorn.asgi.lifespan import Lifespan, LifespanFailure
        from gunicorn.asgi.server import ASGIServer

        self._wakeup = asyncio.Event()
        self._install_loop_signal_handlers()
        self.lifespan = Lifespan(self.asgi, getattr(self.cfg, "asgi_lifespan", "auto"), self.log)
        # A slow startup must not look like a hung worker to the master.
        notifier = asyncio.ensure_future(self._notify_forever())
        try:
            await self.lifespan.startup()
        except LifespanFailure as exc:
            self.log.error("ASGI lifespan startup failed: %s", exc)
            self.exit_code = WORKER_BOOT_ERROR
            return
        finally:
            notifier.cancel()
        http2 = self._http2_plugin()
        self._warn_without_http2(http2)
        h2c_prior, h2c_upgrade = self._h2c_modes(http2)
        self.server = ASGIServer(
            self.asgi, self.cfg, self.log, self._protocol_class(), worker=self,
            state=self.lifespan.state if self.lifespan.supported else None,
            ssl_context=self._ssl_context(http2), http2=http2,
            h2c_prior=h2c_prior, h2c_upgrade=h2c_upgrade)
        self.server.start(self.sockets)
        try:
            await self._heartbeat()
        finally:
            # Keep a little of graceful_timeout for lifespan shutdown before the master's SIGKILL.
            graceful = self.cfg.graceful_timeout
            started = self.loop.time()
            timeout = 0 if self._quick_exit else graceful * 0.9
            await self.server.shutdown(timeout, tick=self.notify)
            if not self._quick_exit:
                self.lifespan.timeout = max(graceful - (self.loop.time() - started), 1.0)
                notifier = asyncio.ensure_future(self._notify_forever())
                try:
                    await self.lifespan.shutdown()
                finally:
                    notifier.cancel()

    async def _notify_forever(self):
        while True:
            self.notify()
            await asyncio.sleep(1.0)

    async def _heartbeat(self):
        # notify() more often than ``timeout`` so the master knows we are alive.
        interval = 1.0
        while self.alive:
            self.notify()
            if self.ppid != os.getppid():
                self.log.info("Parent changed, shutting down: %s", self)
                self.alive = False
                break
            try:
                await asyncio.wait_for(self._wakeup.wait(), interval)
            except asyncio.TimeoutError:
                pass
            self._wakeup.clear()
