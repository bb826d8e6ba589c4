"""systemd.py: LISTEN_FDS only for our pid, sd_notify datagrams."""

import logging
import os
import socket

import pytest

from gunicorn import systemd


def test_listen_fds_for_our_pid(monkeypatch):
    monkeypatch.setenv("LISTEN_FDS", "2")
    monkeypatch.setenv("LISTEN_PID", str(os.getpid()))
    assert systemd.listen_fds(unset_environment=False) == 2
    assert "LISTEN_FDS" in os.environ
    assert systemd.listen_fds() == 2
    assert "LISTEN_FDS" not in os.environ and "LISTEN_PID" not in os.environ
    assert systemd.listen_fds() == 0


def test_listen_fds_other_pid_ignored(monkeypatch):
    monkeypatch.setenv("LISTEN_FDS", "2")
    monkeypatch.setenv("LISTEN_PID", str(os.getpid() + 1))
    assert systemd.listen_fds() == 0
    assert os.environ["LISTEN_FDS"] == "2"


def test_listen_fds_garbage(monkeypatch):
    monkeypatch.setenv("LISTEN_FDS", "x")
    monkeypatch.setenv("LISTEN_PID", str(os.getpid()))
    assert systemd.listen_fds() == 0


def _receiver(address):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(address)
    s.settimeout(2)
    return s


def test_sd_notify_path_socket(tmp_path, monkeypatch):
    path = str(tmp_path / "notify")
    with _receiver(path) as rx:
        monkeypatch.setenv("NOTIFY_SOCKET", path)
        systemd.sd_notify("READY=1", logging.getLogger("t"))
        assert rx.recv(100) == b"READY=1"
        assert os.environ["NOTIFY_SOCKET"] == path
        systemd.sd_notify("STOPPING=1", logging.getLogger("t"), unset_environment=True)
        assert rx.recv(100) == b"STOPPING=1"
        assert "NOTIFY_SOCKET" not in os.environ


def test_sd_notify_abstract_socket(monkeypatch):
    name = f"gunicorn-test-{os.getpid()}"
    with _receiver("\0" + name) as rx:
        monkeypatch.setenv("NOTIFY_SOCKET", "@" + name)
        systemd.sd_notify("READY=1", logging.getLogger("t"))
        assert rx.recv(100) == b"READY=1"


def test_sd_notify_errors_are_logged_not_raised(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "nobody-listens"))
    log = logging.getLogger("t.sd")
    with caplog.at_level(logging.DEBUG, logger="t.sd"):
        systemd.sd_notify("READY=1", log)
    assert "sd_notify" in caplog.text


def test_sd_notify_without_systemd(monkeypatch):
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    systemd.sd_notify("READY=1", logging.getLogger("t"))


def test_socket_activation_and_ready_notification(tmp_path):
    """The real server adopts fd 3 when LISTEN_PID is its pid, and sends READY=1."""
    import subprocess
    import sys

    from arbiter_support import wait_for, worker_args, write_project

    write_project(tmp_path)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(tmp_path / "notify"))
    notify.settimeout(15)
    env = dict(os.environ, LISTEN_FDS="1", NOTIFY_SOCKET=str(tmp_path / "notify"),
               MARKER_DIR=str(tmp_path), PYTHONUNBUFFERED="1")
    # systemd passes the socket as fd 3 and names the pid it starts
    script = ("import os, sys; os.dup2(int(sys.argv[1]), 3); os.environ['LISTEN_PID'] = "
              "str(os.getpid()); os.execv(sys.executable, [sys.executable, '-m', 'gunicorn'] "
              "+ sys.argv[2:])")
    log = open(tmp_path / "out.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-c", script, str(listener.fileno()), *worker_args(),
         "--graceful-timeout", "2", "app:app"],
        cwd=tmp_path, env=env, pass_fds=(listener.fileno(),), stdout=log, stderr=log)
    try:
        assert notify.recv(200).startswith(b"READY=1")
        wait_for(lambda: f"Listening at: http://127.0.0.1:{port}" in
                 (tmp_path / "out.log").read_text(), message="listening on the passed socket")
        import httpx
        assert httpx.get(f"http://127.0.0.1:{port}/", timeout=10).status_code == 200
        proc.terminate()
        assert proc.wait(15) == 0
        # NOTIFY_SOCKET is dropped once READY=1 is sent: nothing more arrives
        notify.settimeout(0.2)
        with pytest.raises(socket.timeout):
            notify.recv(200)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
        log.close()
        listener.close()
        notify.close()
