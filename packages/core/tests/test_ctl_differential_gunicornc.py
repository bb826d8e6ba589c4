"""gunicornc and the control commands as upstream 27.0.1 behaves (differential audit findings).

Each test pins one behaviour seen on upstream's gunicornc/master that ours
differed from: what ``-j`` prints, where errors go, exit statuses, the JSON
shapes of ``show all/config/stats``, command case, help keys, text layouts.
"""

import io
import json
import os
import signal
import sys

import pytest
from test_ctl_commands import FakeArbiter, FakeLog, FakeWorker

from gunicorn.ctl import arbiter_commands, cli
from gunicorn.ctl.arbiter_commands import CORE_COMMANDS
from gunicorn.ctl.commands import CommandTable, default_table
from gunicorn.ctl.render import render
from gunicorn.ctl.server import ControlServer

pytestmark = pytest.mark.timeout(30)


def core_table():
    table = CommandTable(CORE_COMMANDS)
    table.add("echo", lambda a, args: {"args": args})
    table.add("empty", lambda a, args: {})
    table.add("flop", lambda a, args: {"success": False, "error": "nope"})
    return table


@pytest.fixture
def served(tmp_path):
    arbiter = FakeArbiter()
    arbiter.log = FakeLog()
    path = tmp_path / "s"
    path.mkdir()
    server = ControlServer(arbiter, str(path / "g.ctl"), table=core_table())
    assert server.start()
    arbiter.control = server
    yield server
    server.stop()


def gunicornc(served, capsys, *argv):
    status = cli.main(["-s", served.path, *argv])
    out, err = capsys.readouterr()
    return status, out, err


# -- one-shot output and exit statuses ---------------------------------------------

def test_json_prints_the_data_only_in_handler_order(served, capsys):
    status, out, err = gunicornc(served, capsys, "-j", "-c", "show stats")
    assert status == 0 and err == ""
    data = json.loads(out)
    assert "status" not in data and "id" not in data
    assert list(data)[:8] == ["uptime", "pid", "workers_current", "workers_target",
                              "workers_spawned", "workers_killed", "reloads",
                              "dirty_arbiter_pid"]
    assert out.startswith('{\n  "uptime": ')  # indent 2, not sorted


def test_error_reply_goes_to_stderr_with_status_1(served, capsys):
    for argv in (["-c", "bogus"], ["-j", "-c", "bogus"]):
        status, out, err = gunicornc(served, capsys, *argv)
        assert (status, out) == (1, "")
        assert err.startswith("Error: unknown command: bogus")


def test_success_false_is_data_with_status_0(served, capsys):
    status, out, err = gunicornc(served, capsys, "-c", "flop")
    assert status == 0 and err == ""
    assert json.loads(out) == {"success": False, "error": "nope"}
    status, out, _ = gunicornc(served, capsys, "-c", f"worker kill {os.getpid()}")
    assert status == 0
    assert json.loads(out) == {"success": False, "error": f"Worker {os.getpid()} not found"}


def test_empty_data_prints_ok_and_other_commands_print_json(served, capsys):
    assert gunicornc(served, capsys, "-c", "empty")[1] == "OK\n"
    assert gunicornc(served, capsys, "-c", "echo A b")[1] == '{\n  "args": [\n    "A",\n    "b"\n  ]\n}\n'


def test_command_words_match_in_any_case(served, capsys):
    status, out, _ = gunicornc(served, capsys, "-j", "-c", "SHOW Workers")
    assert status == 0 and json.loads(out)["count"] == 2
    assert json.loads(gunicornc(served, capsys, "-c", "ECHO Keep")[1]) == {"args": ["Keep"]}


def test_empty_command_opens_the_prompt(served, capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    status, out, _ = gunicornc(served, capsys, "-c", "")
    assert status == 0 and out.startswith(f"Connected to {served.path}\n")


# -- interactive ---------------------------------------------------------------------

def test_prompt_prints_errors_goes_on_and_quits_with_q(served, capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO("bogus\nempty\nq\nempty\n"))
    status, out, err = gunicornc(served, capsys)
    assert status == 0 and err == ""
    lines = out.splitlines()
    assert lines[:3] == [f"Connected to {served.path}",
                         "Type 'help' for available commands, 'quit' to exit.", ""]
    assert "Error: unknown command: bogus (try 'help')" in out
    assert out.count("OK") == 1  # nothing after q runs


# -- reply shapes ------------------------------------------------------------------------

def test_show_all_has_upstream_shape():
    arbiter = FakeArbiter(workers=2)
    data = core_table().run(arbiter, ["show", "all"])
    assert data["arbiter"] == {"pid": 4242, "type": "arbiter", "role": "master"}
    assert [sorted(w) for w in data["web_workers"]] == [
        ["age", "booted", "last_heartbeat", "pid", "type"]] * 2
    assert data["web_worker_count"] == 2
    assert data["dirty_arbiter"] is None
    assert data["dirty_workers"] == [] and data["dirty_worker_count"] == 0


def test_show_config_is_flat_with_upstream_keys_first():
    arbiter = FakeArbiter()
    arbiter.worker_class = FakeWorker
    arbiter.cfg.settings["worker_class"] = object()
    data = core_table().run(arbiter, ["show", "config"])
    assert "config" not in data
    assert list(data)[:3] == ["bind", "workers", "worker_class"]
    assert data["workers"] == 2 and data["bind"] == ["127.0.0.1:8000"]
    assert data["worker_class"] == str(FakeWorker)  # "<class '...'>" as upstream


def test_show_stats_counts_spawned_and_gone_workers():
    arbiter = FakeArbiter(workers=2)
    arbiter.worker_age = 3
    server = ControlServer(arbiter, "/nonexistent/g.ctl", table=core_table())
    arbiter.control = server
    server._note_heartbeats()
    arbiter.WORKERS.pop(min(arbiter.WORKERS))
    server._note_heartbeats()
    data = core_table().run(arbiter, ["show", "stats"])
    assert data["workers_spawned"] == 3 and data["workers_killed"] == 1
    assert data["workers_current"] == 1 and data["workers_target"] == 2


def test_heartbeat_has_two_decimals():
    arbiter = FakeArbiter(workers=1)
    next(iter(arbiter.WORKERS.values())).tmp.when -= 1.23456
    (worker,) = core_table().run(arbiter, ["show", "workers"])["workers"]
    assert worker["last_heartbeat"] == round(worker["last_heartbeat"], 2) >= 1.23


def test_core_dirty_fallback_without_dirty_arbiter_is_a_reply(monkeypatch):
    sent = []
    monkeypatch.setattr(arbiter_commands, "send_signal", lambda pid, sig: sent.append(sig))
    for text in (["dirty", "add"], ["dirty", "remove", "2"]):
        assert core_table().run(FakeArbiter(), text) == {
            "success": False, "error": "Dirty arbiter not running"}
    arbiter = FakeArbiter()
    arbiter.dirty_arbiter_pid = 77
    assert core_table().run(arbiter, ["dirty", "add"])["added"] == 1
    assert sent == [signal.SIGTTIN]


def test_help_keys_carry_the_arguments():
    commands = default_table(FakeLog()).help()
    for usage in ("worker add [N]", "worker remove [N]", "worker kill <PID>",
                  "dirty add [N]", "dirty remove [N]", "shutdown [graceful|quick]",
                  "show workers", "reload", "help"):
        assert commands.get(usage), usage
    assert "worker add" not in commands


# -- text layouts ------------------------------------------------------------------------

def test_text_layouts():
    workers = {"workers": [{"pid": 11, "age": 1, "booted": True, "last_heartbeat": 0.5},
                           {"pid": 12, "age": 2, "booted": False, "last_heartbeat": None}],
               "count": 2}
    assert render(["show", "workers"], workers).splitlines() == [
        "PID        AGE    BOOTED   LAST_BEAT", "-" * 40,
        "11         1      yes      0.5s ago", "12         2      no       n/a",
        "", "Total: 2 workers"]
    assert render(["show", "workers"], {"workers": [], "count": 0}) == "No workers running"
    assert render(["show", "dirty"], {"enabled": False}) == "Dirty arbiter not running"
    assert render(["show", "config"], {"workers": 2, "bind": ["a", "b"], "pidfile": None}) == (
        "bind: a, b\npidfile: None\nworkers: 2")
    stats = render(["show", "stats"], {"uptime": 3725.5, "pid": 9, "reloads": 1})
    assert stats.splitlines()[:2] == ["Uptime:           1h 2m 5s", "PID:              9"]
    assert render(["show", "listeners"], {"listeners": []}) == "No listeners bound"
    assert render(["help"], {"commands": {"reload": "r"}}) == (
        "Available commands:\n\n  reload   r")
    everything = render(["show", "all"], {"arbiter": {"pid": 1}, "web_workers": [],
                                          "web_worker_count": 0, "dirty_arbiter": None})
    assert everything.splitlines() == ["ARBITER (master)", "  PID: 1", "", "WEB WORKERS (0)",
                                       "  (none)", "", "DIRTY ARBITER", "  (not running)"]
    # words after the command (a number) still pick the command's layout
    assert render(["worker", "add", "2"], {"added": 2}) == '{\n  "added": 2\n}'


# -- wire and stopping -------------------------------------------------------------------

def test_request_carries_the_whole_line_with_default_json_separators():
    from gunicorn.ctl.framing import encode_frame, make_request

    frame = encode_frame(make_request(1, "worker add 2"))
    assert frame[4:] == b'{"id": 1, "command": "worker add 2", "args": []}'


def test_reload_is_refused_while_the_master_stops(monkeypatch):
    from gunicorn.ctl.commands import CommandError

    sent = []
    monkeypatch.setattr(arbiter_commands, "send_signal", lambda pid, sig: sent.append(sig))
    arbiter = FakeArbiter()
    arbiter.stopping = True
    with pytest.raises(CommandError, match="shutting down"):
        core_table().run(arbiter, ["reload"])
    assert sent == []


class TtyInput(io.StringIO):
    def isatty(self):
        return True


def test_prompt_on_a_terminal_keeps_upstreams_history_file(served, capsys, monkeypatch, tmp_path):
    pytest.importorskip("readline", reason="history needs readline")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setattr(sys, "stdin", TtyInput("empty\n"))
    assert gunicornc(served, capsys)[0] == 0
    assert (tmp_path / ".gunicornc_history").exists()


def test_workers_killed_leaves_out_worker_kill_and_prefers_the_arbiters_count(monkeypatch):
    monkeypatch.setattr(arbiter_commands, "send_signal", lambda pid, sig: None)
    arbiter = FakeArbiter(workers=2)
    server = ControlServer(arbiter, "/nonexistent/g.ctl", table=core_table())
    arbiter.control = server
    server._note_heartbeats()
    first, second = sorted(arbiter.WORKERS)
    assert core_table().run(arbiter, ["worker", "kill", str(first)])["success"] is True
    del arbiter.WORKERS[first], arbiter.WORKERS[second]
    server._note_heartbeats()
    assert core_table().run(arbiter, ["show", "stats"])["workers_killed"] == 1
    arbiter.workers_killed = 7
    assert core_table().run(arbiter, ["show", "stats"])["workers_killed"] == 7
