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
from importlib.metadata import entry_points

GROUP = "gunicorn.companions"


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
