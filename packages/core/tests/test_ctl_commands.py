"""The control command table and core's commands, against a fake arbiter."""

import signal
import socket
import threading
import time

import pytest

from gunicorn.ctl import arbiter_commands
from gunicorn.ctl.commands import CommandError, CommandTable, default_table
from gunicorn.ctl.server import ControlServer, in_master


class FakeLog:
    def __init__(self):
        self.lines = []

    def _note(self, level, msg, *args, **kw):
        self.lines.append((level, msg % args if args else msg))

    def info(self, msg, *a, **kw):
        self._note("info", msg, *a)

    def warning(self, msg, *a, **kw):
        self._note("warning", msg, *a)

    def exception(self, msg, *a, **kw):
        self._note("exception", msg, *a)

    debug = error = info


class FakeTmp:
    def __init__(self):
        self.when = time.monotonic()

    def last_update(self):
        return self.when


class FakeWorker:
    def __init__(self, age):
        self.age = age
        self.booted = False
        self.aborted = False
        self.tmp = FakeTmp()


class FakeListener:
    FAMILY = socket.AF_INET

    def fileno(self):
        return 5

    def __str__(self):
        return "http://127.0.0.1:8000"


class FakeSetting:
    def __init__(self, value):
        self.value = value


class FakeCfg:
    worker_class_str = "sync"

    def __init__(self):
        self.settings = {"workers": FakeSetting(2), "bind": FakeSetting(["127.0.0.1:8000"]),
                         "on_exit": FakeSetting(lambda server: None)}


class FakeArbiter:
    def __init__(self, workers=2):
        self.pid = 4242
        self.log = FakeLog()
        self.cfg = FakeCfg()
        self.WORKERS = {}
        self.LISTENERS = [FakeListener()]
        self.COMPANIONS = {}
        self.dirty_arbiter_pid = 0
        self.stopping = False
        self.num_workers = workers
        self.manage_calls = 0
        self.wakeups = 0
        self._age = 0
        self.manage_workers()

    def manage_workers(self):
        self.manage_calls += 1
        while len(self.WORKERS) < self.num_workers:
            self._age += 1
            self.WORKERS[1000 + self._age] = FakeWorker(self._age)
        for pid in sorted(self.WORKERS)[: max(0, len(self.WORKERS) - self.num_workers)]:
            del self.WORKERS[pid]

    def wakeup(self):
        self.wakeups += 1


@pytest.fixture
def signals(monkeypatch):
    sent = []
    monkeypatch.setattr(arbiter_commands, "send_signal", lambda pid, sig: sent.append((pid, sig)))
    return sent


@pytest.fixture
def table():
    return default_table(FakeLog())


def run(table, arbiter, text):
    return table.run(arbiter, text.split())


# -- dispatch -------------------------------------------------------------------

def test_empty_and_unknown_commands_are_errors(table):
    arbiter = FakeArbiter()
    with pytest.raises(CommandError, match="empty"):
        table.run(arbiter, [])
    with pytest.raises(CommandError, match="unknown command: frobnicate"):
        run(table, arbiter, "frobnicate")
    with pytest.raises(CommandError, match="show all"):
        run(table, arbiter, "show")
    with pytest.raises(CommandError, match="unknown command: show nothing"):
        run(table, arbiter, "show nothing")


def test_longest_prefix_wins_and_the_rest_are_args():
    seen = []
    table = CommandTable({"a": lambda arb, args: seen.append(("a", args)),
                          "a b": lambda arb, args: seen.append(("a b", args))})
    table.run(None, ["a", "b", "c"])
    table.run(None, ["a", "x"])
    assert seen == [("a b", ["c"]), ("a", ["x"])]


def test_help_lists_every_command_with_text(table):
    commands = run(table, FakeArbiter(), "help")["commands"]
    for name in ("show all", "show workers", "show dirty", "show config", "show stats",
                 "show listeners", "worker add [N]", "worker remove [N]", "worker kill <PID>",
                 "dirty add [N]", "dirty remove [N]", "reload", "reopen",
                 "shutdown [graceful|quick]", "help"):
        assert commands[name], name


# -- show ---------------------------------------------------------------------------

def test_show_workers(table):
    data = run(table, FakeArbiter(workers=3), "show workers")
    assert data["count"] == 3
    assert [w["age"] for w in data["workers"]] == [1, 2, 3]
    assert set(data["workers"][0]) >= {"pid", "age", "booted", "aborted"}


def test_show_all_lists_master_and_workers(table):
    data = run(table, FakeArbiter(workers=2), "show all")
    types = [p["type"] for p in data["processes"]]
    assert types == ["arbiter", "web", "web"]
    assert data["arbiter"]["pid"] == 4242
    assert [w["pid"] for w in data["web_workers"]] == [p["pid"] for p in data["processes"][1:]]
    assert data["web_worker_count"] == 2 and data["dirty_worker_count"] == 0
    assert data["dirty_arbiter"] is None and data["dirty_workers"] == []


def test_show_dirty_without_dirty_arbiter(table):
    data = run(table, FakeArbiter(), "show dirty")
    assert data["enabled"] is False
    assert data["status"] == "not running"


def test_show_config_is_json_friendly(table):
    data = run(table, FakeArbiter(), "show config")
    assert data["workers"] == 2
    assert data["bind"] == ["127.0.0.1:8000"]
    assert isinstance(data["on_exit"], str)


def test_show_stats_and_listeners(table):
    arbiter = FakeArbiter()
    stats = run(table, arbiter, "show stats")
    assert stats["pid"] == 4242 and stats["workers_current"] == 2 and stats["reloads"] == 0
    listeners = run(table, arbiter, "show listeners")
    assert listeners == {"count": 1, "listeners": [
        {"address": "http://127.0.0.1:8000", "fd": 5, "type": "tcp"}]}


# -- worker ---------------------------------------------------------------------------

def test_worker_add_and_remove(table):
    arbiter = FakeArbiter(workers=1)
    assert run(table, arbiter, "worker add") == {"added": 1, "previous": 1, "total": 2}
    assert run(table, arbiter, "worker add 3") == {"added": 3, "previous": 2, "total": 5}
    assert len(arbiter.WORKERS) == 5
    assert run(table, arbiter, "worker remove 2") == {"removed": 2, "previous": 5, "total": 3}
    assert len(arbiter.WORKERS) == 3


def test_worker_remove_never_goes_below_one(table):
    arbiter = FakeArbiter(workers=2)
    assert run(table, arbiter, "worker remove 10") == {"removed": 1, "previous": 2, "total": 1}
    assert run(table, arbiter, "worker remove") == {"removed": 0, "previous": 1, "total": 1}


@pytest.mark.parametrize("text", ["worker add 0", "worker add x", "worker add 1 2",
                                  "worker remove -1", "worker kill", "worker kill abc"])
def test_worker_bad_arguments(table, text):
    with pytest.raises(CommandError):
        run(table, FakeArbiter(), text)


def test_worker_add_refused_while_stopping(table):
    arbiter = FakeArbiter()
    arbiter.stopping = True
    with pytest.raises(CommandError, match="shutting down"):
        run(table, arbiter, "worker add")


def test_worker_kill(table, signals):
    arbiter = FakeArbiter()
    pid = sorted(arbiter.WORKERS)[0]
    assert run(table, arbiter, f"worker kill {pid}") == {"success": True, "killed": pid}
    assert signals == [(pid, signal.SIGTERM)]
    data = run(table, arbiter, "worker kill 99999")
    assert data["success"] is False and "not found" in data["error"]
    assert len(signals) == 1


# -- dirty ------------------------------------------------------------------------------

@pytest.mark.parametrize("text", ["dirty add", "dirty remove 2"])
def test_dirty_commands_without_dirty_arbiter(table, signals, text):
    # as upstream: a reply saying so, not an error
    assert run(table, FakeArbiter(), text) == {
        "success": False, "error": "Dirty arbiter not running"}
    assert signals == []


def _dirty_commands_installed():
    from gunicorn import plugins

    names = {ep.name.replace(".", " ") for ep in
             plugins.entry_points(plugins.CONTROL_COMMANDS_GROUP)}
    return "dirty add" in names


@pytest.mark.skipif(_dirty_commands_installed(),
                    reason="gunicorn-dirty is installed: its dirty commands replace "
                           "core's signal fallback in the default table")
def test_dirty_fallback_signals_the_dirty_arbiter(table, signals, monkeypatch):
    monkeypatch.setattr(arbiter_commands, "DIRTY_SIGNAL_GAP", 0)
    arbiter = FakeArbiter()
    arbiter.dirty_arbiter_pid = 777
    assert run(table, arbiter, "dirty add 2")["added"] == 2
    assert run(table, arbiter, "dirty remove")["removed"] == 1
    assert signals == [(777, signal.SIGTTIN)] * 2 + [(777, signal.SIGTTOU)]
    assert run(table, arbiter, "show dirty")["enabled"] is True


# -- master signals -------------------------------------------------------------------

def test_reload_reopen_shutdown_signal_the_master(table, signals):
    arbiter = FakeArbiter()
    assert run(table, arbiter, "reload") == {"status": "reloading"}
    assert run(table, arbiter, "reopen") == {"status": "reopening"}
    assert run(table, arbiter, "shutdown") == {"status": "shutting_down", "mode": "graceful"}
    assert run(table, arbiter, "shutdown quick") == {"status": "shutting_down",
                                                      "mode": "quick"}
    assert signals == [(4242, signal.SIGHUP), (4242, signal.SIGUSR1),
                       (4242, signal.SIGTERM), (4242, signal.SIGINT)]


def test_shutdown_bad_mode(table, signals):
    with pytest.raises(CommandError, match="graceful or quick"):
        run(table, FakeArbiter(), "shutdown now")
    assert signals == []


# -- plugins ----------------------------------------------------------------------------

class FakeEntryPoint:
    def __init__(self, name, target):
        self.name = name
        self._target = target

    def load(self):
        if isinstance(self._target, Exception):
            raise self._target
        return self._target


def test_plugins_add_replace_and_are_refused():
    def stash_show(arbiter, args):
        return {"tables": args}

    stash_show.help = "Show the stash tables"

    def dirty_status(arbiter, args):
        """Status from the dirty arbiter itself."""
        return {"enabled": True, "from": "plugin"}

    log = FakeLog()
    table = CommandTable({"reload": lambda a, args: {"core": True},
                          "show dirty": lambda a, args: {"core": True}})
    table.load_plugins(log, entry_points=[
        FakeEntryPoint("stash.show", stash_show),
        FakeEntryPoint("show dirty", dirty_status),
        FakeEntryPoint("reload", lambda a, args: {"plugin": True}),
        FakeEntryPoint("broken", ImportError("no module")),
        FakeEntryPoint("notcallable", 42),
    ])
    assert table.run(None, ["stash", "show", "t1"]) == {"tables": ["t1"]}
    assert table.run(None, ["show", "dirty"]) == {"enabled": True, "from": "plugin"}
    assert table.run(None, ["reload"]) == {"core": True}
    assert "broken" not in table and "notcallable" not in table
    assert table.help()["stash show"] == "Show the stash tables"
    assert table.help()["show dirty"] == "Status from the dirty arbiter itself."
    levels = [level for level, _ in log.lines]
    assert levels.count("warning") == 2 and levels.count("exception") == 1


# -- the server's request handling and the master queue --------------------------------

def test_handle_turns_failures_into_error_replies(tmp_path):
    def boom(arbiter, args):
        raise RuntimeError("kaput")

    arbiter = FakeArbiter()
    table = CommandTable({"boom": boom, "ok": lambda a, args: None})
    server = ControlServer(arbiter, str(tmp_path / "c.ctl"), table=table)
    assert server.handle({"id": 1, "command": "ok"}) == {"id": 1, "status": "ok", "data": {}}
    assert server.handle({"id": 2, "command": "boom"}) == {
        "id": 2, "status": "error", "error": "RuntimeError: kaput"}
    assert server.handle({"id": 3, "command": "nope"})["status"] == "error"
    assert server.handle({"id": 4, "command": ""})["error"] == "empty command"
    assert server.handle({"id": 5, "command": 'x "'})["status"] == "error"


def test_in_master_runs_inline_without_a_server():
    assert in_master(FakeArbiter(), lambda: 5) == 5


def test_call_in_master_waits_for_the_main_loop(tmp_path):
    arbiter = FakeArbiter()
    server = ControlServer(arbiter, str(tmp_path / "c.ctl"), table=CommandTable())
    arbiter.control = server
    ran_in = []
    result = []

    def job():
        ran_in.append(threading.current_thread())
        return "done"

    thread = threading.Thread(target=lambda: result.append(in_master(arbiter, job)))
    thread.start()
    deadline = time.monotonic() + 5
    while not ran_in and time.monotonic() < deadline:
        server.run_pending()  # what the arbiter's loop does after waking up
        time.sleep(0.01)
    thread.join(5)
    assert result == ["done"]
    assert ran_in == [threading.main_thread()]
    assert arbiter.wakeups >= 1


def test_call_in_master_times_out(tmp_path):
    arbiter = FakeArbiter()
    server = ControlServer(arbiter, str(tmp_path / "c.ctl"), table=CommandTable())
    errors = []

    def call():
        try:
            server.call_in_master(lambda: 1, timeout=0.1)
        except CommandError as exc:
            errors.append(str(exc))

    thread = threading.Thread(target=call)
    thread.start()
    thread.join(5)
    assert errors == ["the master did not answer in time"]


def test_reload_count_follows_new_config(tmp_path):
    arbiter = FakeArbiter()
    server = ControlServer(arbiter, str(tmp_path / "c.ctl"), table=CommandTable())
    server.run_pending()
    assert server.reload_count == 0
    arbiter.cfg = FakeCfg()
    server.run_pending()
    server.run_pending()
    assert server.reload_count == 1
