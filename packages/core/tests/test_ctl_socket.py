"""The control socket in-process: binding rules, the asyncio server, client and gunicornc."""

import io
import json
import os
import socket
import stat
import struct

import pytest
from test_ctl_commands import FakeArbiter, FakeLog

from gunicorn.ctl import cli
from gunicorn.ctl.client import ControlClient, ControlClientError
from gunicorn.ctl.commands import CommandTable
from gunicorn.ctl.framing import FrameDecoder, encode_frame
from gunicorn.ctl.server import (
    ControlServer,
    ControlSocketBusy,
    bind_control_socket,
    start_control_server,
)

pytestmark = pytest.mark.timeout(30)


def short_dir(tmp_path):
    # AF_UNIX paths are limited to ~107 bytes; pytest's tmp_path may be longer
    path = tmp_path / "s"
    path.mkdir()
    return path


@pytest.fixture
def served(tmp_path):
    arbiter = FakeArbiter()
    table = CommandTable({"echo": lambda a, args: {"args": args},
                          "fail": lambda a, args: (_ for _ in ()).throw(ValueError("no"))})
    server = ControlServer(arbiter, str(short_dir(tmp_path) / "gunicorn.ctl"), table=table)
    assert server.start()
    arbiter.control = server
    yield server
    server.stop()


def test_bind_creates_parent_with_mode(tmp_path):
    path = short_dir(tmp_path) / "deeper" / "g.ctl"
    sock = bind_control_socket(str(path), 0o640)
    try:
        assert stat.S_ISSOCK(os.stat(path).st_mode)
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o640
    finally:
        sock.close()


def test_stale_socket_is_replaced(tmp_path):
    path = str(short_dir(tmp_path) / "g.ctl")
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(path)
    stale.close()  # the file stays, nobody answers
    sock = bind_control_socket(path, 0o600)
    sock.close()


def test_live_socket_and_non_socket_are_left_alone(tmp_path):
    path = str(short_dir(tmp_path) / "g.ctl")
    live = bind_control_socket(path, 0o600)
    try:
        with pytest.raises(ControlSocketBusy, match="another server"):
            bind_control_socket(path, 0o600)
        assert os.path.exists(path)
    finally:
        live.close()
    other = str(tmp_path / "plain")
    with open(other, "w") as f:
        f.write("data")
    with pytest.raises(ControlSocketBusy, match="not a socket"):
        bind_control_socket(other, 0o600)
    assert open(other).read() == "data"


def test_second_server_warns_and_does_not_start(served):
    arbiter = FakeArbiter()
    arbiter.log = FakeLog()
    second = ControlServer(arbiter, served.path, table=CommandTable())
    assert second.start() is False
    assert any(level == "warning" and "another server" in msg
               for level, msg in arbiter.log.lines)
    with ControlClient(served.path) as client:  # the first still serves
        assert client.request("echo hi")["data"] == {"args": ["hi"]}


def test_start_failure_is_a_warning(tmp_path):
    arbiter = FakeArbiter()
    arbiter.cfg.control_socket = str(tmp_path / ("x" * 200) / "g.ctl")  # too long for AF_UNIX
    arbiter.cfg.control_socket_disable = False
    arbiter.cfg.control_socket_mode = 0o600
    assert start_control_server(arbiter) is None
    assert any(level == "warning" for level, _ in arbiter.log.lines)


def test_disabled_means_no_server(tmp_path):
    arbiter = FakeArbiter()
    arbiter.cfg.control_socket = str(short_dir(tmp_path) / "g.ctl")
    arbiter.cfg.control_socket_disable = True
    assert start_control_server(arbiter) is None
    assert not os.path.exists(arbiter.cfg.control_socket)


def test_requests_on_one_connection(served):
    with ControlClient(served.path) as client:
        assert client.request("echo a 'b c'") == {"id": 1, "status": "ok",
                                                   "data": {"args": ["a", "b c"]}}
        assert client.request("fail") == {"id": 2, "status": "error", "error": "ValueError: no"}
        assert client.request("") == {"id": 3, "status": "error", "error": "empty command"}


def test_pipelined_requests_in_one_write(served):
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(5)
        s.connect(served.path)
        s.sendall(encode_frame({"id": 1, "command": "echo", "args": ["1"]})
                  + encode_frame({"id": 2, "command": "echo 2"}))
        decoder, replies = FrameDecoder(), []
        while len(replies) < 2:
            replies += decoder.feed(s.recv(65536))
    assert [r["data"]["args"] for r in replies] == [["1"], ["2"]]


def test_bad_frame_gets_an_error_and_a_close(served):
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(5)
        s.connect(served.path)
        s.sendall(struct.pack(">I", 5) + b"nope!")
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    (reply,) = FrameDecoder().feed(data)
    assert reply["status"] == "error" and reply["id"] is None


def test_stop_removes_the_socket_only_if_ours(tmp_path):
    arbiter = FakeArbiter()
    server = ControlServer(arbiter, str(short_dir(tmp_path) / "g.ctl"), table=CommandTable())
    assert server.start()
    server.stop()
    assert not os.path.exists(server.path)
    assert server.start()
    os.unlink(server.path)
    other = bind_control_socket(server.path, 0o600)  # someone else's now
    try:
        server.stop()
        assert os.path.exists(server.path)
    finally:
        other.close()


def test_client_without_server(tmp_path):
    with pytest.raises(ControlClientError, match="cannot connect"):
        ControlClient(str(tmp_path / "none.ctl")).connect()


# -- gunicornc, in-process ------------------------------------------------------

def test_cli_one_command_json(served, capsys):
    assert cli.main(["-s", served.path, "-c", "echo x", "-j"]) == 0
    # as upstream: -j prints the reply's data only
    assert json.loads(capsys.readouterr().out) == {"args": ["x"]}


def test_cli_error_reply_exits_non_zero(served, capsys):
    assert cli.main(["-s", served.path, "-c", "fail"]) == 1
    assert "Error: ValueError: no" in capsys.readouterr().err


def test_cli_success_false_is_printed_with_status_zero(served, capsys):
    # as upstream: only an error reply is a failure; the data says the rest
    served.table.add("kill", lambda a, args: {"success": False, "error": "nope"})
    assert cli.main(["-s", served.path, "-c", "kill"]) == 0
    assert '"success": false' in capsys.readouterr().out


def test_cli_relative_socket_path(served, monkeypatch, capsys):
    monkeypatch.chdir(os.path.dirname(served.path))
    assert cli.main(["--socket", "gunicorn.ctl", "--command", "echo"]) == 0


def test_cli_default_socket_from_xdg(served, monkeypatch, capsys):
    monkeypatch.setenv("XDG_RUNTIME_DIR", os.path.dirname(served.path))
    assert cli.main(["-c", "echo"]) == 0


def test_cli_without_server(tmp_path, capsys):
    assert cli.main(["-s", str(tmp_path / "none.ctl"), "-c", "show workers"]) != 0
    assert "Error" in capsys.readouterr().err


def test_cli_version(capsys):
    from gunicorn import __version__
    with pytest.raises(SystemExit) as exc:
        cli.main(["-v"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"gunicornc (gunicorn {__version__})"


def test_cli_interactive_until_quit(served, monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO("echo one\n\nfail\necho two\nquit\necho no\n"))
    assert cli.main(["-s", served.path]) == 0
    out = capsys.readouterr().out
    assert "one" in out and "two" in out and "Error: ValueError: no" in out
    assert "no\n" not in out.split("two", 1)[1]


def test_cli_interactive_ends_on_eof(served, monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO("echo one\n"))
    assert cli.main(["-s", served.path]) == 0


def test_upgraded_master_takes_the_socket_once_promoted(tmp_path):
    path = str(short_dir(tmp_path) / "g.ctl")
    old_master = bind_control_socket(path, 0o600)
    arbiter = FakeArbiter()
    arbiter.master_pid = 12345  # a USR2 child: the old master still runs
    arbiter.cfg.control_socket = path
    arbiter.cfg.control_socket_disable = False
    arbiter.cfg.control_socket_mode = 0o600
    server = start_control_server(arbiter)
    try:
        assert server is not None and not server.running
        server.run_pending()
        assert not server.running
        old_master.close()
        os.unlink(path)  # the old master leaves
        arbiter.master_pid = 0  # promoted
        server.run_pending()
        assert server.running
        with ControlClient(path) as client:
            assert client.request("show workers")["data"]["count"] == 2
    finally:
        server.stop()
    assert not os.path.exists(path)


def test_client_reconnects_after_the_server_restarts(tmp_path):
    arbiter = FakeArbiter()
    table = CommandTable({"echo": lambda a, args: {"args": args}})
    path = str(short_dir(tmp_path) / "g.ctl")
    first = ControlServer(arbiter, path, table=table)
    assert first.start()
    client = ControlClient(path, timeout=5).connect()
    try:
        assert client.request("echo 1")["status"] == "ok"
        first.stop()
        with pytest.raises(ControlClientError):
            client.request("echo 2")
        second = ControlServer(arbiter, path, table=table)
        assert second.start()
        try:
            assert client.request("echo 3")["data"] == {"args": ["3"]}
        finally:
            second.stop()
    finally:
        client.close()
