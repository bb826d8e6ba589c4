"""systemd.py: LISTEN_FDS only for our pid, sd_notify datagrams."""

import logging
import os
import socket

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
