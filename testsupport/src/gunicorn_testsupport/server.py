"""Run the real ``gunicorn`` as a subprocess for a test, and talk to it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout=10.0, interval=0.05, message="condition"):
    """Poll ``predicate`` until it returns a truthy value; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        time.sleep(interval)


def run_gunicorn(cwd, *args, env=None, timeout=20) -> subprocess.CompletedProcess:
    """``python -m gunicorn ARGS`` run to completion, for commands that exit (--version...).

    The environment variables gunicorn reads settings from are left out, so the
    machine's own cannot change the result; ``env`` adds to what is left.
    """
    full_env = {k: v for k, v in os.environ.items()
                if k not in ("GUNICORN_CMD_ARGS", "PORT", "WEB_CONCURRENCY")}
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "gunicorn", *args], cwd=cwd, env=full_env,
                          capture_output=True, text=True, timeout=timeout)


def raw_request(port: int, data: bytes, timeout: float = 5.0, host="127.0.0.1",
                shutdown_write=False) -> bytes:
    """Send ``data`` and read until the server closes (or ``timeout``)."""
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.sendall(data)
        if shutdown_write:
            s.shutdown(socket.SHUT_WR)
        chunks = []
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
        except (TimeoutError, ConnectionResetError):
            pass
        return b"".join(chunks)


def raw_exchange(port: int, data: bytes, timeout: float = 10.0, host="127.0.0.1"):
    """Send ``data``, read until the server closes: ``(bytes, "eof" or "reset")``.

    Tells a clean close from a TCP reset, which is how a server marks a
    response cut short when its body is delimited by the close.
    """
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.sendall(data)
        chunks = []
        while True:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                return b"".join(chunks), "reset"
            if not chunk:
                return b"".join(chunks), "eof"
            chunks.append(chunk)


class ServerProcess:
    """A ``gunicorn`` master started with ``args`` on a free loopback port.

    Use as a context manager. ``self.port`` is the bound port, ``self.log``
    the combined stdout/stderr so far, ``self.proc`` the Popen.
    Extra ``args`` are passed as given; ``-b`` is added unless ``bind`` is False.
    """

    def __init__(self, *args: str, cwd=None, env=None, bind=True, ready_timeout=15.0,
                 wait_ready=True):
        self.args = list(args)
        self.cwd = cwd
        self.port = free_port() if bind else None
        self.env = dict(os.environ)
        self.env.setdefault("PYTHONUNBUFFERED", "1")
        # keep the control socket of each test apart
        self.env.setdefault("XDG_RUNTIME_DIR", tempfile.mkdtemp(prefix="gtest-run-"))
        if env:
            self.env.update(env)
        self.bind = bind
        self.ready_timeout = ready_timeout
        self.wait_ready = wait_ready
        self._logfile = tempfile.NamedTemporaryFile(prefix="gunicorn-test-", suffix=".log",
                                                    delete=False)
        self.proc: subprocess.Popen | None = None

    @property
    def command(self):
        cmd = [sys.executable, "-m", "gunicorn"]
        if self.bind:
            cmd += ["-b", f"127.0.0.1:{self.port}"]
        return cmd + self.args

    def start(self):
        self.proc = subprocess.Popen(self.command, cwd=self.cwd, env=self.env,
                                     stdout=self._logfile, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        if self.wait_ready and self.bind:
            wait_for(self._accepting, self.ready_timeout, message=f"server on {self.port}\n{self.log}")
        return self

    def _accepting(self):
        if self.proc.poll() is not None:
            raise AssertionError(f"server exited with {self.proc.returncode}:\n{self.log}")
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                return True
        except OSError:
            return False

    @property
    def log(self) -> str:
        return Path(self._logfile.name).read_text(errors="replace")

    @property
    def pid(self) -> int:
        return self.proc.pid

    def signal(self, sig):
        os.kill(self.proc.pid, sig)

    def wait(self, timeout=15.0) -> int:
        return self.proc.wait(timeout)

    def url(self, path="/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def request(self, data: bytes, **kw) -> bytes:
        return raw_request(self.port, data, **kw)

    def worker_pids(self) -> list[int]:
        """PIDs of the master's direct children (its workers and companions)."""
        out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(self.proc.pid)],
                             capture_output=True, text=True).stdout
        return sorted(int(p) for p in out.split())

    def stop(self, sig=None, timeout=15.0):
        # no ``signal.SIGTERM`` default: the ``signal`` method above shadows the module here
        if sig is None:
            sig = signal.SIGTERM
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        try:
            os.unlink(self._logfile.name)
        except OSError:
            pass
