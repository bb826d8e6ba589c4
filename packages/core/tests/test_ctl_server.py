"""gunicornc against the real server: the control socket of a running master."""

import json
import os
import signal
import stat
import subprocess
import sys
import time

import pytest
from arbiter_support import server, wait_for, worker_count_is

pytestmark = pytest.mark.timeout(60)


def gunicornc_command():
    script = os.path.join(os.path.dirname(sys.executable), "gunicornc")
    if os.path.exists(script):
        return [script]
    return [sys.executable, "-m", "gunicorn.ctl.cli"]


def control_path(srv):
    return os.path.join(srv.env["XDG_RUNTIME_DIR"], "gunicorn.ctl")


def gunicornc(srv, text, check=True):
    """Run ``gunicornc -c TEXT -j`` against ``srv``; the reply as ``{"status", "data"|"error"}``.

    ``-j`` prints the reply's data (status 0), or ``Error: ...`` on stderr (status 1).
    """
    proc = subprocess.run(gunicornc_command() + ["-c", text, "-j"], env=srv.env,
                          capture_output=True, text=True, timeout=20)
    if check:
        assert proc.returncode == 0, (proc.stdout, proc.stderr, srv.log)
    if proc.returncode == 0:
        return {"status": "ok", "data": json.loads(proc.stdout)}
    return {"status": "error", "error": proc.stderr.strip().removeprefix("Error: ")}


def control_ready(srv):
    wait_for(lambda: os.path.exists(control_path(srv)), 10, message=f"control socket\n{srv.log}")


def worker_pids_reported(srv):
    return sorted(w["pid"] for w in gunicornc(srv, "show workers")["data"]["workers"])


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    srv = server(tmp_path_factory.mktemp("ctl"), "-w", "1")
    with srv:
        control_ready(srv)
        yield srv


def test_socket_file_mode(shared):
    assert stat.S_IMODE(os.stat(control_path(shared)).st_mode) == 0o600


def test_show_workers_matches_the_children(shared):
    reply = gunicornc(shared, "show workers")
    assert reply["status"] == "ok"
    assert reply["data"]["count"] == 1
    assert worker_pids_reported(shared) == shared.worker_pids()


def test_worker_add_then_remove(shared):
    reply = gunicornc(shared, "worker add 2")
    assert reply["data"] == {"added": 2, "previous": 1, "total": 3}
    wait_for(worker_count_is(shared, 3), 10, message="3 workers")
    wait_for(lambda: gunicornc(shared, "show workers")["data"]["count"] == 3, 10)
    reply = gunicornc(shared, "worker remove 2")
    assert reply["data"] == {"removed": 2, "previous": 3, "total": 1}
    wait_for(worker_count_is(shared, 1), 10, message="back to 1 worker")


def test_worker_kill_is_replaced(shared):
    wait_for(worker_count_is(shared, 1), 10)
    (pid,) = shared.worker_pids()
    reply = gunicornc(shared, f"worker kill {pid}")
    assert reply["data"] == {"success": True, "killed": pid}
    wait_for(lambda: shared.worker_pids() not in ([], [pid]), 10, message="a replacement")
    assert pid not in shared.worker_pids()


def test_worker_kill_unknown_pid_fails(shared):
    reply = gunicornc(shared, f"worker kill {shared.pid}", check=False)
    assert reply["data"]["success"] is False


def test_unknown_command_is_an_error(shared):
    proc = subprocess.run(gunicornc_command() + ["-c", "make coffee"], env=shared.env,
                          capture_output=True, text=True, timeout=20)
    assert proc.returncode != 0
    assert "unknown command" in proc.stderr


def test_show_dirty_without_dirty_arbiter(shared):
    assert gunicornc(shared, "show dirty")["data"]["enabled"] is False
    reply = gunicornc(shared, "dirty add")
    assert reply["data"] == {"success": False, "error": "Dirty arbiter not running"}


def test_show_listeners_config_stats_all(shared):
    listeners = gunicornc(shared, "show listeners")["data"]
    assert listeners["count"] == 1
    assert listeners["listeners"][0]["address"] == f"http://127.0.0.1:{shared.port}"
    config = gunicornc(shared, "show config")["data"]
    assert config["workers"] == 1 and config["graceful_timeout"] == 2
    stats = gunicornc(shared, "show stats")["data"]
    assert stats["pid"] == shared.pid and stats["uptime"] >= 0
    everything = gunicornc(shared, "show all")["data"]
    assert everything["arbiter"]["pid"] == shared.pid
    assert everything["web_worker_count"] == len(shared.worker_pids())


def test_human_output(shared):
    proc = subprocess.run(gunicornc_command() + ["-c", "show workers"], env=shared.env,
                          capture_output=True, text=True, timeout=20)
    assert proc.returncode == 0
    assert proc.stdout.splitlines()[0].split() == ["PID", "AGE", "BOOTED", "LAST_BEAT"]


def test_reload_replaces_workers(shared):
    wait_for(worker_count_is(shared, 1), 10)
    before = shared.worker_pids()
    assert gunicornc(shared, "reload")["data"] == {"status": "reloading"}
    wait_for(lambda: len(shared.worker_pids()) == 1 and shared.worker_pids() != before, 15,
             message=f"new workers after reload\n{shared.log}")
    wait_for(lambda: gunicornc(shared, "show stats")["data"]["reloads"] == 1, 10)


def test_shutdown_graceful_exits_zero(tmp_path):
    with server(tmp_path) as srv:
        control_ready(srv)
        path = control_path(srv)
        reply = gunicornc(srv, "shutdown graceful")
        assert reply["data"] == {"status": "shutting_down", "mode": "graceful"}
        assert srv.wait(15) == 0
        assert "Handling signal: term" in srv.log
        assert not os.path.exists(path)


def test_no_control_socket(tmp_path):
    with server(tmp_path, "--no-control-socket") as srv:
        assert srv.request(b"GET / HTTP/1.0\r\n\r\n").startswith(b"HTTP/1.")
        # a worker answered, so the master is past the point where the socket would start
        time.sleep(0.5)
        assert "Control socket" not in srv.log
        assert not os.path.exists(control_path(srv))
        proc = subprocess.run(gunicornc_command() + ["-c", "show workers"], env=srv.env,
                              capture_output=True, text=True, timeout=20)
        assert proc.returncode != 0
        srv.stop(signal.SIGTERM)
