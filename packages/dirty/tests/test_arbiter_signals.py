"""Signals to the dirty arbiter and the master: TTIN/TTOU, HUP, USR1, stops, a dead master."""

import os
import signal
import stat
import tempfile
import threading
import time

import pytest
from dirty_server_support import (
    ECHO,
    LIMITED,
    all_gone,
    booted_workers,
    call,
    children,
    dirty_server,
    events,
    worker_pids,
)
from gunicorn_testsupport import wait_for

from gunicorn.dirty.pidfile import remove_pidfile, write_pidfile

pytestmark = pytest.mark.timeout(60)


def test_ttin_adds_and_ttou_removes_down_to_the_apps_minimum(tmp_path):
    # Echo:2 must stay on two workers: TTOU never goes below that; Limited (no :N)
    # is loaded everywhere, so a third worker has an app to load
    with dirty_server(tmp_path, workers=2, apps=(f"{ECHO}:2", LIMITED)) as srv:
        status = booted_workers(srv, 2)
        arbiter_pid = status["pid"]
        os.kill(arbiter_pid, signal.SIGTTIN)
        assert len(worker_pids(booted_workers(srv, 3))) == 3
        # upstream's log lines, which operators grep for
        assert "SIGTTIN: Increasing dirty workers to 3" in srv.log
        os.kill(arbiter_pid, signal.SIGTTOU)
        two = worker_pids(booted_workers(srv, 2))
        wait_for(lambda: "SIGTTOU: Decreasing dirty workers to 2" in srv.log, 5, message=srv.log)
        os.kill(arbiter_pid, signal.SIGTTOU)
        wait_for(lambda: "SIGTTOU: Cannot decrease below 2 workers (required by app specs)" in srv.log, 5,
                 message=srv.log)
        assert worker_pids(booted_workers(srv, 2)) == two
        wait_for(lambda: sorted(children(arbiter_pid)) == two, 5,
                 message="only the two workers left")
        # USR1 to the master is forwarded: the dirty arbiter reopens its logs
        srv.signal(signal.SIGUSR1)
        deadline = time.monotonic() + 5
        while "Dirty arbiter handling signal: usr1" not in srv.log:
            assert time.monotonic() < deadline, srv.log
            time.sleep(0.05)
        assert call(srv, ECHO, "echo", 1)["result"] == 1


def test_hup_to_the_master_replaces_every_dirty_worker(tmp_path):
    with dirty_server(tmp_path, workers=2) as srv:
        status = booted_workers(srv, 2)
        old = worker_pids(status)
        srv.signal(signal.SIGHUP)
        deadline = time.monotonic() + 10

        def replaced():
            st = booted_workers(srv, 2)
            return not set(worker_pids(st)) & set(old) and st

        while not (new_status := replaced()):
            assert time.monotonic() < deadline, srv.log
            time.sleep(0.1)
        assert new_status["pid"] == status["pid"]   # same dirty arbiter
        assert "Reloading dirty workers" in srv.log
        assert all_gone(old) == []
        assert call(srv, ECHO, "echo", "after hup")["result"] == "after hup"
        # the old workers closed their apps as they left
        closed = {int(line.split()[2]) for line in events(srv) if line.startswith("close Echo")}
        assert set(old) <= closed


def test_graceful_stop_finishes_calls_and_leaves_no_process(tmp_path):
    # with hooks that note each call, checked once everything has stopped
    with dirty_server(tmp_path, "-c", "dirty_test_hooks.py", workers=2) as srv:
        status = booted_workers(srv, 2)
        pids = [status["pid"], *worker_pids(status)]
        socket_dir = os.path.dirname(status["socket"])
        result = {}
        slow = threading.Thread(target=lambda: result.update(call(srv, ECHO, "sleep", 1.5)))
        slow.start()
        wait_for(lambda: sum(w["in_flight"] for w in booted_workers(srv, 2)["workers"]) == 1,
                 10, message=f"the slow call to reach its worker\n{srv.log}")
        srv.signal(signal.SIGTERM)
        assert srv.wait(20) == 0
        slow.join(10)
        # the call in flight was allowed to finish
        assert result.get("result") == 1.5, (result, srv.log)
        assert all_gone(pids) == []
        assert not os.path.exists(socket_dir)
        closed = {int(line.split()[2]) for line in events(srv) if line.startswith("close Echo")}
        assert set(pids[1:]) <= closed
        _check_hooks(events(srv), pids[0], pids[1:])


def _check_hooks(lines, arbiter_pid, worker_pids):
    assert f"on_dirty_starting {arbiter_pid}" in lines
    for pid in worker_pids:
        # dirty_post_fork runs in the worker itself; dirty_worker_exit in the arbiter
        assert f"dirty_post_fork {pid} {pid}" in lines
        assert f"dirty_worker_init {pid} {ECHO}" in lines
        assert f"dirty_worker_exit {pid} {arbiter_pid}" in lines
        order = [line.split()[0] for line in lines
                 if line.split()[0].startswith("dirty_") and line.split()[1] == str(pid)]
        assert order == ["dirty_post_fork", "dirty_worker_init", "dirty_worker_exit"], lines


def test_graceful_stop_kills_calls_past_dirty_graceful_timeout(tmp_path):
    with dirty_server(tmp_path, "--dirty-graceful-timeout", "1", workers=1) as srv:
        status = booted_workers(srv, 1)
        pids = [status["pid"], *worker_pids(status)]
        result = {}
        slow = threading.Thread(target=lambda: result.update(call(srv, ECHO, "sleep", 20)))
        slow.start()
        # under load the call may take a while to reach the worker: stop only then
        wait_for(lambda: booted_workers(srv, 1)["workers"][0]["in_flight"] == 1, 10,
                 message=f"the slow call to reach its worker\n{srv.log}")
        started = time.monotonic()
        srv.signal(signal.SIGTERM)
        assert srv.wait(20) == 0
        # one second for the dirty worker, then SIGKILL: far from the call's 20 s
        assert time.monotonic() - started < 6, srv.log
        slow.join(10)
        assert result.get("error_type") == "DirtyWorkerError", result
        assert all_gone(pids) == []


def test_quick_stop_leaves_no_process(tmp_path):
    with dirty_server(tmp_path, workers=2) as srv:
        status = booted_workers(srv, 2)
        pids = [status["pid"], *worker_pids(status)]
        started = time.monotonic()
        srv.signal(signal.SIGINT)
        assert srv.wait(20) == 0
        assert all_gone(pids, timeout=5) == []
        assert time.monotonic() - started < 5


def test_dirty_arbiter_exits_when_the_master_dies(tmp_path):
    with dirty_server(tmp_path, workers=2) as srv:
        status = booted_workers(srv, 2)
        pids = [status["pid"], *worker_pids(status)]
        web = [pid for pid in children(srv.pid) if pid != status["pid"]]
        srv.signal(signal.SIGKILL)
        srv.wait(10)
        assert all_gone(pids, timeout=10) == [], srv.log
        assert not os.path.exists(os.path.dirname(status["socket"]))
        for pid in web:      # the web workers are the core's business: just end them
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def test_killed_dirty_arbiter_is_restarted_and_its_workers_leave(tmp_path):
    with dirty_server(tmp_path, workers=1) as srv:
        status = booted_workers(srv, 1)
        old_arbiter, old_workers = status["pid"], worker_pids(status)
        # the one web worker's client keeps this connection to the old arbiter
        assert call(srv, ECHO, "echo", "before")["result"] == "before"
        os.kill(old_arbiter, signal.SIGKILL)
        assert all_gone([old_arbiter, *old_workers]) == []
        deadline = time.monotonic() + 15
        while True:
            new = booted_workers(srv, 1)
            if new["pid"] != old_arbiter:
                break
            assert time.monotonic() < deadline, srv.log
            time.sleep(0.1)
        assert "Dirty arbiter (pid:%s) exited unexpectedly" % old_arbiter in srv.log
        # its first call after the restart reaches the new arbiter (same socket path)
        assert call(srv, ECHO, "echo", "back")["result"] == "back"


def test_no_worker_is_spawned_without_an_app_to_load(tmp_path):
    # as upstream: when every app is limited and has its N workers, more
    # dirty_workers (or a TTIN) start no idle process holding no app
    with dirty_server(tmp_path, workers=3, apps=(f"{ECHO}:2",)) as srv:
        status = booted_workers(srv, 2)
        arbiter_pid = status["pid"]
        os.kill(arbiter_pid, signal.SIGTTIN)
        wait_for(lambda: "SIGTTIN: Increasing dirty workers to 4" in srv.log, 5, message=srv.log)
        time.sleep(1.5)   # the arbiter checks its worker count every second
        assert sorted(children(arbiter_pid)) == worker_pids(booted_workers(srv, 2))
        assert "with apps: []" not in srv.log
        # a worker that dies is still replaced, with the app it had
        victim = worker_pids(status)[0]
        os.kill(victim, signal.SIGKILL)
        wait_for(lambda: victim not in worker_pids(booted_workers(srv, 2)), 10, message=srv.log)
        assert call(srv, ECHO, "echo", 7)["result"] == 7


def test_pid_file_at_upstreams_well_known_path(tmp_path):
    # upstream's docs: `kill -TTIN $(cat /tmp/gunicorn-dirty-<proc_name>.pid)`
    name = f"dirtypid-{os.getpid()}-{tmp_path.name}"
    path = os.path.join(tempfile.gettempdir(), f"gunicorn-dirty-{name}.pid")
    with dirty_server(tmp_path, "--name", name, workers=1) as srv:
        status = booted_workers(srv, 1)
        with open(path) as f:
            assert int(f.read()) == status["pid"]
        assert stat.S_IMODE(os.lstat(path).st_mode) == 0o600
        with open(path) as f:
            os.kill(int(f.read()), signal.SIGTTIN)
        booted_workers(srv, 2)
        srv.signal(signal.SIGTERM)
        assert srv.wait(20) == 0
    assert not os.path.exists(path)


def test_pid_file_is_never_written_through_a_symlink(tmp_path):
    target = tmp_path / "target"
    target.write_text("keep")
    link = tmp_path / "gunicorn-dirty-x.pid"
    link.symlink_to(target)
    assert write_pidfile(str(link), 123) is False
    assert target.read_text() == "keep"
    plain = tmp_path / "plain.pid"
    assert write_pidfile(str(plain), 123) is True
    assert write_pidfile(str(plain), 456) is True     # ours: replaced
    assert plain.read_text() == "456\n"
    remove_pidfile(str(plain), 123)                   # names another pid: kept
    assert plain.exists()
    remove_pidfile(str(plain), 456)
    assert not plain.exists()
