"""Signals to the real master: TTIN/TTOU/HUP, a killed or hung worker, USR1, USR2, WINCH."""

import os
import re
import signal
import threading

import httpx
import pytest
from arbiter_support import (
    get,
    hook_lines,
    process_gone,
    server,
    started_marker,
    wait_for,
    wait_gone,
    wait_log,
    worker_count_is,
    write_project,
)
from gunicorn_testsupport import ServerProcess

pytestmark = pytest.mark.timeout(60)


def test_ttin_ttou_change_worker_count(tmp_path):
    with server(tmp_path, "-w", "2", hooks=True) as srv:
        wait_for(worker_count_is(srv, 2), message="2 workers")
        srv.signal(signal.SIGTTIN)
        wait_for(worker_count_is(srv, 3), message="3 workers after TTIN")
        # one at a time: the kernel merges a signal sent while the same one is pending
        srv.signal(signal.SIGTTOU)
        wait_for(worker_count_is(srv, 2), message="2 workers after TTOU")
        srv.signal(signal.SIGTTOU)
        wait_for(worker_count_is(srv, 1), message="1 worker after 2x TTOU")
        assert get(srv).status_code == 200
        changes = [line[2:] for line in hook_lines(tmp_path, "nworkers_changed")]
        assert changes == [["2", "None"], ["3", "2"], ["2", "3"], ["1", "2"]]


def test_ttou_never_below_one(tmp_path):
    with server(tmp_path, "-w", "1", hooks=True) as srv:
        wait_for(worker_count_is(srv, 1), message="1 worker")
        (pid,) = srv.worker_pids()
        srv.signal(signal.SIGTTOU)
        wait_log(srv, "Handling signal: ttou")
        # a TTIN behind it shows the TTOU was fully handled
        srv.signal(signal.SIGTTIN)
        wait_for(worker_count_is(srv, 2), message="2 workers")
        assert pid in srv.worker_pids()
        assert [line[2:] for line in hook_lines(tmp_path, "nworkers_changed")] == [
            ["1", "None"], ["2", "1"]]


def test_hup_replaces_all_workers(tmp_path):
    with server(tmp_path, "-w", "2", hooks=True) as srv:
        wait_for(worker_count_is(srv, 2), message="2 workers")
        old = set(srv.worker_pids())
        srv.signal(signal.SIGHUP)
        wait_for(lambda: len(srv.worker_pids()) == 2 and not old & set(srv.worker_pids()),
                 message="2 new workers after HUP")
        assert "Hang up: Master" in srv.log
        assert len(hook_lines(tmp_path, "on_reload")) == 1
        assert get(srv).status_code == 200


def test_hup_rereads_config_file(tmp_path):
    # the worker count comes from the config file alone (a -w flag would win)
    with server(tmp_path, hooks=True) as srv:
        wait_for(worker_count_is(srv, 1), message="1 worker")
        conf = tmp_path / "gunicorn.conf.py"
        conf.write_text(conf.read_text() + "\nworkers = 3\n")
        srv.signal(signal.SIGHUP)
        wait_for(worker_count_is(srv, 3), message="3 workers from the reloaded config")


@pytest.mark.parametrize("broken", [
    "workers = (\n",             # a SyntaxError
    "workers = 'many'\n",        # a value the setting refuses
    "raise RuntimeError('no')\n",  # the file itself fails
    # the new logging setup breaks halfway
    "logconfig_dict = {'version': 1, 'handlers': {'h': {'class': 'nosuch.Handler'}},"
    " 'root': {'handlers': ['h']}}\n",
    "raw_env = ['NOEQUALS']\n",  # refused when the arbiter applies it
    "import sys\nsys.exit(3)\n",  # the config file exits
])
def test_hup_with_a_broken_config_keeps_serving(tmp_path, broken):
    with server(tmp_path, hooks=True) as srv:
        wait_for(worker_count_is(srv, 1), message="1 worker")
        conf = tmp_path / "gunicorn.conf.py"
        good = conf.read_text()
        conf.write_text(good + "\n" + broken)
        srv.signal(signal.SIGHUP)
        wait_log(srv, "Reload failed, keeping the running configuration:")
        # the master is still there, with a worker that answers
        assert srv.proc.poll() is None
        wait_for(worker_count_is(srv, 1), message="1 worker still")
        assert get(srv).status_code == 200
        # once the file is fixed, the next HUP takes it
        conf.write_text(good + "\nworkers = 2\n")
        srv.signal(signal.SIGHUP)
        wait_for(worker_count_is(srv, 2), message="2 workers from the fixed config")


def test_hup_survives_a_raising_on_reload_hook(tmp_path):
    with server(tmp_path, hooks=True) as srv:
        wait_for(worker_count_is(srv, 1), message="1 worker")
        (first,) = srv.worker_pids()
        conf = tmp_path / "gunicorn.conf.py"
        conf.write_text(conf.read_text() + "\ndef on_reload(server):\n    raise RuntimeError('hook')\n")
        srv.signal(signal.SIGHUP)
        wait_log(srv, "Exception in on_reload hook")
        wait_for(lambda: srv.worker_pids() and first not in srv.worker_pids(),
                 message="the new config's worker")
        assert get(srv).status_code == 200 and srv.proc.poll() is None


CWD_APP = """
import os

def app(environ, start_response):
    body = ("pid=%d cwd=%s" % (os.getpid(), os.getcwd())).encode()
    start_response("200 OK", [("Content-Length", str(len(body)))])
    return [body]
"""


def test_failed_hup_keeps_the_app_directory_and_worker_count_for_later_workers(tmp_path):
    write_project(tmp_path, hooks=True)
    (tmp_path / "cwdapp.py").write_text(CWD_APP)
    conf = tmp_path / "gunicorn.conf.py"
    good = conf.read_text() + '\nwsgi_app = "cwdapp:app"\n'
    conf.write_text(good)
    with ServerProcess("--graceful-timeout", "2", cwd=str(tmp_path),
                       env={"MARKER_DIR": str(tmp_path)}) as srv:
        wait_for(worker_count_is(srv, 1), message="1 worker")
        srv.signal(signal.SIGTTIN)
        wait_for(worker_count_is(srv, 2), message="2 workers after TTIN")
        # fails only after the new config changed the directory and the app name
        conf.write_text(good + '\nchdir = "/"\nwsgi_app = "nosuch_module:app"\n'
                        'worker_class = "nosuch"\n')
        srv.signal(signal.SIGHUP)
        wait_log(srv, "Reload failed, keeping the running configuration:")
        assert len(srv.worker_pids()) == 2  # the TTIN-raised count stays
        # workers started afterwards boot the old app, in the old directory
        old = set(srv.worker_pids())
        for victim in old:
            os.kill(victim, signal.SIGKILL)
        wait_for(lambda: len(srv.worker_pids()) == 2 and not old & set(srv.worker_pids()),
                 message="2 replacement workers")
        pid, cwd = (part.split("=", 1)[1] for part in get(srv).text.split())
        assert int(pid) not in old
        assert os.path.samefile(cwd, tmp_path)
        assert "could not be put back" not in srv.log


def test_killed_worker_is_replaced(tmp_path):
    with server(tmp_path, "-w", "2", hooks=True) as srv:
        wait_for(worker_count_is(srv, 2), message="2 workers")
        victim = srv.worker_pids()[0]
        os.kill(victim, signal.SIGKILL)
        wait_for(lambda: len(srv.worker_pids()) == 2 and victim not in srv.worker_pids(),
                 message="replacement worker")
        wait_log(srv, f"Worker (pid:{victim}) was sent SIGKILL! Perhaps out of memory?")
        assert re.search(rf"\[ERROR\] Worker \(pid:{victim}\) was sent SIGKILL", srv.log)
        assert [victim] == [int(line[2]) for line in hook_lines(tmp_path, "child_exit")]
        assert get(srv).status_code == 200


def test_hung_worker_is_aborted_and_replaced(tmp_path):
    with server(tmp_path, "-w", "1", "--timeout", "2", hooks=True) as srv:
        wait_for(worker_count_is(srv, 1), message="1 worker")
        (hung,) = srv.worker_pids()

        def hang():
            try:
                get(srv, "/slow?30", timeout=20)
            except httpx.HTTPError:
                pass

        threading.Thread(target=hang, daemon=True).start()
        wait_for(started_marker(tmp_path).exists, message="slow request to start")
        wait_log(srv, f"WORKER TIMEOUT (pid:{hung})")
        assert re.search(rf"\[CRITICAL\] WORKER TIMEOUT \(pid:{hung}\)", srv.log)
        wait_for(lambda: hook_lines(tmp_path, "worker_abort"), message="worker_abort hook")
        assert hook_lines(tmp_path, "worker_abort")[0][1] == str(hung)
        wait_for(lambda: srv.worker_pids() and hung not in srv.worker_pids(),
                 message="replacement worker")
        assert get(srv).status_code == 200


def test_usr1_reopens_rotated_access_log(tmp_path):
    access = tmp_path / "access.log"
    with server(tmp_path, "-w", "2", "--access-logfile", str(access)) as srv:
        wait_for(worker_count_is(srv, 2), message="2 workers")
        assert get(srv, "/before").status_code == 200
        wait_for(lambda: access.exists() and "/before" in access.read_text(),
                 message="first access line")
        rotated = tmp_path / "access.log.1"
        access.rename(rotated)
        srv.signal(signal.SIGUSR1)
        wait_log(srv, "Handling signal: usr1")
        # the first request served from the new file shows the workers got USR1
        wait_for(lambda: get(srv, "/after").status_code == 200 and access.exists()
                 and "/after" in access.read_text(), message="a line in the new access.log")
        for n in range(6):
            assert get(srv, f"/final{n}").status_code == 200
        wait_for(lambda: access.read_text().count("/final") == 6, message="all lines in new file")
        assert "/final" not in rotated.read_text()
        assert "/before" in rotated.read_text()


def test_usr1_reopens_master_error_log(tmp_path):
    errlog = tmp_path / "error.log"
    with server(tmp_path, "--error-logfile", str(errlog)) as srv:
        wait_for(lambda: "Listening at" in errlog.read_text(), message="error log")
        errlog.rename(tmp_path / "error.log.1")
        srv.signal(signal.SIGUSR1)
        srv.signal(signal.SIGTTIN)
        wait_for(lambda: errlog.exists() and "Handling signal: ttin" in errlog.read_text(),
                 message="master logs into the reopened file")


def test_winch_ignored_when_not_daemon(tmp_path):
    with server(tmp_path, "-w", "2", "--log-level", "debug") as srv:
        wait_for(worker_count_is(srv, 2), message="2 workers")
        pids = srv.worker_pids()
        srv.signal(signal.SIGWINCH)
        wait_log(srv, "SIGWINCH ignored. Not daemonized")
        assert srv.worker_pids() == pids


def test_usr2_reexec_new_master_serves(tmp_path):
    pidfile = tmp_path / "g.pid"
    new_master = None
    with server(tmp_path, "-w", "1", "--pid", str(pidfile), hooks=True) as srv:
        try:
            wait_for(worker_count_is(srv, 1), message="1 worker")
            srv.signal(signal.SIGUSR2)
            masters = lambda: [int(p) for p in re.findall(r"Listening at: \S+ \((\d+)\)", srv.log)]  # noqa: E731
            wait_for(lambda: len(masters()) == 2, message=f"a second master\n{srv.log}")
            new_master = masters()[1]
            assert new_master in srv.worker_pids()  # forked by the old master
            assert hook_lines(tmp_path, "pre_exec")[0][1] == str(new_master)
            wait_for(lambda: (tmp_path / "g.pid.2").exists(), message="g.pid.2")
            assert (tmp_path / "g.pid.2").read_text().strip() == str(new_master)
            assert pidfile.read_text().strip() == str(srv.pid)

            # a second USR2 is refused while the new master runs
            srv.signal(signal.SIGUSR2)
            wait_log(srv, "USR2 signal ignored. Child exists.")

            # retire the old master: the new one is promoted and keeps serving
            srv.signal(signal.SIGTERM)
            assert srv.wait() == 0
            wait_log(srv, "Master has been promoted.")
            wait_for(lambda: pidfile.exists() and pidfile.read_text().strip() == str(new_master),
                     message="pid file renamed for the promoted master")
            assert not (tmp_path / "g.pid.2").exists()
            response = get(srv)
            assert response.status_code == 200
        finally:
            if new_master is not None:
                try:
                    os.kill(new_master, signal.SIGTERM)
                except ProcessLookupError:
                    pass
                wait_gone(new_master)


def test_hup_rebinds_when_bind_changes(tmp_path):
    from gunicorn_testsupport import free_port

    first, second = free_port(), free_port()
    conf_extra = f"\nbind = ['127.0.0.1:{first}']\n"
    srv = server(tmp_path, hooks=True, bind=False)
    conf = tmp_path / "gunicorn.conf.py"
    conf.write_text(conf.read_text() + conf_extra)
    with srv:
        wait_log(srv, f"Listening at: http://127.0.0.1:{first}")
        assert httpx.get(f"http://127.0.0.1:{first}/", timeout=10).status_code == 200
        conf.write_text(conf.read_text().replace(str(first), str(second)))
        srv.signal(signal.SIGHUP)
        wait_log(srv, f"Listening at: http://127.0.0.1:{second}")
        wait_for(lambda: _serves(second), message="the new address serves")
        wait_for(lambda: not _serves(first), message="the old address closed")


def _serves(port):
    try:
        return httpx.get(f"http://127.0.0.1:{port}/", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def test_daemon_winch_stops_workers_only(tmp_path):
    pidfile = tmp_path / "d.pid"
    srv = server(tmp_path, "-D", "-w", "2", "--pid", str(pidfile),
                 "--error-logfile", str(tmp_path / "error.log"), wait_ready=False)
    master = None
    with srv:
        try:
            assert srv.wait() == 0  # the launching process returns at once
            wait_for(lambda: pidfile.exists() and pidfile.read_text().strip(),
                     message="daemon pid file")
            master = int(pidfile.read_text())
            assert master != srv.pid
            wait_for(lambda: _serves(srv.port), message="daemon serving")
            children = lambda: [int(p) for p in os.popen(f"ps -o pid= --ppid {master}").read().split()]  # noqa: E731
            wait_for(lambda: len(children()) == 2, message="2 workers")
            os.kill(master, signal.SIGWINCH)
            wait_for(lambda: children() == [], message="workers stopped by WINCH")
            assert not process_gone(master)
        finally:
            if master is not None:
                os.kill(master, signal.SIGTERM)
                wait_gone(master)
    assert not pidfile.exists()


def _title(pid):
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        return f.read().replace(b"\0", b" ").decode().strip()


def test_process_titles_follow_usr2_naming(tmp_path):
    pytest.importorskip("setproctitle", reason="the optional setproctitle extra is not installed")
    new_master = None
    with server(tmp_path, "-w", "1", "-n", "shop") as srv:
        try:
            wait_for(lambda: _title(srv.pid) == "gunicorn: master [shop]", message="master title")
            wait_for(lambda: srv.worker_pids() and _title(srv.worker_pids()[0])
                     == "gunicorn: worker [shop]", message="worker title")
            srv.signal(signal.SIGUSR2)
            masters = lambda: [int(p) for p in re.findall(r"Listening at: \S+ \((\d+)\)", srv.log)]  # noqa: E731
            wait_for(lambda: len(masters()) == 2, message="a second master")
            new_master = masters()[1]
            wait_for(lambda: _title(new_master) == "gunicorn: master [shop.2]",
                     message="new master title")
        finally:
            if new_master is not None:
                os.kill(new_master, signal.SIGTERM)
                wait_gone(new_master)


def test_usr2_keeps_unix_socket_for_the_new_master(tmp_path):
    path = str(tmp_path / "g.sock")
    new_master = None
    srv = server(tmp_path, "-w", "1", "-b", f"unix:{path}", bind=False)
    with srv:
        try:
            wait_log(srv, f"Listening at: unix:{path}")
            srv.signal(signal.SIGUSR2)
            masters = lambda: [int(p) for p in re.findall(r"Listening at: \S+ \((\d+)\)", srv.log)]  # noqa: E731
            wait_for(lambda: len(masters()) == 2, message="a second master")
            new_master = masters()[1]
            srv.signal(signal.SIGTERM)
            assert srv.wait() == 0
            # the old master must not unlink the path the new master listens on
            assert os.path.exists(path)
            wait_log(srv, "Master has been promoted.")
            with httpx.Client(transport=httpx.HTTPTransport(uds=path), timeout=10) as client:
                assert client.get("http://localhost/").status_code == 200
        finally:
            if new_master is not None:
                os.kill(new_master, signal.SIGTERM)
                wait_gone(new_master)
    # the promoted master owns the socket now and removes it when it stops
    wait_for(lambda: not os.path.exists(path), message="socket file removed")
