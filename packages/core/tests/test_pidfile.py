"""pidfile.py: atomic creation, stale and live pid detection, owner-only unlink."""

import os
import subprocess
import sys

import pytest

from gunicorn.pidfile import Pidfile


def test_create_writes_pid_and_mode(tmp_path):
    path = tmp_path / "gunicorn.pid"
    pf = Pidfile(str(path))
    pf.create(12345)
    assert path.read_text() == "12345\n"
    assert (path.stat().st_mode & 0o777) == 0o644
    assert list(tmp_path.iterdir()) == [path]


def test_unlink_only_when_pid_matches(tmp_path):
    path = tmp_path / "gunicorn.pid"
    pf = Pidfile(str(path))
    pf.create(4242)
    path.write_text("999\n")
    pf.unlink()
    assert path.exists()
    path.write_text("4242\n")
    pf.unlink()
    assert not path.exists()
    pf.unlink()  # already gone: no error


def test_validate(tmp_path):
    path = tmp_path / "p.pid"
    pf = Pidfile(str(path))
    assert pf.validate() is None
    path.write_text(f"{os.getpid()}\n")
    assert pf.validate() == os.getpid()
    path.write_text("garbage")
    assert pf.validate() is None
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    path.write_text(f"{dead.pid}\n")
    assert pf.validate() is None


def test_create_refuses_live_other_pid(tmp_path):
    path = tmp_path / "p.pid"
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        path.write_text(f"{other.pid}\n")
        with pytest.raises(RuntimeError, match="Already running on PID"):
            Pidfile(str(path)).create(os.getpid())
    finally:
        other.kill()
        other.wait()


def test_create_replaces_stale_and_accepts_own(tmp_path):
    path = tmp_path / "p.pid"
    path.write_text(f"{os.getpid()}\n")
    Pidfile(str(path)).create(os.getpid())  # our own pid: nothing to do
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    path.write_text(f"{dead.pid}\n")
    Pidfile(str(path)).create(77)
    assert path.read_text() == "77\n"


def test_missing_directory(tmp_path):
    with pytest.raises(RuntimeError, match="doesn't exist"):
        Pidfile(str(tmp_path / "nope" / "p.pid")).create(1)


def test_rename(tmp_path):
    first, second = tmp_path / "a.pid.2", tmp_path / "a.pid"
    pf = Pidfile(str(first))
    pf.create(31337)
    pf.rename(str(second))
    assert not first.exists()
    assert second.read_text() == "31337\n"
