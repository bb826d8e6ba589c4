"""Arbiter units in-process: signal queue, worker accounting, reaping, timeouts, companions."""

import os
import signal
import sys
import time
from types import SimpleNamespace

import pytest

from gunicorn import companions
from gunicorn.arbiter import Arbiter
from gunicorn.errors import HaltServer


class FakeLog:
    def __init__(self, cfg=None):
        self.lines = []
        self.reopened = 0

    def _record(level):
        def log(self, msg, *args, **kw):
            self.lines.append((level, msg % args if args else msg))
        return log

    debug = _record("debug")
    info = _record("info")
    warning = _record("warning")
    error = _record("error")
    critical = _record("critical")
    exception = _record("exception")

    def reopen_files(self):
        self.reopened += 1

    def close_on_exec(self):
        pass

    def text(self, level=None):
        return "\n".join(m for lvl, m in self.lines if level in (None, lvl))


class FakeTmp:
    def __init__(self, last=None):
        self.last = time.monotonic() if last is None else last
        self.closed = False

    def last_update(self):
        return self.last

    def close(self):
        self.closed = True


class FakeWorker:
    def __init__(self, age, ppid, sockets, app, timeout, cfg, log):
        self.age = age
        self.pid = "[booting]"
        self.tmp = FakeTmp()
        self.aborted = False
        self.booted = False


def make_cfg(**overrides):
    calls = []

    def hook(name):
        return lambda *args: calls.append((name, args))

    values = dict(
        logger_class=FakeLog, worker_class=FakeWorker, worker_class_str="fake",
        address=[("127.0.0.1", 0)], workers=2, timeout=30, graceful_timeout=1,
        proc_name="test", env={}, env_orig=dict(os.environ), preload_app=False, settings={},
        pidfile=None, reuse_port=False, daemon=False)
    for name in ("on_starting", "on_reload", "when_ready", "pre_fork", "post_fork",
                 "child_exit", "worker_exit", "nworkers_changed", "on_exit", "pre_exec"):
        values[name] = hook(name)
    values.update(overrides)
    cfg = SimpleNamespace(**values)
    cfg.calls = calls
    return cfg


def arbiter_for_tests(monkeypatch):
    """An Arbiter over make_cfg() with a wake-up pipe (close ``a.PIPE`` after)."""
    # the constructor exports SERVER_SOFTWARE; keep it out of the other tests
    monkeypatch.setenv("SERVER_SOFTWARE", "")
    cfg = make_cfg()
    app = SimpleNamespace(cfg=cfg, wsgi=lambda: None, reload=lambda: None)
    a = Arbiter(app)
    a.PIPE = os.pipe()
    return a


@pytest.fixture
def arb(monkeypatch):
    a = arbiter_for_tests(monkeypatch)
    yield a
    for fd in a.PIPE:
        os.close(fd)


def test_signal_tables():
    assert Arbiter.WORKER_BOOT_ERROR == 3 and Arbiter.APP_LOAD_ERROR == 4
    names = {Arbiter.SIG_NAMES[s] for s in Arbiter.SIGNALS}
    assert names == {"hup", "quit", "int", "term", "ttin", "ttou", "usr1", "usr2", "winch"}
    assert Arbiter.SIG_NAMES[signal.SIGCHLD] == "chld"
    for name in names | {"chld", "cld"}:
        assert callable(getattr(Arbiter, f"handle_{name}"))


def test_constructor_state(arb):
    assert os.environ["SERVER_SOFTWARE"].startswith("gunicorn/")
    assert arb.num_workers == 2
    assert arb.WORKERS == {} and arb.LISTENERS == []
    assert (arb.master_name, arb.master_pid, arb.reexec_pid, arb.dirty_arbiter_pid) == (
        "Master", 0, 0, 0)
    assert arb.cfg.calls == [("nworkers_changed", (arb, 2, None))]
    assert arb.START_CTX[0] == sys.executable
    assert arb.START_CTX["args"][0] == sys.executable


def test_signal_handler_only_queues(arb):
    for _ in range(8):
        arb.signal(signal.SIGHUP, None)
    assert arb.SIG_QUEUE == [signal.SIGHUP] * 5
    assert os.read(arb.PIPE[0], 100) == b"." * 5


def test_ttin_ttou_floor(arb, monkeypatch):
    monkeypatch.setattr(arb, "manage_workers", lambda: None)
    arb.handle_ttin()
    assert arb.num_workers == 3
    arb.num_workers = 1
    arb.handle_ttou()
    assert arb.num_workers == 1


def test_manage_workers_retires_oldest(arb, monkeypatch):
    killed = []
    monkeypatch.setattr(arb, "kill_worker", lambda pid, sig: killed.append((pid, sig)))
    for pid, age in ((101, 3), (102, 1), (103, 2)):
        arb.WORKERS[pid] = SimpleNamespace(age=age, tmp=FakeTmp())
    arb.manage_workers()
    assert killed == [(102, signal.SIGTERM)]


def test_murder_workers_abort_then_kill(arb, monkeypatch):
    sent = []
    monkeypatch.setattr(arb, "kill_worker", lambda pid, sig: sent.append((pid, sig)))
    arb.timeout = 2
    fresh = FakeWorker(1, 0, [], None, 1, arb.cfg, arb.log)
    stale = FakeWorker(2, 0, [], None, 1, arb.cfg, arb.log)
    stale.tmp.last = time.monotonic() - 10
    arb.WORKERS = {201: fresh, 202: stale}
    arb.murder_workers()
    assert sent == [(202, signal.SIGABRT)] and stale.aborted
    assert ("critical", "WORKER TIMEOUT (pid:202)") in arb.log.lines
    arb.murder_workers()
    assert sent[-1] == (202, signal.SIGKILL)
    arb.timeout = 0
    arb.murder_workers()
    assert len(sent) == 2


def _child(exit_code=None, sig=None):
    pid = os.fork()
    if pid == 0:
        if sig is not None:
            os.kill(os.getpid(), sig)
            time.sleep(5)
        os._exit(exit_code)
    return pid


def _reap_until(arb, pid):
    deadline = time.monotonic() + 5
    while pid in arb.WORKERS and time.monotonic() < deadline:
        arb.reap_workers()
        time.sleep(0.01)


@pytest.mark.parametrize("code,reason", [(3, "Worker failed to boot."),
                                         (4, "App failed to load.")])
def test_boot_failures_halt(arb, code, reason):
    pid = _child(code)
    arb.WORKERS[pid] = FakeWorker(1, 0, [], None, 1, arb.cfg, arb.log)
    with pytest.raises(HaltServer) as exc:
        _reap_until(arb, pid)
    assert exc.value.reason == reason
    assert exc.value.exit_status == code


def test_boot_failure_while_stopping_does_not_halt(arb):
    arb.stopping = True
    pid = _child(3)
    arb.WORKERS[pid] = FakeWorker(1, 0, [], None, 1, arb.cfg, arb.log)
    _reap_until(arb, pid)
    assert pid not in arb.WORKERS


def test_reap_normal_exit_and_child_exit_hook(arb):
    pid = _child(0)
    worker = FakeWorker(1, 0, [], None, 1, arb.cfg, arb.log)
    arb.WORKERS[pid] = worker
    _reap_until(arb, pid)
    assert worker.tmp.closed
    assert ("child_exit", (arb, worker)) in arb.cfg.calls
    assert not arb.log.text("error")


def test_reap_sigkill_mentions_oom(arb):
    pid = _child(sig=signal.SIGKILL)
    arb.WORKERS[pid] = FakeWorker(1, 0, [], None, 1, arb.cfg, arb.log)
    _reap_until(arb, pid)
    assert f"Worker (pid:{pid}) was sent SIGKILL! Perhaps out of memory?" in arb.log.text("error")


def test_reap_nonzero_exit_logged(arb):
    pid = _child(1)
    arb.WORKERS[pid] = FakeWorker(1, 0, [], None, 1, arb.cfg, arb.log)
    _reap_until(arb, pid)
    assert f"Worker (pid:{pid}) exited with code 1." in arb.log.text("error")


def test_reexec_refused_when_child_or_parent_exists(arb):
    arb.reexec_pid = 42
    arb.reexec()
    assert "USR2 signal ignored. Child exists." in arb.log.text("warning")
    arb.reexec_pid, arb.master_pid = 0, 43
    arb.reexec()
    assert "USR2 signal ignored. Parent exists." in arb.log.text("warning")


def test_promotion_when_parent_is_gone(arb, monkeypatch, tmp_path):
    monkeypatch.setenv("GUNICORN_PID", "1")
    arb.master_pid = os.getppid() + 100000
    arb.master_name = "Master.2"
    arb.maybe_promote_master()
    assert (arb.master_pid, arb.master_name) == (0, "Master")
    assert "GUNICORN_PID" not in os.environ
    assert "Master has been promoted." in arb.log.text("info")


def test_winch(arb, monkeypatch):
    sent = []
    monkeypatch.setattr(arb, "kill_workers", sent.append)
    arb.handle_winch()
    assert sent == [] and arb.num_workers == 2
    arb.cfg.daemon = True
    arb.handle_winch()
    assert sent == [signal.SIGTERM] and arb.num_workers == 0


def test_usr1_reopens_and_forwards(arb, monkeypatch):
    sent = []
    monkeypatch.setattr(arb, "kill_workers", sent.append)
    arb.handle_usr1()
    assert arb.log.reopened == 1 and sent == [signal.SIGUSR1]


# -- companions ---------------------------------------------------------------------

class SleeperCompanion(companions.Companion):
    """Forks a child that sleeps until signalled."""

    instances = []

    def __init__(self):
        super().__init__()
        self.exits = []
        self.signals = []
        self.prepared = False
        SleeperCompanion.instances.append(self)

    @classmethod
    def enabled(cls, cfg):
        return getattr(cfg, "sleeper", True)

    def prepare(self, arbiter):
        self.prepared = True

    def start(self, arbiter):
        pid = os.fork()
        if pid == 0:
            signal.signal(signal.SIGTERM, lambda *a: os._exit(0))
            time.sleep(30)
            os._exit(0)
        self.pid = pid
        arbiter.dirty_arbiter_pid = pid
        return pid

    def on_exit(self, pid, status):
        self.exits.append((pid, status))
        return super().on_exit(pid, status)

    def signal(self, sig):
        self.signals.append(sig)
        super().signal(sig)


class BrokenCompanion:
    @classmethod
    def enabled(cls, cfg):
        raise RuntimeError("nope")


def _entry(name, obj):
    return SimpleNamespace(name=name, load=lambda: obj)


def test_load_companions_skips_disabled_and_broken(monkeypatch):
    monkeypatch.setattr(companions, "_registered", lambda: [
        _entry("sleeper", SleeperCompanion), _entry("broken", BrokenCompanion)])
    log = FakeLog()
    found = companions.load_companions(SimpleNamespace(sleeper=True), log)
    assert [c.name for c in found] == ["sleeper"]
    assert "broken" in log.text("exception")
    assert companions.load_companions(SimpleNamespace(sleeper=False), log) == []


def test_companion_lifecycle(arb, monkeypatch):
    monkeypatch.setattr(companions, "_registered", lambda: [_entry("sleeper", SleeperCompanion)])
    arb.prepare_companions()
    (comp,) = arb.companions
    assert comp.prepared
    arb.start_companions()
    pid = comp.pid
    assert arb.COMPANIONS == {pid: comp} and arb.dirty_arbiter_pid == pid

    arb.signal_companions(signal.SIGHUP)
    assert comp.signals == [signal.SIGHUP]

    # it dies: reaped, reported, restarted after its back-off
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while pid in arb.COMPANIONS and time.monotonic() < deadline:
        arb.reap_workers()
        time.sleep(0.01)
    assert comp.exits and comp.exits[0][0] == pid and arb.dirty_arbiter_pid == 0
    assert arb.companion_supervisor._restart_at[comp] > time.monotonic()
    monkeypatch.setattr(companions, "RESTART_DELAY", 0)
    arb.companion_supervisor._restart_at[comp] = time.monotonic()
    arb.manage_companions()
    new_pid = comp.pid
    assert new_pid != pid and arb.COMPANIONS == {new_pid: comp}

    # the master stops: the companion is stopped and waited for
    arb.stop()
    assert arb.COMPANIONS == {}
    assert comp.signals[-1] == signal.SIGTERM


def test_backlog_gauge_only_when_enabled(arb):
    arb.LISTENERS = [SimpleNamespace(get_backlog=lambda: 2), SimpleNamespace(get_backlog=lambda: None),
                     SimpleNamespace(get_backlog=lambda: 3)]
    arb.log_backlog()
    assert "socket backlog" not in arb.log.text()
    arb.cfg.enable_backlog_metric = True
    arb.log_backlog()
    assert ("debug", "socket backlog: 5") in arb.log.lines


def test_failed_reload_puts_back_the_environment_and_config(monkeypatch):
    from gunicorn.arbiter import _RunningConfig

    monkeypatch.delenv("GUNICORN_TEST_NEW_ENV", raising=False)
    monkeypatch.setenv("GUNICORN_TEST_OLD_ENV", "old")
    old_cfg = SimpleNamespace(env={"GUNICORN_TEST_OLD_ENV": "old"}, env_orig={})
    arbiter = SimpleNamespace(app=SimpleNamespace(app_uri="app:app"), cfg=old_cfg,
                              worker_class=object, address=[("127.0.0.1", 8000)],
                              timeout=30, proc_name="p", num_workers=3, log=SimpleNamespace())
    before = _RunningConfig(arbiter)
    # what a reload does before failing: undo the old env, apply the new config's
    monkeypatch.delenv("GUNICORN_TEST_OLD_ENV")
    monkeypatch.setenv("GUNICORN_TEST_NEW_ENV", "new")
    arbiter.cfg = SimpleNamespace(env={"GUNICORN_TEST_NEW_ENV": "new"}, env_orig={})
    arbiter.app.app_uri = None
    arbiter.num_workers = 1
    before.restore(arbiter)
    assert arbiter.cfg is old_cfg and arbiter.app.app_uri == "app:app"
    assert arbiter.num_workers == 3
    assert os.environ.get("GUNICORN_TEST_OLD_ENV") == "old"
    assert "GUNICORN_TEST_NEW_ENV" not in os.environ


def test_failed_reload_puts_back_a_tracer_and_survives_a_deleted_directory(monkeypatch):
    from gunicorn.arbiter import _RunningConfig

    def gone():
        raise FileNotFoundError(2, "No such file or directory")

    monkeypatch.setattr(os, "getcwd", gone)
    cfg = SimpleNamespace(env={}, env_orig={})
    arbiter = SimpleNamespace(app=SimpleNamespace(), cfg=cfg, worker_class=object, address=[],
                              timeout=30, proc_name="p", num_workers=1, log=SimpleNamespace())
    before = _RunningConfig(arbiter)  # no working directory to remember: no error
    assert before.app_state.cwd is None
    previous = sys.gettrace()
    sys.settrace(lambda *args: None)  # what --spew in the failed config installed
    try:
        assert before.restore(arbiter) == []
        assert sys.gettrace() is previous
    finally:
        sys.settrace(previous)


def test_workers_killed_counts_term_and_kill_sent(arb):
    # gunicornc's show stats reports it; as upstream, only TERM and KILL count.
    import subprocess
    import sys

    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        arb.kill_worker(child.pid, signal.SIGCONT)
        assert arb.workers_killed == 0
        arb.kill_worker(child.pid, signal.SIGTERM)
        assert arb.workers_killed == 1
        child.wait(10)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
