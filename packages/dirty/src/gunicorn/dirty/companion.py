"""The dirty arbiter as a core arbiter companion (``gunicorn.companions`` entry point)."""

import importlib.util
import logging
import os
import shutil
import signal
import tempfile

from gunicorn.companions import Companion
from gunicorn.dirty.app import APP_LOAD_ERROR, parse_dirty_app_spec
from gunicorn.dirty.errors import DirtyAppError
from gunicorn.dirty.pidfile import pidfile_path
from gunicorn.dirty.reload_settings import discard_settings, write_settings
from gunicorn.errors import HaltServer
from gunicorn.process import set_owner_process

SOCKET_ENV = "GUNICORN_DIRTY_SOCKET"
# sun_path holds 108 bytes on Linux and 104 on macOS, the final NUL included
MAX_SOCKET_PATH = 103
SOCKET_NAME = "arbiter.sock"


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
        self.starts = 0
        self.log = None
        self.arbiter = None

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
        """Check the app specs, pick the socket path (a private directory) and export it."""
        self.log = arbiter.log
        self.arbiter = arbiter
        check_app_specs(arbiter.cfg.dirty_apps)
        self.socket_dir = tempfile.mkdtemp(prefix="gunicorn-dirty-")
        self.socket_path = os.path.join(self.socket_dir, SOCKET_NAME)
        if len(os.fsencode(self.socket_path)) > MAX_SOCKET_PATH:
            # the arbiter could never bind there: use the system's short /tmp instead
            arbiter.log.warning("Dirty arbiter socket %s is too long for a unix socket "
                                "(set TMPDIR shorter); using /tmp", self.socket_path)
            os.rmdir(self.socket_dir)
            self.socket_dir = tempfile.mkdtemp(prefix="gunicorn-dirty-", dir="/tmp")
            self.socket_path = os.path.join(self.socket_dir, SOCKET_NAME)
        os.environ[SOCKET_ENV] = self.socket_path

    def start(self, arbiter):
        if self.socket_path is None:
            self.prepare(arbiter)
        from gunicorn.dirty.arbiter import DirtyArbiter
        from gunicorn.dirty.process_signals import fork_with_signals_reset

        # a new arbiter starts from the master's current config: older news is moot
        discard_settings(self.socket_path)
        # the master's proc_name, which a USR2 child suffixes with ".2": each has its own file
        proc_name = getattr(arbiter, "proc_name", None) or arbiter.cfg.proc_name
        dirty = DirtyArbiter(arbiter.cfg, self.socket_path, arbiter.log, master_pid=os.getpid(),
                             pidfile=pidfile_path(proc_name))
        pid = fork_with_signals_reset()
        if pid == 0:
            _become_dirty_arbiter(dirty, arbiter)
        self.pid = pid
        self.starts += 1
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
        if code == APP_LOAD_ERROR:
            self._remove_socket_dir()
            if self.starts == 1:
                # a wrong dirty_apps at start: stop, as a web app that cannot load does
                raise HaltServer("the dirty arbiter could not load its apps (setting dirty_apps)",
                                 APP_LOAD_ERROR)
            # a restart that cannot import them (code changed on disk): keep serving the web
            self.log.error("Dirty arbiter (pid:%s) could not load its apps; not restarting it",
                           pid)
            return False
        self.log.warning("Dirty arbiter (pid:%s) exited unexpectedly (status %s)", pid, code)
        return True

    def signal(self, sig):
        if sig == signal.SIGHUP and self.pid:
            # the master has just re-read its config: hand the dirty arbiter
            # the new dirty_* values before its HUP makes it use them
            self._pass_settings()
        super().signal(sig)

    def _pass_settings(self):
        cfg = self.arbiter.cfg
        problem = reload_problem(cfg)
        if problem:
            self.log.error("Dirty arbiter keeps its settings after the reload: %s", problem)
            return
        try:
            write_settings(self.socket_path, cfg)
        except OSError as exc:
            self.log.error("Dirty arbiter keeps its settings after the reload: "
                           "cannot pass them on: %s", exc)

    def stop(self, graceful=True):
        self.stopping = True
        if not self.pid:
            self._remove_socket_dir()
        super().stop(graceful)

    def _remove_socket_dir(self):
        if self.socket_dir:
            shutil.rmtree(self.socket_dir, ignore_errors=True)


def check_app_specs(specs):
    """Stop the master at start on a spec that cannot work: bad syntax, or no such module.

    The module is only found, not imported: importing it here would load the
    app's heavy imports into every web worker. The dirty arbiter imports it.
    """
    for spec in specs:
        try:
            import_path, _ = parse_dirty_app_spec(spec)
        except DirtyAppError as exc:
            raise HaltServer(exc.message, APP_LOAD_ERROR)
        module = import_path.partition(":")[0]
        try:
            found = importlib.util.find_spec(module) is not None
        except Exception as exc:  # a parent package that is missing or fails to import
            raise HaltServer(f"dirty app {spec!r}: cannot import {module}: {exc} "
                             "(setting dirty_apps)", APP_LOAD_ERROR)
        if not found:
            raise HaltServer(f"dirty app {spec!r}: no module named {module!r} "
                             "(setting dirty_apps)", APP_LOAD_ERROR)


def reload_problem(cfg):
    """Why a reloaded config cannot be handed to the running dirty arbiter, or None.

    Turning the dirty arbiter off or on needs a restart, as in upstream (where
    a HUP changes no dirty setting at all); a bad app spec must not stop a
    server that is serving.
    """
    if cfg.dirty_workers <= 0 or not cfg.dirty_apps:
        return ("dirty_workers is 0 or dirty_apps is empty; stopping the dirty arbiter "
                "takes a restart")
    try:
        check_app_specs(cfg.dirty_apps)
    except HaltServer as exc:
        return exc.reason
    return None


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
