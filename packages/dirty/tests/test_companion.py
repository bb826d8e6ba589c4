"""When the master runs the dirty arbiter, and what web workers inherit from it."""

import os

import httpx
import pytest
from dirty_server_support import ECHO, all_gone, booted_workers, call, children, dirty_server

from gunicorn.config import Config
from gunicorn.dirty.companion import DirtyCompanion

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


def test_app_that_cannot_import_stops_the_arbiter_not_the_server(tmp_path):
    with dirty_server(tmp_path, workers=1, apps=("no_such_module_here:App",)) as srv:
        deadline_log = "could not load its apps; not restarting"
        from gunicorn_testsupport import wait_for

        wait_for(lambda: deadline_log in srv.log, 10, message=srv.log)
        assert "Dirty arbiter cannot load its apps" in srv.log
        socket_dir = os.path.dirname(httpx.get(srv.url("/env")).json()["socket"])
        assert not os.path.exists(socket_dir)
        reply = call(srv, ECHO, "echo", 1)
        assert reply["error_type"] == "DirtyConnectionError", reply
        assert len(children(srv.pid)) == 1


def test_web_worker_calls_during_hup_of_the_master(tmp_path):
    import signal
    import time

    with dirty_server(tmp_path, workers=1) as srv:
        booted_workers(srv, 1)
        web_before = [p for p in children(srv.pid)]
        srv.signal(signal.SIGHUP)
        time.sleep(1.0)
        # new web workers still find the dirty socket after the master's reload
        assert all_gone([p for p in web_before if p != booted_workers(srv, 1)["pid"]]) == []
        assert call(srv, ECHO, "echo", "x")["result"] == "x"
