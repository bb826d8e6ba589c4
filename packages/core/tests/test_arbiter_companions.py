"""A companion registered by entry point runs beside the workers of the real server."""

import os
import signal
import textwrap

import pytest
from arbiter_support import server, wait_for, wait_gone, worker_count_is

pytestmark = pytest.mark.timeout(60)

SIDECAR = textwrap.dedent('''
    import os, signal, time
    from gunicorn.companions import Companion

    LOG = os.path.join(os.environ["MARKER_DIR"], "companion.log")

    def _w(*parts):
        with open(LOG, "a") as f:
            f.write(" ".join(str(p) for p in parts) + "\\n")

    class Sidecar(Companion):
        @classmethod
        def enabled(cls, cfg):
            return os.environ.get("SIDECAR") == "1"

        def prepare(self, arbiter):
            _w("prepare", os.getpid())
            os.environ["SIDECAR_SOCKET"] = "/run/sidecar.sock"

        def start(self, arbiter):
            pid = os.fork()
            if pid:
                self.pid = pid
                arbiter.dirty_arbiter_pid = pid
                return pid
            try:
                def note(sig, frame):
                    _w("got", signal.Signals(sig).name, os.getpid())

                def leave(sig, frame):
                    _w("stop", signal.Signals(sig).name, os.getpid())
                    os._exit(0)

                for sig in (signal.SIGHUP, signal.SIGUSR1):
                    signal.signal(sig, note)
                for sig in (signal.SIGTERM, signal.SIGQUIT):
                    signal.signal(sig, leave)
                _w("started", os.getpid())
                while True:
                    time.sleep(0.5)
            finally:
                os._exit(0)
''')

ENTRY_POINTS = "[gunicorn.companions]\nsidecar = sidecar:Sidecar\n"


def _project(tmp_path):
    (tmp_path / "sidecar.py").write_text(SIDECAR)
    # a distribution on sys.path (the cwd) registering the entry point
    info = tmp_path / "sidecar_test-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: sidecar-test\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(ENTRY_POINTS)


def _lines(tmp_path, kind):
    path = tmp_path / "companion.log"
    if not path.exists():
        return []
    return [line.split()[1:] for line in path.read_text().splitlines()
            if line.split()[0] == kind]


def test_companion_started_signalled_respawned_and_stopped(tmp_path):
    _project(tmp_path)
    with server(tmp_path, "-w", "1", env={"SIDECAR": "1"}) as srv:
        wait_for(lambda: _lines(tmp_path, "started"), message=f"companion start\n{srv.log}")
        assert _lines(tmp_path, "prepare") == [[str(srv.pid)]]
        (first,) = (int(line[0]) for line in _lines(tmp_path, "started"))
        wait_for(worker_count_is(srv, 2), message="one worker and the companion")
        assert first in srv.worker_pids()

        srv.signal(signal.SIGHUP)
        wait_for(lambda: ["SIGHUP", str(first)] in _lines(tmp_path, "got"), message="HUP forwarded")
        srv.signal(signal.SIGUSR1)
        wait_for(lambda: ["SIGUSR1", str(first)] in _lines(tmp_path, "got"),
                 message="USR1 forwarded")

        os.kill(first, signal.SIGKILL)
        wait_for(lambda: len(_lines(tmp_path, "started")) == 2, message="companion restarted")
        second = int(_lines(tmp_path, "started")[1][0])
        assert "Companion sidecar" in srv.log and "restarting" in srv.log

        srv.signal(signal.SIGTERM)
        assert srv.wait() == 0
    assert ["SIGTERM", str(second)] in _lines(tmp_path, "stop")
    wait_gone(second)


def test_companion_prepared_before_when_ready(tmp_path):
    # What a companion exports (the dirty socket path) is there for when_ready.
    _project(tmp_path)
    (tmp_path / "ready_conf.py").write_text(textwrap.dedent('''
        import os

        def when_ready(server):
            with open(os.path.join(os.environ["MARKER_DIR"], "companion.log"), "a") as f:
                f.write("when_ready %s\\n" % os.environ.get("SIDECAR_SOCKET"))
    '''))
    with server(tmp_path, "-w", "1", "-c", "ready_conf.py", env={"SIDECAR": "1"}) as srv:
        wait_for(lambda: _lines(tmp_path, "when_ready"), message=f"when_ready\n{srv.log}")
        assert _lines(tmp_path, "when_ready") == [["/run/sidecar.sock"]]
        srv.signal(signal.SIGTERM)
        assert srv.wait() == 0


def test_companion_disabled_by_config(tmp_path):
    _project(tmp_path)
    with server(tmp_path, "-w", "1", env={"SIDECAR": "0"}) as srv:
        wait_for(worker_count_is(srv, 1), message="one worker")
        srv.signal(signal.SIGTERM)
        assert srv.wait() == 0
    assert not (tmp_path / "companion.log").exists()


def test_companion_quick_stop(tmp_path):
    _project(tmp_path)
    with server(tmp_path, "-w", "1", env={"SIDECAR": "1"}) as srv:
        wait_for(lambda: _lines(tmp_path, "started"), message="companion start")
        srv.signal(signal.SIGQUIT)
        assert srv.wait() == 0
    pid = _lines(tmp_path, "started")[0][0]
    assert ["SIGQUIT", pid] in _lines(tmp_path, "stop")
