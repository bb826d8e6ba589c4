"""``Worker``: the base class of every worker (and of uvicorn's and aiohttp's)."""

import io
import os
import signal
import ssl
import sys
import time
import traceback
from datetime import datetime
from random import randint

from gunicorn import process
from gunicorn.workers.workertmp import WorkerTmp


class Worker:
    """One forked worker process; ``run()`` is the subclass's serving loop.

    Built in the master (before the fork); ``init_process()`` then runs in the
    child and ends by calling ``run()``.
    """

    SIGNALS = [getattr(signal, "SIG%s" % name)
               for name in "ABRT HUP QUIT INT TERM USR1 USR2 WINCH CHLD".split()]

    PIPE = []

    def __init__(self, age, ppid, sockets, app, timeout, cfg, log):
        self.age = age
        self.pid = "[booting]"
        self.ppid = ppid
        self.sockets = sockets
        self.app = app
        self.timeout = timeout
        self.cfg = cfg
        self.booted = False
        self.aborted = False
        self.reloader = None

        self.nr = 0
        if cfg.max_requests > 0:
            # Jitter spreads restarts so workers do not all recycle at once.
            jitter = randint(0, cfg.max_requests_jitter or 0)
            self.max_requests = cfg.max_requests + jitter
        else:
            self.max_requests = sys.maxsize

        self.alive = True
        self.log = log
        self.tmp = WorkerTmp(cfg)

    def __str__(self):
        return "<Worker %s>" % self.pid

    def notify(self):
        """Tell the arbiter this worker is alive; call more often than ``timeout``."""
        self.tmp.notify()

    def run(self):
        """The main loop; subclasses serve requests here until ``alive`` is False."""
        raise NotImplementedError()

    def init_process(self):
        """Set the child up, load the app, then ``run()``. Subclasses call this last."""
        env = self.cfg.env
        if env:
            for key, value in env.items():
                os.environ[key] = value

        process.set_owner_process(self.cfg.uid, self.cfg.gid,
                                  initgroups=self.cfg.initgroups)
        # Forked workers would otherwise share the master's random sequence.
        process.seed()

        # Signal handlers wake the main loop by writing here.
        self.PIPE = os.pipe()
        for fd in self.PIPE:
            process.set_non_blocking(fd)
            process.close_on_exec(fd)
        # Nothing this worker spawns may inherit the listeners or the heartbeat.
        for sock in self.sockets:
            process.close_on_exec(sock.fileno() if hasattr(sock, "fileno") else sock)
        process.close_on_exec(self.tmp.fileno())
        self.wait_fds = self.sockets + [self.PIPE[0]]

        close_logs = getattr(self.log, "close_on_exec", None)
        if close_logs is not None:
            close_logs()

        self.init_signals()

        if self.cfg.reload:
            self.log.warning("Reloader is on. Use in development only!")
            self.reloader = self._make_reloader()

        self.load_wsgi()
        if self.reloader is not None:
            self.reloader.start()

        self.cfg.post_worker_init(self)

        self.booted = True
        self.run()

    def _make_reloader(self):
        from gunicorn.reloader import reloader_engines

        def changed(fname):
            self.log.info("Worker reloading: %s modified", fname)
            self.alive = False
            try:
                os.write(self.PIPE[1], b"1")
            except OSError:
                pass
            self.cfg.worker_int(self)
            time.sleep(0.1)
            # Ends the reloader thread; the main loop sees alive=False and leaves.
            sys.exit(0)

        engine = reloader_engines[self.cfg.reload_engine]
        return engine(extra_files=self.cfg.reload_extra_files, callback=changed)

    def load_wsgi(self):
        """``self.wsgi = self.app.wsgi()``; under --reload a SyntaxError serves an error app."""
        try:
            self.wsgi = self.app.wsgi()
        except SyntaxError as exc:
            if not self.cfg.reload:
                raise
            self.log.exception(exc)
            # Watch the broken file so fixing it triggers a reload.
            if self.reloader is not None and exc.filename:
                self.reloader.add_extra_file(exc.filename)
            with io.StringIO() as text:
                traceback.print_exception(type(exc), exc, None, file=text)
                self.wsgi = _syntax_error_app(text.getvalue())

    def init_signals(self):
        for sig in self.SIGNALS:
            signal.signal(sig, signal.SIG_DFL)

        signal.signal(signal.SIGQUIT, self.handle_quit)
        signal.signal(signal.SIGTERM, self.handle_exit)
        signal.signal(signal.SIGINT, self.handle_quit)
        signal.signal(signal.SIGWINCH, self.handle_winch)
        signal.signal(signal.SIGUSR1, self.handle_usr1)
        signal.signal(signal.SIGABRT, self.handle_abort)

        # A graceful stop or a log reopen must not break a blocking syscall.
        signal.siginterrupt(signal.SIGTERM, False)
        signal.siginterrupt(signal.SIGUSR1, False)

        if hasattr(signal, "set_wakeup_fd") and self.PIPE:
            signal.set_wakeup_fd(self.PIPE[1])

    def handle_usr1(self, sig, frame):
        self.log.reopen_files()

    def handle_exit(self, sig, frame):
        self.alive = False

    def handle_quit(self, sig, frame):
        self.alive = False
        self.cfg.worker_int(self)
        time.sleep(0.1)
        sys.exit(0)

    def handle_abort(self, sig, frame):
        self.alive = False
        self.cfg.worker_abort(self)
        sys.exit(1)

    def handle_winch(self, sig, frame):
        self.log.debug("worker: SIGWINCH ignored.")

    def handle_error(self, req, client, addr, exc):
        """Answer ``exc`` with an error page on ``client`` and log it (never a traceback)."""
        from gunicorn.http.error_response import log_parse_error, log_tls_failure, peer_ip
        from gunicorn.http.errors import ParseError
        from gunicorn.wsgi.error_page import render_error
        from gunicorn.wsgi.serve import error_reply, request_error_message

        request_start = datetime.now()
        status, reason, mesg = error_reply(exc)
        if isinstance(exc, ParseError):
            log_parse_error(self.log, addr, exc)
        elif isinstance(exc, ssl.SSLError):
            log_tls_failure(self.log, addr, exc)
        elif status < 500:
            self.log.debug("Refused request from ip=%s: %s", peer_ip(addr), exc)
        else:
            self.log.exception(request_error_message(req))

        page = render_error(status, reason, mesg)
        if req is not None:
            environ = {"REQUEST_METHOD": getattr(req, "method", ""),
                       "RAW_URI": getattr(req, "uri", ""),
                       "SERVER_PROTOCOL": "HTTP/%d.%d" % tuple(getattr(req, "version", (1, 1))),
                       "REMOTE_ADDR": peer_ip(addr) or ""}
            if isinstance(addr, tuple):
                environ["REMOTE_PORT"] = str(addr[1])
            resp = _ErrorPageResponse(status, reason, len(mesg))
            try:
                self.log.access(resp, req, environ, datetime.now() - request_start)
            except Exception:
                self.log.debug("Failed to log the error response", exc_info=True)
        try:
            client.sendall(page)
        except Exception:
            self.log.debug("Failed to send error message.")


class _ErrorPageResponse:
    def __init__(self, status, reason, length):
        self.status = "%d %s" % (status, reason)
        self.status_code = status
        self.headers = [("Connection", "close")]
        self.sent = length
        self.response_length = length


def _syntax_error_app(text):
    body = text.encode("utf-8", "replace")

    def app(environ, start_response):
        start_response("500 Internal Server Error",
                       [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
        return [body]

    return app
