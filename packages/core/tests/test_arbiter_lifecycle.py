"""The real server: start-up lines, graceful and quick stops, pid file, boot failures, hooks."""

import signal
import threading
import time

import httpx
import pytest
from arbiter_support import (
    booted_pids,
    get,
    hook_lines,
    server,
    started_marker,
    wait_for,
    wait_log,
    worker_count_is,
)

pytestmark = pytest.mark.timeout(60)


def test_startup_lines_and_graceful_term(tmp_path):
    with server(tmp_path, "-w", "2") as srv:
        assert get(srv).status_code == 200
        wait_for(worker_count_is(srv, 2), message="2 workers")
        log = srv.log
        assert "Starting gunicorn 28.0.0" in log
        assert f"Listening at: http://127.0.0.1:{srv.port} ({srv.pid})" in log
        assert "Using worker: " in log
        assert len(booted_pids(log)) == 2
        srv.signal(signal.SIGTERM)
        assert srv.wait() == 0
        assert "Handling signal: term" in srv.log
        assert "Shutting down: Master" in srv.log


def test_term_lets_in_flight_request_finish(tmp_path):
    with server(tmp_path, "--graceful-timeout", "10") as srv:
        result = {}

        def slow():
            result["response"] = get(srv, "/slow?1.5")

        t = threading.Thread(target=slow)
        t.start()
        wait_for(started_marker(tmp_path).exists, message="slow request to start")
        srv.signal(signal.SIGTERM)
        t.join(15)
        assert result["response"].status_code == 200
        assert b"path=/slow" in result["response"].content
        assert srv.wait() == 0
        assert "Handling signal: term" in srv.log


@pytest.mark.parametrize("sig", [signal.SIGQUIT, signal.SIGINT], ids=["QUIT", "INT"])
def test_quick_stop_does_not_wait(tmp_path, sig):
    with server(tmp_path, "--graceful-timeout", "20", hooks=True) as srv:
        threading.Thread(target=lambda: _swallow(get, srv, "/slow?15"), daemon=True).start()
        wait_for(started_marker(tmp_path).exists, message="slow request to start")
        started = time.monotonic()
        srv.signal(sig)
        assert srv.wait() == 0
        assert time.monotonic() - started < 5
        name = signal.Signals(sig).name[3:].lower()
        assert f"Handling signal: {name}" in srv.log
    # the worker was told to quit (QUIT from the master), not to finish
    assert len(hook_lines(tmp_path, "worker_int")) == 1


def test_int_during_graceful_stop_turns_quick(tmp_path):
    with server(tmp_path, "--graceful-timeout", "20") as srv:
        threading.Thread(target=lambda: _swallow(get, srv, "/slow?15"), daemon=True).start()
        wait_for(started_marker(tmp_path).exists, message="slow request to start")
        started = time.monotonic()
        srv.signal(signal.SIGTERM)
        wait_log(srv, "Handling signal: term")
        srv.signal(signal.SIGINT)
        assert srv.wait() == 0
        assert time.monotonic() - started < 6


def _swallow(fn, *args):
    try:
        fn(*args)
    except httpx.HTTPError:
        pass


def test_pidfile_written_and_removed(tmp_path):
    pidfile = tmp_path / "run" / "g.pid"
    pidfile.parent.mkdir()
    with server(tmp_path, "--pid", str(pidfile)) as srv:
        wait_for(pidfile.exists, message="pid file")
        assert pidfile.read_text().strip() == str(srv.pid)
        srv.stop()
        assert srv.proc.returncode == 0
    assert not pidfile.exists()


def test_import_error_stops_arbiter_without_respawn_storm(tmp_path):
    srv = server(tmp_path, "-w", "2", wait_ready=False)
    (tmp_path / "app.py").write_text("import no_such_module_here\n")
    with srv:
        status = srv.wait(20)
        log = srv.log
    assert status != 0
    assert "Worker failed to boot." in log
    assert "Shutting down: Master" in log
    assert len(booted_pids(log)) <= 2
    assert "no_such_module_here" in log


def test_missing_app_object_is_an_app_load_error(tmp_path):
    srv = server(tmp_path, "-w", "1", wait_ready=False)
    srv.args[-1] = "app:no_such_callable"
    with srv:
        status = srv.wait(20)
        log = srv.log
    assert status == 4
    assert "App failed to load." in log
    assert len(booted_pids(log)) == 1


def test_hooks_run_at_their_moments(tmp_path):
    with server(tmp_path, "-w", "2", hooks=True) as srv:
        wait_for(lambda: len(hook_lines(tmp_path, "post_worker_init")) == 2,
                 message="both workers initialised")
        assert get(srv).status_code == 200
        master = str(srv.pid)
        names = [line[0] for line in hook_lines(tmp_path)]
        # order of the master's start-up hooks
        assert names.index("nworkers_changed") < names.index("on_starting")
        assert names.index("on_starting") < names.index("when_ready") < names.index("pre_fork")
        assert hook_lines(tmp_path, "nworkers_changed")[0][2:] == ["2", "None"]
        assert hook_lines(tmp_path, "when_ready")[0][1:] == [master, "1"]
        assert all(line[1] == master for line in hook_lines(tmp_path, "pre_fork"))
        # post_fork runs in the child, with the child's pid
        forks = hook_lines(tmp_path, "post_fork")
        assert len(forks) == 2 and all(line[1] == line[2] != master for line in forks)

        srv.signal(signal.SIGTERM)
        assert srv.wait() == 0

    exits = hook_lines(tmp_path, "worker_exit")
    assert len(exits) == 2 and all(line[1] == line[2] != master for line in exits)
    children = hook_lines(tmp_path, "child_exit")
    assert len(children) == 2 and all(line[1] == master for line in children)
    assert {line[2] for line in children} == {line[2] for line in forks}
    assert hook_lines(tmp_path)[-1][:2] == ["on_exit", master]


def test_preload_imports_app_once_in_master(tmp_path):
    srv = server(tmp_path, "-w", "2", "--preload")
    app_py = tmp_path / "app.py"
    app_py.write_text(app_py.read_text() + "\nopen(os.path.join(os.environ['MARKER_DIR'], "
                      "'imports.log'), 'a').write('%d\\n' % os.getpid())\n")
    with srv:
        wait_for(worker_count_is(srv, 2), message="2 workers")
        assert get(srv).status_code == 200
        assert (tmp_path / "imports.log").read_text().split() == [str(srv.pid)]


def test_graceful_timeout_ends_in_sigkill(tmp_path):
    with server(tmp_path, "--graceful-timeout", "1") as srv:
        threading.Thread(target=lambda: _swallow(get, srv, "/slow?20"), daemon=True).start()
        wait_for(started_marker(tmp_path).exists, message="slow request to start")
        (worker,) = srv.worker_pids()
        started = time.monotonic()
        srv.signal(signal.SIGTERM)
        assert srv.wait() == 0
        assert time.monotonic() - started < 5
        assert f"Worker (pid:{worker}) was sent SIGKILL!" in srv.log
