"""Arbiter companions: processes that sibling packages run beside the web workers.

A companion (the dirty arbiter of gunicorn-dirty, for one) is a class
registered in the ``gunicorn.companions`` entry-point group. Core never
imports a sibling: it finds companions here, by entry point, at start.

The interface (duck-typed; subclassing ``Companion`` is optional):

- ``enabled(cfg) -> bool`` (classmethod): should it run with this config?
  Called once at start; the class is instantiated with no arguments when it is.
- ``prepare(arbiter)`` (optional): before the first workers are forked, export
  what they must inherit (e.g. ``GUNICORN_DIRTY_SOCKET``).
- ``start(arbiter) -> int``: fork the process, return its pid (in the master).
  Called after the first workers are spawned, and again to respawn it. It may
  set ``arbiter.dirty_arbiter_pid``.
- ``on_exit(pid, status) -> bool``: the master reaped ``pid`` (reaped before any
  worker); ``status`` is the raw ``waitpid`` status. Return True to be
  started again (never while the master is stopping).
- ``signal(sig)``: HUP and USR1 received by the master are forwarded here.
- ``stop(graceful=True)``: the master is stopping; send the process TERM
  (graceful) or QUIT (quick) and return. The master waits for it together
  with the workers for ``graceful_timeout`` and then sends SIGKILL.
"""

import os
import signal
import time
from importlib.metadata import entry_points

GROUP = "gunicorn.companions"

# a companion that exits (or fails to start) is started again this much later,
# so one that dies at once cannot make the master fork in a tight loop
RESTART_DELAY = 1.0


class Companion:
    """Convenience base: tracks ``pid``, forwards signals, respawns on exit."""

    name = "companion"

    def __init__(self):
        self.pid = 0

    @classmethod
    def enabled(cls, cfg):
        return True

    def start(self, arbiter):
        raise NotImplementedError

    def on_exit(self, pid, status):
        self.pid = 0
        return True

    def signal(self, sig):
        if self.pid:
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:
                pass

    def stop(self, graceful=True):
        self.signal(signal.SIGTERM if graceful else signal.SIGQUIT)


def _registered():
    try:
        return list(entry_points(group=GROUP))
    except TypeError:  # pragma: no cover - importlib.metadata before 3.10 API
        return list(entry_points().get(GROUP, ()))


def load_companions(cfg, log):
    """Instances of the registered companions that are enabled for ``cfg``.

    A companion that fails to load is logged and skipped: an optional extra
    must not keep the web workers from serving.
    """
    companions = []
    for ep in sorted(_registered(), key=lambda e: e.name):
        try:
            cls = ep.load()
            if not cls.enabled(cfg):
                continue
            companion = cls()
        except Exception:
            log.exception("Companion %r could not be loaded", ep.name)
            continue
        if not getattr(companion, "name", None) or companion.name == "companion":
            try:
                companion.name = ep.name
            except AttributeError:
                pass
        companions.append(companion)
    return companions


class CompanionSupervisor:
    """The master's side of its companions: start, restart, reap, signal, stop.

    ``by_pid`` maps each running companion's pid to the companion; the
    arbiter exposes it as ``Arbiter.COMPANIONS``.
    """

    def __init__(self, arbiter):
        self.arbiter = arbiter
        self.companions = []
        self.by_pid = {}
        self._restart_at = {}   # companion -> monotonic time of its next start

    @property
    def log(self):
        return self.arbiter.log

    def prepare(self):
        """Load the enabled companions; let them export what workers need before forking."""
        self.companions = load_companions(self.arbiter.cfg, self.log)
        for companion in self.companions:
            prepare = getattr(companion, "prepare", None)
            if prepare is not None:
                prepare(self.arbiter)

    def start_all(self):
        for companion in self.companions:
            self._start(companion)

    def _start(self, companion):
        self._restart_at.pop(companion, None)
        try:
            pid = companion.start(self.arbiter)
        except Exception:
            self.log.exception("Companion %s failed to start", companion.name)
            self._restart_at[companion] = time.monotonic() + RESTART_DELAY
            return
        if pid:
            self.by_pid[pid] = companion

    def restart_due(self):
        """Start again the companions whose restart delay has passed."""
        now = time.monotonic()
        for companion, when in list(self._restart_at.items()):
            if now >= when:
                self._start(companion)

    def reaped(self, pid, status, stopping):
        """``pid`` (one of ``by_pid``) exited: tell its companion, maybe schedule a restart."""
        companion = self.by_pid.pop(pid)
        if pid == self.arbiter.dirty_arbiter_pid:
            self.arbiter.dirty_arbiter_pid = 0
        try:
            respawn = companion.on_exit(pid, status)
        except Exception:
            self.log.exception("Companion %s on_exit failed", companion.name)
            respawn = False
        if respawn and not stopping:
            self.log.info("Companion %s (pid:%s) exited; restarting", companion.name, pid)
            self._restart_at[companion] = time.monotonic() + RESTART_DELAY

    def _each_running(self, action, what):
        for companion in set(self.by_pid.values()):
            try:
                action(companion)
            except Exception:
                self.log.exception("Companion %s: %s failed", companion.name, what)

    def signal(self, sig):
        self._each_running(lambda c: c.signal(sig), "forwarding a signal")

    def stop(self, graceful=True):
        self._restart_at.clear()
        self._each_running(lambda c: c.stop(graceful), "stop")

    def kill(self):
        """SIGKILL whatever is still running once the graceful timeout is over."""
        for pid in list(self.by_pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
