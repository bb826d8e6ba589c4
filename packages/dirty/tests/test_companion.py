"""When the master runs the dirty arbiter, and what web workers inherit from it."""

import logging
import os
import signal
import types

import httpx
import pytest
from dirty_server_support import (
    ECHO,
    HERE,
    all_gone,
    booted_workers,
    call,
    children,
    dirty_server,
)
from gunicorn_testsupport import free_port, run_gunicorn

from gunicorn.config import Config
from gunicorn.dirty.companion import DirtyCompanion, reload_problem
from gunicorn.errors import HaltServer

pytestmark = pytest.mark.timeout(60)


def config(**settings):
    cfg = Config()
    for name, value in settings.items():
        cfg.set(name, value)
    return cfg


@pytest.mark.parametrize("workers, apps, enabled, warning", [
    (2, [ECHO], True, None),
    (0, [], False, None),
    (2, [], False, "no dirty_apps are set"),
    (0, [ECHO], False, "dirty_workers is 0"),
])
def test_enabled_needs_both_workers_and_apps(caplog, workers, apps, enabled, warning):
    cfg = config(dirty_workers=workers, dirty_apps=apps)
    with caplog.at_level("WARNING", logger="gunicorn.error"):
        assert DirtyCompanion.enabled(cfg) is enabled
    if warning:
        assert warning in caplog.text
    else:
        assert caplog.text == ""


def test_web_workers_inherit_the_socket_path(tmp_path):
    with dirty_server(tmp_path, workers=1, web_workers=2) as srv:
        status = booted_workers(srv, 1)
        seen = {}
        for _ in range(20):
            env = httpx.get(srv.url("/env"), headers={"Connection": "close"}).json()
            seen[env["pid"]] = env["socket"]
        assert set(seen.values()) == {status["socket"]}
        # a private directory: only this user may enter it
        assert os.stat(os.path.dirname(status["socket"])).st_mode & 0o077 == 0


def test_workers_without_apps_start_no_arbiter_and_warn(tmp_path):
    with dirty_server(tmp_path, workers=2, apps=()) as srv:
        env = httpx.get(srv.url("/env")).json()
        assert env["socket"] is None
        assert "no dirty_apps are set" in srv.log
        assert "Spawned dirty arbiter" not in srv.log
        assert len(children(srv.pid)) == 1   # the one web worker


@pytest.mark.parametrize("spec, reason", [
    ("dirty_test_apps:Echo:0", "must be >= 1, got 0"),
    ("no_such_module_here:App", "no module named 'no_such_module_here'"),
    # the module exists, the class does not: the dirty arbiter finds out, the master stops
    ("dirty_test_apps:Missing", "the dirty arbiter could not load its apps"),
    # a class that is no dirty app: found at start too, not by workers failing forever
    ("dirty_test_apps:NotAnApp", "the dirty arbiter could not load its apps"),
])
def test_bad_dirty_app_stops_the_server_at_start(tmp_path, spec, reason):
    proc = run_gunicorn(str(HERE), "-b", f"127.0.0.1:{free_port()}", "--dirty-workers", "1",
                        "--dirty-app", spec, "dirty_test_wsgi:app",
                        env={"XDG_RUNTIME_DIR": str(tmp_path), "TMPDIR": str(tmp_path)})
    assert proc.returncode == 4, proc.stderr
    assert "Traceback" not in proc.stderr
    reason_line = next(line for line in proc.stderr.splitlines() if "Reason:" in line)
    assert reason in reason_line and "dirty_apps" in reason_line, proc.stderr
    if "could not load" not in reason:
        # checked in the master before any process was forked
        assert "Booting worker" not in proc.stderr and "dirty arbiter" not in proc.stderr
    # the socket directory went with it
    assert not [p for p in os.listdir(tmp_path) if p.startswith("gunicorn-dirty-")]


def test_arbiter_restart_that_cannot_load_its_apps_keeps_the_web_serving(caplog):
    companion = DirtyCompanion()
    companion.log = logging.getLogger("gunicorn.error")
    companion.starts = 2          # it loaded them once: the code changed since
    with caplog.at_level("ERROR", logger="gunicorn.error"):
        assert companion.on_exit(123, 4 << 8) is False
    assert "could not load its apps; not restarting it" in caplog.text
    companion.starts = 1
    with pytest.raises(HaltServer):
        companion.on_exit(123, 4 << 8)


def test_web_workers_started_by_a_hup_of_the_master_find_the_dirty_arbiter(tmp_path):
    with dirty_server(tmp_path, workers=1) as srv:
        arbiter_pid = booted_workers(srv, 1)["pid"]
        web_before = [p for p in children(srv.pid) if p != arbiter_pid]
        srv.signal(signal.SIGHUP)
        assert all_gone(web_before) == []
        # new web workers still find the dirty socket after the master's reload
        assert call(srv, ECHO, "echo", "x")["result"] == "x"


@pytest.mark.parametrize("settings, expected", [
    ({"dirty_workers": 2, "dirty_apps": [ECHO]}, None),
    ({"dirty_workers": 0, "dirty_apps": [ECHO]}, "takes a restart"),
    ({"dirty_workers": 2, "dirty_apps": []}, "takes a restart"),
    ({"dirty_workers": 2, "dirty_apps": ["no_such_module_here:App"]}, "no module named"),
    ({"dirty_workers": 2, "dirty_apps": ["not a spec"]}, "dirty"),
])
def test_reload_problem_refuses_what_a_running_arbiter_cannot_take(settings, expected):
    problem = reload_problem(config(**settings))
    if expected is None:
        assert problem is None
    else:
        assert expected in problem


def test_a_settings_file_that_cannot_be_written_is_logged_not_raised(tmp_path, caplog):
    # the socket dir swapped for a symlink (by the user owning it): the master
    # refuses to write through it, logs, and keeps running
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "link").symlink_to(real)
    companion = DirtyCompanion()
    companion.log = logging.getLogger("gunicorn.error")
    companion.arbiter = types.SimpleNamespace(cfg=config(dirty_workers=2, dirty_apps=[ECHO]))
    companion.socket_path = str(tmp_path / "link" / "arbiter.sock")
    with caplog.at_level("ERROR", logger="gunicorn.error"):
        companion._pass_settings()
    assert "keeps its settings after the reload: cannot pass them on" in caplog.text
    assert list(real.iterdir()) == []


def test_a_tmpdir_too_long_for_a_unix_socket_falls_back_to_tmp(tmp_path):
    # AF_UNIX paths stop at ~107 bytes: a long TMPDIR used to make the dirty
    # arbiter fail to bind, restarted every second forever
    long_dir = tmp_path / ("d" * 60) / ("e" * 60)
    long_dir.mkdir(parents=True)
    with dirty_server(tmp_path, workers=1, env={"TMPDIR": str(long_dir)}) as srv:
        booted_workers(srv, 1)
        assert call(srv, ECHO, "echo", "short")["result"] == "short"
        socket_path = httpx.get(srv.url("/env")).json()["socket"]
        assert len(os.fsencode(socket_path)) <= 103, socket_path
        assert "too long for a unix socket" in srv.log
