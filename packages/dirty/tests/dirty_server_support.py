"""Helpers for the dirty-arbiter end-to-end tests: a server with dirty workers, calls, gunicornc."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
from gunicorn_testsupport import ServerProcess, wait_for

from gunicorn.ctl.client import ControlClient, ControlClientError

HERE = Path(__file__).resolve().parent
ECHO = "dirty_test_apps:Echo"
SINGLE = "dirty_test_apps:Single"
LIMITED = "dirty_test_apps:Limited"


def dirty_server(tmp_path, *args, workers=2, apps=(ECHO,), web_workers=1, env=None):
    """A ServerProcess serving dirty_test_wsgi:app with ``workers`` dirty workers."""
    events = tmp_path / "events.txt"
    events.touch()
    full_env = {"DIRTY_TEST_EVENTS": str(events),
                "XDG_RUNTIME_DIR": str(tmp_path)}
    full_env.update(env or {})
    argv = ["-w", str(web_workers), "--dirty-workers", str(workers)]
    for app in apps:
        argv += ["--dirty-app", app]
    srv = ServerProcess(*argv, *args, "dirty_test_wsgi:app", cwd=str(HERE), env=full_env)
    srv.events = events
    return srv


def events(srv):
    return srv.events.read_text().splitlines()


def call(srv, app, action, *args, path="/call", timeout=30.0, http_timeout=20.0):
    """Run ``app.action(*args)`` through a web worker's dirty client; the JSON reply."""
    body = {"app": app, "action": action, "args": list(args), "timeout": timeout}
    # a new connection each time, so the web workers take turns
    resp = httpx.post(srv.url(path), json=body, timeout=http_timeout,
                      headers={"Connection": "close"})
    assert resp.status_code == 200, (resp.status_code, resp.text, srv.log)
    return resp.json()


def gunicornc_command():
    script = os.path.join(os.path.dirname(sys.executable), "gunicornc")
    if os.path.exists(script):
        return [script]
    return [sys.executable, "-m", "gunicorn.ctl.cli"]


def gunicornc(srv, text):
    """``gunicornc -j -c TEXT`` against ``srv``: the reply's data (``-j`` prints it alone)."""
    proc = subprocess.run(gunicornc_command() + ["-j", "-c", text], env=srv.env,
                          capture_output=True, text=True, timeout=20)
    assert proc.returncode == 0, (proc.stdout, proc.stderr, srv.log)
    return json.loads(proc.stdout) if proc.stdout.strip() else None


def gunicornc_error(srv, text):
    """``gunicornc -j -c TEXT`` for a command that fails: its stderr line (status 1)."""
    proc = subprocess.run(gunicornc_command() + ["-j", "-c", text], env=srv.env,
                          capture_output=True, text=True, timeout=20)
    assert proc.returncode == 1, (proc.stdout, proc.stderr, srv.log)
    return proc.stderr.strip()


def control_path(srv):
    return os.path.join(srv.env["XDG_RUNTIME_DIR"], "gunicorn.ctl")


def show_dirty(srv):
    """``show dirty`` over the control socket, in process (polling with the CLI is slow)."""
    with ControlClient(control_path(srv), timeout=10) as client:
        reply = client.request("show dirty")
    assert reply["status"] == "ok", reply
    return reply["data"]


def control_ready(srv):
    wait_for(lambda: os.path.exists(control_path(srv)), 10, message=f"control socket\n{srv.log}")


def booted_workers(srv, count, timeout=15.0):
    """Wait until ``show dirty`` lists exactly ``count`` booted workers; the status."""
    control_ready(srv)
    last = {}

    def ready():
        try:
            last["status"] = status = show_dirty(srv)
        except ControlClientError as exc:   # the master is busy forking: ask again
            last["status"] = str(exc)
            return None
        workers = status["workers"]
        if len(workers) == count and all(w["booted"] for w in workers):
            return status
        return None

    try:
        return wait_for(ready, timeout, interval=0.1, message=f"{count} booted dirty workers")
    except AssertionError:
        raise AssertionError(f"never {count} booted dirty workers; last {last}\n{srv.log}")


def worker_pids(status):
    return sorted(w["pid"] for w in status["workers"])


def children(pid):
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)],
                         capture_output=True, text=True).stdout
    return sorted(int(p) for p in out.split())


def alive(pid):
    """Running (not gone, not a zombie waiting for a reaper)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state not in ("Z", "X")


def all_gone(pids, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        left = [pid for pid in pids if alive(pid)]
        if not left:
            return []
        time.sleep(0.05)
    return [pid for pid in pids if alive(pid)]
