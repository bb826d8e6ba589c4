"""Start, probe, measure and stop one server process tree that this harness launched."""

import os
import signal
import socket
import subprocess
import threading
import time

from .venvs import BENCH_DIR

STOP_GRACE = 5.0
SAMPLE_INTERVAL = 0.1


class StartError(RuntimeError):
    """The server exited or never answered; the message carries its log tail."""


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _proc_stat(pid):
    """(ppid, starttime) from /proc/<pid>/stat, or None once the process is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            data = f.read()
    except OSError:
        return None
    # The command name may contain spaces or parentheses: split after the last ')'.
    fields = data[data.rindex(")") + 2:].split()
    return int(fields[1]), int(fields[19])


def children_of(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        pass
    kids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            stat = _proc_stat(int(entry))
            if stat and stat[0] == pid:
                kids.append(int(entry))
    return kids


def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def last_line(text):
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return lines[-1] if lines else ""


def tail(path, lines=15):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError:
        return ""


class ServerProcess:
    """One launched server: its master PID plus every child PID seen while it ran."""

    def __init__(self, argv, log_path, env=None, cwd=None, cpus=None):
        self.argv = argv
        self.log_path = log_path
        self.env = env
        self.cwd = cwd
        self.cpus = cpus
        self.proc = None
        # pid -> starttime, so stop() never signals a recycled PID.
        self.seen_children = {}

    def start(self):
        log = open(self.log_path, "ab")
        env = dict(os.environ if self.env is None else self.env)
        cpus = self.cpus

        def _pin():
            if cpus:
                os.sched_setaffinity(0, cpus)

        try:
            # A new session keeps the terminal's Ctrl-C away from the server; the
            # harness stops it itself.
            self.proc = subprocess.Popen(
                self.argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                cwd=self.cwd or BENCH_DIR, env=env, start_new_session=True,
                preexec_fn=_pin if cpus else None,
            )
        finally:
            log.close()
        return self

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def workers(self):
        """Worker PIDs: the master's children, or the master itself when it has none."""
        kids = children_of(self.pid)
        for kid in kids:
            if kid not in self.seen_children:
                stat = _proc_stat(kid)
                if stat:
                    self.seen_children[kid] = stat[1]
        return kids or [self.pid]

    def wait_ready(self, probe, timeout=30.0):
        """Poll `probe()` (True once the server answers) until it does or time runs out."""
        deadline = time.monotonic() + timeout
        last_error = "no answer"
        while time.monotonic() < deadline:
            if not self.alive():
                log_tail = tail(self.log_path)
                raise StartError(f"exited with {self.proc.returncode}: {last_line(log_tail)}"
                                 f"\n{log_tail}")
            try:
                if probe():
                    self.workers()
                    return
            except OSError as exc:
                last_error = str(exc)
            time.sleep(0.1)
        log_tail = tail(self.log_path)
        raise StartError(f"not ready after {timeout:.0f}s ({last_error}): "
                         f"{last_line(log_tail)}\n{log_tail}")

    def stop(self, sig=signal.SIGINT):
        """Ask the master to quit, then SIGKILL it and any child of ours still around."""
        if self.proc is None:
            return
        self.workers()
        if self.alive():
            try:
                self.proc.send_signal(sig)
                self.proc.wait(timeout=STOP_GRACE)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=STOP_GRACE)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + STOP_GRACE
        for pid, started in self.seen_children.items():
            while time.monotonic() < deadline:
                stat = _proc_stat(pid)
                if stat is None or stat[1] != started:
                    break
                time.sleep(0.05)
            stat = _proc_stat(pid)
            if stat is not None and stat[1] == started:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass


class RssSampler(threading.Thread):
    """Samples VmRSS of the server's workers until stopped; keeps the per-worker peak."""

    def __init__(self, server):
        super().__init__(daemon=True)
        self.server = server
        self.peak_kib = {}
        self._halt = threading.Event()

    def run(self):
        while not self._halt.is_set():
            for pid in self.server.workers():
                kib = rss_kib(pid)
                if kib is not None and kib > self.peak_kib.get(pid, 0):
                    self.peak_kib[pid] = kib
            self._halt.wait(SAMPLE_INTERVAL)

    def finish(self):
        self._halt.set()
        self.join(timeout=5)
        return max(self.peak_kib.values()) if self.peak_kib else None
