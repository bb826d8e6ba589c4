"""The dirty arbiter as a core arbiter companion (``gunicorn.companions`` entry point)."""

import logging
import os
import shutil
import signal
import tempfile

from gunicorn.companions import Companion
from gunicorn.process import set_owner_process

SOCKET_ENV = "GUNICORN_DIRTY_SOCKET"
SOCKET_NAME = "arbiter.sock"

# exit status of a dirty arbiter whose apps cannot be imported: restarting cannot help
APPS_UNLOADABLE = 4


class DirtyCompanion(Companion):
    """Forks the dirty arbiter beside the web workers and keeps it running.

    It runs when both ``dirty_workers > 0`` and ``dirty_apps`` are set. Upstream
    runs nothing, silently, when only one of them is; here that case runs
    nothing too, with one warning naming the missing setting.
    """

    name = "dirty"

    def __init__(self):
        super().__init__()
        self.socket_dir = None
        self.socket_path = None
        self.stopping = False
        self.log = None

    @classmethod
    def enabled(cls, cfg):
        workers = cfg.dirty_workers
        apps = list(cfg.dirty_apps or [])
        if workers > 0 and apps:
            return True
        if workers > 0:
            _warn("dirty_workers is %s but no dirty_apps are set: "
                  "the dirty arbiter is not started", workers)
        elif apps:
            _warn("dirty_apps are set but dirty_workers is 0: "
                  "the dirty arbiter is not started")
        return False

    def prepare(self, arbiter):
        """Pick the socket path (a private directory) and export it to the web workers."""
        self.log = arbiter.log
        self.socket_dir = tempfile.mkdtemp(prefix="gunicorn-dirty-")
        self.socket_path = os.path.join(self.socket_dir, SOCKET_NAME)
        os.environ[SOCKET_ENV] = self.socket_path

    def start(self, arbiter):
        if self.socket_path is None:
            self.prepare(arbiter)
        from gunicorn.dirty.arbiter import DirtyArbiter
        from gunicorn.dirty.process_signals import INHERITED, reset_inherited_signals

        dirty = DirtyArbiter(arbiter.cfg, self.socket_path, arbiter.log, master_pid=os.getpid())
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, INHERITED)
        try:
            pid = os.fork()
            if pid == 0:
                reset_inherited_signals()
                signal.pthread_sigmask(signal.SIG_SETMASK, mask)
                _become_dirty_arbiter(dirty, arbiter)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        self.pid = pid
        arbiter.dirty_arbiter_pid = pid
        arbiter.log.info("Spawned dirty arbiter (pid: %s) at %s", pid, self.socket_path)
        return pid

    def on_exit(self, pid, status):
        self.pid = 0
        code = os.waitstatus_to_exitcode(status)
        if self.stopping:
            self.log.info("Dirty arbiter (pid:%s) exited", pid)
            self._remove_socket_dir()
            return False
        if code == APPS_UNLOADABLE:
            self.log.error("Dirty arbiter (pid:%s) could not load its apps; not restarting it",
                           pid)
            self._remove_socket_dir()
            return False
        self.log.warning("Dirty arbiter (pid:%s) exited unexpectedly (status %s)", pid, code)
        return True

    def stop(self, graceful=True):
        self.stopping = True
        if not self.pid:
            self._remove_socket_dir()
        super().stop(graceful)

    def _remove_socket_dir(self):
        if self.socket_dir:
            shutil.rmtree(self.socket_dir, ignore_errors=True)


def _warn(msg, *args):
    logging.getLogger("gunicorn.error").warning(msg, *args)


def _run_as_worker_user(dirty):
    """Drop to ``user``/``group`` as web workers do; the socket directory goes with us."""
    cfg = dirty.cfg
    uid, gid = cfg.uid, cfg.gid
    if uid == os.geteuid() and gid == os.getegid():
        return
    os.chown(os.path.dirname(dirty.socket_path), uid, gid)
    set_owner_process(uid, gid, initgroups=cfg.initgroups)


def _become_dirty_arbiter(dirty, arbiter):
    """In the forked child: drop the master's listeners, run the dirty arbiter, never return."""
    status = 1
    try:
        for listener in list(getattr(arbiter, "LISTENERS", ()) or ()):
            try:
                os.close(listener.fileno())
            except OSError:
                pass
        _run_as_worker_user(dirty)
        status = dirty.run()
    except SystemExit as exc:
        status = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        arbiter.log.exception("Dirty arbiter crashed")
    finally:
        os._exit(status)
