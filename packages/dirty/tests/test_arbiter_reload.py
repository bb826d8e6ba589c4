"""A HUP of the master hands the re-read dirty_* settings to the running dirty arbiter."""

import signal
import threading

import pytest
from dirty_server_support import (
    ECHO,
    HERE,
    SINGLE,
    all_gone,
    booted_workers,
    call,
    gunicornc,
    worker_pids,
)
from gunicorn_testsupport import ServerProcess, wait_for

pytestmark = pytest.mark.timeout(90)

CONF = """\
dirty_workers = {workers}
dirty_apps = {apps!r}
dirty_timeout = {timeout}
"""


def conf_server(tmp_path, conf):
    """A server whose dirty settings come from the config file only (the CLI would win)."""
    return ServerProcess("-w", "1", "-c", str(conf), "dirty_test_wsgi:app", cwd=str(HERE),
                         env={"XDG_RUNTIME_DIR": str(tmp_path)})


def new_workers(srv, count, old):
    """Wait until ``count`` booted workers, none of them from ``old``, serve; the status."""
    def replaced():
        status = booted_workers(srv, count)
        return not set(worker_pids(status)) & set(old) and status

    return wait_for(replaced, 20, interval=0.1, message=f"{count} new dirty workers\n{srv.log}")


def test_hup_applies_new_dirty_workers_apps_and_timeout(tmp_path):
    conf = tmp_path / "dirty_conf.py"
    conf.write_text(CONF.format(workers=1, apps=[ECHO], timeout=300))
    with conf_server(tmp_path, conf) as srv:
        status = booted_workers(srv, 1)
        old = worker_pids(status)
        assert call(srv, SINGLE, "whoami")["error_type"] == "DirtyAppNotConfiguredError"

        # a call in flight across the reload: its worker finishes it before leaving
        result = {}
        slow = threading.Thread(target=lambda: result.update(call(srv, ECHO, "sleep", 2)))
        slow.start()
        wait_for(lambda: booted_workers(srv, 1)["workers"][0]["in_flight"] == 1, 5,
                 message="the slow call to start")

        conf.write_text(CONF.format(workers=3, apps=[ECHO, SINGLE], timeout=1))
        srv.signal(signal.SIGHUP)
        status3 = new_workers(srv, 3, old)
        assert status3["pid"] == status["pid"]      # the same arbiter, new settings
        assert status3["target_workers"] == 3
        assert [a["import_path"] for a in status3["apps"]] == [ECHO, SINGLE]

        slow.join(10)
        assert result.get("result") == 2, (result, srv.log)
        assert all_gone(old) == []

        # gunicornc, as a user would check it
        shown = gunicornc(srv, "show dirty")
        assert len(shown["workers"]) == 3 and shown["target_workers"] == 3
        # the new app answers, from one of the new workers (Single: workers = 1)
        assert call(srv, SINGLE, "whoami")["result"] in worker_pids(status3)
        # and the new dirty_timeout (1 s) is the one enforced
        assert call(srv, ECHO, "sleep", 3)["error_type"] == "DirtyTimeoutError"
        assert "dirty_workers is now 3 (was 1)" in srv.log


@pytest.mark.parametrize("bad_app, where", [
    ("no_such_module:Thing", "master"),       # found missing before the arbiter is told
    ("dirty_test_apps:Missing", "arbiter"),   # the module imports; the class is not there
])
def test_hup_with_bad_dirty_apps_keeps_the_running_settings(tmp_path, bad_app, where):
    conf = tmp_path / "dirty_conf.py"
    conf.write_text(CONF.format(workers=2, apps=[ECHO], timeout=300))
    with conf_server(tmp_path, conf) as srv:
        old = worker_pids(booted_workers(srv, 2))
        conf.write_text(CONF.format(workers=1, apps=[ECHO, bad_app], timeout=300))
        srv.signal(signal.SIGHUP)
        # the workers are still replaced (HUP), with the old count and apps
        status = new_workers(srv, 2, old)
        assert [a["import_path"] for a in status["apps"]] == [ECHO]
        assert "Dirty arbiter keeps its settings" in srv.log
        assert call(srv, ECHO, "echo", where)["result"] == where
        assert srv.proc.poll() is None
