"""gunicorn.workers.base.Worker: the surface uvicorn and aiohttp workers rely on."""

import os
import signal
import sys

import pytest
from wsgi_support import PieceSocket, RecordingLog, make_cfg, parse_responses

from gunicorn.http.errors import InvalidRequestLine, LimitRequestHeaders
from gunicorn.workers.base import Worker
from gunicorn.workers.workertmp import WorkerTmp


class App:
    def __init__(self, app=None, error=None):
        self.callable = app
        self.error = error

    def wsgi(self):
        if self.error:
            raise self.error
        return self.callable


def make_worker(cfg=None, app=None, log=None):
    return Worker(1, os.getppid(), [], app or App(lambda e, s: []), 15, cfg or make_cfg(),
                  log or RecordingLog())


@pytest.fixture
def saved_signals():
    saved = {sig: signal.getsignal(sig) for sig in Worker.SIGNALS}
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)
    signal.set_wakeup_fd(-1)


def test_constructor_attributes():
    cfg = make_cfg()
    w = Worker(3, 1234, ["s"], App(), 15, cfg, "log")
    assert (w.age, w.pid, w.ppid, w.sockets, w.timeout, w.cfg, w.log) == (
        3, "[booting]", 1234, ["s"], 15, cfg, "log")
    assert (w.booted, w.aborted, w.reloader, w.nr, w.alive) == (False, False, None, 0, True)
    assert w.max_requests == sys.maxsize
    assert isinstance(w.tmp, WorkerTmp)
    assert isinstance(Worker.SIGNALS, list) and signal.SIGTERM in Worker.SIGNALS
    assert Worker.PIPE == []
    assert str(w) == "<Worker [booting]>"
    w.tmp.close()


def test_max_requests_jitter():
    values = set()
    for _ in range(30):
        w = make_worker(make_cfg(max_requests=100, max_requests_jitter=10))
        values.add(w.max_requests)
        w.tmp.close()
    assert values <= set(range(100, 111))
    assert len(values) > 1


def test_run_is_abstract():
    w = make_worker()
    with pytest.raises(NotImplementedError):
        w.run()
    w.tmp.close()


def test_notify_touches_heartbeat():
    w = make_worker()
    before = w.tmp.last_update()
    import time
    time.sleep(0.02)
    w.notify()
    assert w.tmp.last_update() > before
    w.tmp.close()


def test_load_wsgi():
    app = lambda e, s: []  # noqa: E731
    w = make_worker(app=App(app))
    w.load_wsgi()
    assert w.wsgi is app
    w.tmp.close()


def test_load_wsgi_syntax_error_without_reload_raises():
    w = make_worker(app=App(error=SyntaxError("bad", ("f.py", 1, 1, "x"))))
    with pytest.raises(SyntaxError):
        w.load_wsgi()
    w.tmp.close()


def test_load_wsgi_syntax_error_with_reload_serves_error_app():
    w = make_worker(cfg=make_cfg(reload=True),
                    app=App(error=SyntaxError("bad", ("f.py", 1, 1, "x"))))
    w.load_wsgi()
    seen = []
    body = b"".join(w.wsgi({}, lambda status, headers: seen.append(status)))
    assert seen == ["500 Internal Server Error"]
    assert b"SyntaxError" in body
    w.tmp.close()


def test_init_process_order_and_run(saved_signals, monkeypatch):
    order = []
    cfg = make_cfg(raw_env=["GUNICORN_TEST_ENV=yes"],
                   post_worker_init=lambda worker: order.append("post_worker_init"))
    monkeypatch.delenv("GUNICORN_TEST_ENV", raising=False)

    class W(Worker):
        def load_wsgi(self):
            order.append("load_wsgi")
            super().load_wsgi()

        def init_signals(self):
            order.append("init_signals")
            super().init_signals()

        def run(self):
            order.append(("run", self.booted, os.environ.get("GUNICORN_TEST_ENV")))

    w = W(1, os.getppid(), [], App(lambda e, s: []), 15, cfg, RecordingLog())
    w.init_process()
    assert order == ["init_signals", "load_wsgi", "post_worker_init", ("run", True, "yes")]
    assert len(w.PIPE) == 2
    assert w.wait_fds == [w.PIPE[0]]
    assert signal.getsignal(signal.SIGTERM) == w.handle_exit
    assert signal.getsignal(signal.SIGQUIT) == w.handle_quit
    assert signal.getsignal(signal.SIGINT) == w.handle_quit
    assert signal.getsignal(signal.SIGABRT) == w.handle_abort
    assert signal.getsignal(signal.SIGUSR1) == w.handle_usr1
    assert signal.getsignal(signal.SIGWINCH) == w.handle_winch
    assert signal.getsignal(signal.SIGHUP) == signal.SIG_DFL
    for fd in w.PIPE:
        os.close(fd)
    w.tmp.close()


def test_signal_handlers():
    calls = []
    cfg = make_cfg(worker_int=lambda w: calls.append("int"),
                   worker_abort=lambda w: calls.append("abort"))

    class Log(RecordingLog):
        def reopen_files(self):
            calls.append("reopen")

    w = make_worker(cfg=cfg, log=Log())
    w.handle_exit(signal.SIGTERM, None)
    assert w.alive is False
    w.alive = True
    with pytest.raises(SystemExit) as info:
        w.handle_quit(signal.SIGQUIT, None)
    assert info.value.code == 0 and w.alive is False
    w.alive = True
    with pytest.raises(SystemExit) as info:
        w.handle_abort(signal.SIGABRT, None)
    assert info.value.code == 1 and w.alive is False
    w.handle_usr1(signal.SIGUSR1, None)
    w.handle_winch(signal.SIGWINCH, None)
    assert calls == ["int", "abort", "reopen"]
    w.tmp.close()


@pytest.mark.parametrize("exc, status", [
    (InvalidRequestLine("x"), 400),
    (LimitRequestHeaders("x"), 431),
    (RuntimeError("secret"), 500),
])
def test_handle_error(exc, status):
    log = RecordingLog()
    w = make_worker(log=log)
    sock = PieceSocket()

    class Req:
        method, uri, path, version, headers = "GET", "/u", "/u", (1, 1), []
    w.handle_error(Req(), sock, ("127.0.0.1", 9), exc)
    code, headers, body = parse_responses(sock.out)[0]
    assert code == status
    assert b"secret" not in bytes(sock.out)
    assert log.accesses and log.accesses[0][0].status_code == status
    if status == 500:
        # upstream's wording: method and target, for log alert rules
        assert log.levels("exception") == ["Error handling request GET /u"]
    w.tmp.close()
