"""process.py: fd flags, cwd spelling, writability, owner switching, daemonizing."""

import fcntl
import os
import subprocess
import sys
import textwrap

import pytest

from gunicorn import process, util


def test_util_facade_maps_process_names():
    for name in ("daemonize", "set_owner_process", "chown", "close_on_exec",
                 "set_non_blocking", "close", "closerange", "seed", "getcwd",
                 "get_username", "check_is_writable", "_setproctitle", "setproctitle"):
        assert getattr(util, name) is getattr(process, name)


def test_close_on_exec_and_non_blocking():
    r, w = os.pipe()
    try:
        os.set_inheritable(r, True)
        process.close_on_exec(r)
        assert fcntl.fcntl(r, fcntl.F_GETFD) & fcntl.FD_CLOEXEC
        process.set_non_blocking(r)
        assert fcntl.fcntl(r, fcntl.F_GETFL) & os.O_NONBLOCK
        with pytest.raises(BlockingIOError):
            os.read(r, 1)
    finally:
        os.close(r)
        os.close(w)


def test_close_ignores_errors():
    class Broken:
        def close(self):
            raise OSError("gone")

    process.close(Broken())


def test_closerange_closes_open_fds():
    fds = [os.open(os.devnull, os.O_RDONLY) for _ in range(3)]
    lo, hi = min(fds), max(fds) + 1
    process.closerange(lo, hi)
    for fd in fds:
        with pytest.raises(OSError):
            os.fstat(fd)


def test_getcwd_prefers_pwd_symlink(tmp_path, monkeypatch):
    real = tmp_path / "release-1"
    real.mkdir()
    link = tmp_path / "current"
    link.symlink_to(real)
    monkeypatch.chdir(link)
    monkeypatch.setenv("PWD", str(link))
    assert process.getcwd() == str(link)
    # a $PWD naming another directory is ignored
    monkeypatch.setenv("PWD", str(tmp_path))
    assert process.getcwd() == os.getcwd()
    monkeypatch.delenv("PWD")
    assert process.getcwd() == os.getcwd()


def test_check_is_writable(tmp_path):
    process.check_is_writable(str(tmp_path / "log"))
    with pytest.raises(RuntimeError, match="isn't writable"):
        process.check_is_writable(str(tmp_path / "missing-dir" / "log"))


def test_get_username_of_current_user():
    import pwd
    assert process.get_username(os.getuid()) == pwd.getpwuid(os.getuid()).pw_name
    with pytest.raises(KeyError):
        process.get_username(2**31 - 7)


def test_set_owner_process_same_ids_is_noop():
    process.set_owner_process(os.getuid(), os.getgid())
    process.set_owner_process(0 if os.getuid() == 0 else None, None)


def test_seed_differs_between_calls():
    import random
    process.seed()
    a = random.random()
    process.seed()
    assert random.random() != a


def test_setproctitle_fallback_is_callable():
    # without the optional distribution both names are harmless no-ops
    process._setproctitle("master [test]")


def test_daemonize_detaches(tmp_path):
    out = tmp_path / "out.txt"
    script = textwrap.dedent(f"""
        import os, sys
        from gunicorn.process import daemonize
        parent_sid = os.getsid(0)
        daemonize()
        with open({str(out)!r}, "w") as f:
            f.write(f"{{os.getpid()}} {{os.getsid(0)}} {{parent_sid}} {{os.getppid()}}")
        print("this goes to /dev/null")
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=10)
    assert proc.returncode == 0
    assert proc.stdout == ""
    from gunicorn_testsupport import wait_for
    wait_for(lambda: out.exists() and out.read_text(), 5, message="daemon output")
    pid, sid, parent_sid, _ = map(int, out.read_text().split())
    assert sid != parent_sid
    # the double fork leaves the daemon outside its own new session's lead
    assert sid != pid


def test_daemonize_skipped_for_reexeced_master(monkeypatch):
    monkeypatch.setenv("GUNICORN_FD", "3")
    pid = os.getpid()
    process.daemonize()
    assert os.getpid() == pid
