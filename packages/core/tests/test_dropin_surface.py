"""Drop-in surface beyond the wire: what a user sees on the terminal and in the logs.

Each test pins a behaviour checked against upstream gunicorn 27: exit codes, the one
line an error prints, the lines the master logs around signals and shutdown.
"""

import os
import re
import signal
import textwrap
import threading
import time
from types import SimpleNamespace

import httpx
import pytest
from gunicorn_testsupport import ServerProcess, wait_for
from gunicorn_testsupport import run_gunicorn as gunicorn

from gunicorn.arbiter import Arbiter

pytestmark = pytest.mark.timeout(60)

APP = textwrap.dedent('''
    import os, time

    def app(environ, start_response):
        if environ["PATH_INFO"] == "/slow":
            open(os.path.join(os.path.dirname(__file__), "started"), "w").close()
            time.sleep(float(environ.get("QUERY_STRING") or 5))
        body = b"ok\\n"
        start_response("200 OK", [("Content-Type", "text/plain"),
                                  ("Content-Length", str(len(body))), ("X-Out", "o1")])
        return [body]

    def create_app(greeting="hi"):
        return app

    def failing_factory():
        raise RuntimeError("factory boom")
''')


@pytest.fixture
def project(tmp_path):
    (tmp_path / "app.py").write_text(APP)
    return tmp_path


def exits(srv, timeout=20.0):
    """Run a server that is expected to stop by itself: ``(exit status, output)``."""
    with srv:
        return srv.wait(timeout), srv.log


# -- command line: exit codes and the setting named in the error ----------------------

@pytest.mark.parametrize("args, status, needle", [
    (["--workers", "abc"], 2, "argument -w/--workers: invalid int value: 'abc'"),
    (["--nosuchflag"], 2, "unrecognized arguments: --nosuchflag"),
    (["--timeout", "-1"], 1, "timeout"),
    (["--bind", "127.0.0.1:xx"], 1, "'xx' is not a valid port number."),
    (["-k", "nosuchworker"], 1, "class uri 'nosuchworker' invalid or not found"),
    (["--reload-engine", "bogus"], 1, "reload_engine"),
    (["-e", "NOEQUALS"], 1, "environment setting 'NOEQUALS' invalid"),
])
def test_bad_values_exit_status_and_message(project, args, status, needle):
    result = gunicorn(project, *args, "--check-config", "app:app")
    assert result.returncode == status, result.stderr
    assert needle in result.stderr
    assert "Traceback" not in result.stderr


def test_version_line(project):
    from gunicorn import __version__
    result = gunicorn(project, "--version")
    assert (result.returncode, result.stdout) == (0, f"gunicorn (version {__version__})\n")


# -- config files -----------------------------------------------------------------------

def test_missing_config_module_names_no_gunicorn_source(project):
    result = gunicorn(project, "-c", "python:nosuch_dropin_conf", "--check-config", "app:app")
    assert result.returncode == 1
    assert "No module named 'nosuch_dropin_conf'" in result.stderr
    # where gunicorn itself imported the module is no help to the user
    assert "gunicorn/app" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_config_syntax_error_shows_the_line_and_caret(project):
    (project / "bad.conf.py").write_text("workers = = 2\n")
    result = gunicorn(project, "-c", "bad.conf.py", "--check-config", "app:app")
    assert result.returncode == 1
    lines = result.stderr.rstrip().splitlines()
    assert lines[0].startswith("Error: failed to read config file bad.conf.py line 1: "
                               "SyntaxError")
    assert lines[1].strip() == "workers = = 2"
    assert lines[2].strip() == "^"


def test_check_config_shows_the_traceback_of_a_failing_factory(project):
    result = gunicorn(project, "--check-config", "app:failing_factory()")
    assert result.returncode == 1
    # the user's own error: where it was raised matters more than one tidy line
    assert "Traceback (most recent call last)" in result.stderr
    assert 'app.py", line' in result.stderr
    assert result.stderr.rstrip().endswith("RuntimeError: factory boom")


# -- app loading at run time ------------------------------------------------------------

def test_factory_called_with_wrong_arguments_is_one_line(project):
    srv = ServerProcess("app:create_app(1, 2, 3)", cwd=str(project), wait_ready=False)
    status, log = exits(srv)
    assert status == 4
    assert "TypeError: create_app() takes from 0 to 1 positional arguments but 3 were given" \
        in log
    assert "Traceback" not in log
    assert "Reason: App failed to load." in log


def test_boot_failure_reason_reaches_the_terminal_when_logging_to_a_file(project):
    errlog = project / "error.log"
    srv = ServerProcess("--error-logfile", str(errlog), "nosuch_dropin_mod:app",
                        cwd=str(project), wait_ready=False)
    status, log = exits(srv)
    assert status == 3
    # the log file has the traceback; the terminal still learns why in one line
    assert log.strip() == "No module named 'nosuch_dropin_mod'"
    logged = errlog.read_text()
    assert "Exception in worker process" in logged
    assert "Reason: Worker failed to boot." in logged


# -- logging ----------------------------------------------------------------------------

def test_default_access_line_and_control_socket_line(project):
    with ServerProcess("--access-logfile", "-", "app:app", cwd=str(project)) as srv:
        assert httpx.get(srv.url("/a?b=1"), headers={"User-Agent": "ua/1"}).status_code == 200
        wait_for(lambda: '"GET /a?b=1 HTTP/1.1"' in srv.log, message="access line")
        # the control server starts after the first workers, so maybe after the request
        wait_for(lambda: "Control socket listening" in srv.log, message="control line")
        log = srv.log
    line = next(x for x in log.splitlines() if "GET /a?b=1" in x)
    assert re.fullmatch(r'127\.0\.0\.1 - - \[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\] '
                        r'"GET /a\?b=1 HTTP/1\.1" 200 3 "-" "ua/1"', line), line
    # upstream's wording, no colon before the path
    assert re.search(r"\[INFO\] Control socket listening at /\S+gunicorn\.ctl$", log, re.M)


def test_custom_access_format_atoms(project):
    fmt = ("%(h)s|%(r)s|%(s)s|%(b)s|%(f)s|%(a)s|%(T)s|%(D)s|%(L)s|%(M)s|"
           "%({x-in}i)s|%({x-out}o)s|%(p)s|%(m)s|%(U)s|%(q)s|%(H)s|%(nope)s")
    with ServerProcess("--access-logfile", "-", "--access-logformat", fmt, "app:app",
                       cwd=str(project)) as srv:
        httpx.get(srv.url("/p?q=1"), headers={"X-In": 'a"b', "Referer": "http://r/",
                                               "User-Agent": "ua/1"})
        wait_for(lambda: "|GET /p?q=1 HTTP/1.1|" in srv.log, message="access line")
        (pid,) = srv.worker_pids()
        log = srv.log
    line = next(x for x in log.splitlines() if "|GET /p?q=1" in x)
    h, r, s, b, f, a, T, D, L, M, xin, xout, p, m, U, q, H, nope = line.split("|")
    assert (h, r, s, b, f, a) == ("127.0.0.1", "GET /p?q=1 HTTP/1.1", "200", "3",
                                  "http://r/", "ua/1")
    assert T.isdigit() and D.isdigit() and M.isdigit()
    assert re.fullmatch(r"\d+\.\d{6}", L)
    assert (xin, xout, p) == ('a\\"b', "o1", f"<{pid}>")
    assert (m, U, q, H, nope) == ("GET", "/p", "q=1", "HTTP/1.1", "-")


# -- signals ----------------------------------------------------------------------------

def test_hup_retires_old_workers_cleanly(project):
    with ServerProcess("-w", "2", "app:app", cwd=str(project)) as srv:
        wait_for(lambda: len(srv.worker_pids()) == 2, message="2 workers")
        for _ in range(2):
            old = set(srv.worker_pids())
            srv.signal(signal.SIGHUP)
            wait_for(lambda old=old: len(srv.worker_pids()) == 2
                     and not old & set(srv.worker_pids()), message="old workers replaced")
        time.sleep(0.5)
        assert httpx.get(srv.url()).status_code == 200
        srv.stop()
        log = srv.log
    # an old worker leaves by itself after one SIGTERM: no death by a repeated one
    assert "was sent SIGTERM" not in log
    assert srv.proc.returncode == 0


def test_manage_workers_signals_a_retired_worker_once(monkeypatch):
    monkeypatch.setenv("SERVER_SOFTWARE", "")
    arbiter = Arbiter.__new__(Arbiter)
    arbiter.WORKERS = {pid: SimpleNamespace(age=age) for pid, age in ((11, 1), (12, 2), (13, 3))}
    arbiter.retiring = set()
    arbiter._num_workers = 2
    arbiter._last_logged_active_worker_count = None
    arbiter.log = SimpleNamespace(debug=lambda *a, **k: None)
    sent = []
    monkeypatch.setattr(arbiter, "kill_worker", lambda pid, sig: sent.append((pid, sig)),
                        raising=False)
    for _ in range(3):
        arbiter.manage_workers()
    assert sent == [(11, signal.SIGTERM)]
    # once reaped, the pid is forgotten; a later surplus retires the next oldest
    del arbiter.WORKERS[11]
    arbiter._num_workers = 1
    arbiter.manage_workers()
    assert sent == [(11, signal.SIGTERM), (12, signal.SIGTERM)]
    assert arbiter.retiring == {12}


def test_worker_killed_by_another_signal_is_a_warning(project):
    with ServerProcess("app:app", cwd=str(project)) as srv:
        wait_for(lambda: len(srv.worker_pids()) == 1, message="1 worker")
        (victim,) = srv.worker_pids()
        os.kill(victim, signal.SIGSEGV)
        wait_for(lambda: srv.worker_pids() and victim not in srv.worker_pids(),
                 message="replacement worker")
        wait_for(lambda: f"Worker (pid:{victim}) was sent SIGSEGV!" in srv.log,
                 message="reap line")
        log = srv.log
    assert re.search(rf"\[WARNING\] Worker \(pid:{victim}\) was sent SIGSEGV!$", log, re.M), log


def test_graceful_timeout_kill_is_not_reported_as_out_of_memory(project):
    srv = ServerProcess("--graceful-timeout", "1", "app:app", cwd=str(project))
    with srv:
        client = threading.Thread(target=_ignore_errors(httpx.get), args=(srv.url("/slow?8"),),
                                  kwargs={"timeout": 15}, daemon=True)
        client.start()
        wait_for(lambda: (project / "started").exists(), message="slow request started")
        srv.signal(signal.SIGTERM)
        assert srv.wait(15) == 0
        log = srv.log
    assert "Perhaps out of memory" not in log
    assert re.search(r"\[WARNING\] Worker \(pid:\d+\) was sent SIGKILL! Still running after "
                     r"graceful_timeout \(1s\)\.$", log, re.M), log


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGQUIT])
def test_stop_signals_exit_zero_and_run_on_exit(project, sig):
    (project / "gunicorn.conf.py").write_text(
        "def on_exit(server):\n    print('on_exit ran', flush=True)\n")
    with ServerProcess("app:app", cwd=str(project)) as srv:
        srv.signal(sig)
        assert srv.wait(15) == 0
        log = srv.log
    assert "on_exit ran" in log
    assert "Shutting down: Master" in log


def _ignore_errors(fn):
    def call(*args, **kwargs):
        try:
            fn(*args, **kwargs)
        except httpx.HTTPError:
            pass
    return call
