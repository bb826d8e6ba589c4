"""The master process: binds the listeners, forks and watches workers, handles signals.

Signal handlers only queue the signal and write a byte to a self-pipe; the
main loop wakes up, reaps children, and runs ``handle_<name>`` for each
queued signal. Nothing else ever runs inside a handler.
"""

import errno
import os
import random
import select
import signal
import sys
import threading
import time
import traceback

from gunicorn import SERVER_SOFTWARE, __version__, sock, systemd
from gunicorn import process as proc
from gunicorn.app.base import ApplicationState
from gunicorn.companions import CompanionSupervisor
from gunicorn.errors import AppImportError, ConfigError, HaltServer
from gunicorn.pidfile import Pidfile


def _signal_names():
    names = {}
    for name in dir(signal):
        if name.startswith("SIG") and not name.startswith("SIG_"):
            value = getattr(signal, name)
            if isinstance(value, int):
                # several names may share a number (CHLD/CLD): keep the first
                names.setdefault(value, name[3:].lower())
    return names


def _reload_failure(exc):
    """One line saying why a HUP could not load the new configuration."""
    if isinstance(exc, SystemExit):
        # (argparse has already said why on stderr)
        return f"the configuration exited with status {exc.code}"
    if isinstance(exc, (ConfigError, RuntimeError)):
        return str(exc)  # gunicorn's own message names the setting or the file
    return f"{type(exc).__name__}: {exc}"


def _apply_raw_env(cfg):
    for key, value in (cfg.env or {}).items():
        os.environ[key] = value


def _undo_raw_env(cfg):
    """Put back the environment variables ``cfg``'s ``raw_env`` set (or remove them)."""
    env_orig = getattr(cfg, "env_orig", None) or {}
    for key in cfg.env or {}:
        if key in env_orig:
            os.environ[key] = env_orig[key]
        else:
            os.environ.pop(key, None)


class _RunningConfig:
    """What a HUP may change before it fails, to put back as it was.

    ``restore`` never raises: what it cannot put back is returned, to be logged.
    """

    def __init__(self, arbiter):
        self.app_state = ApplicationState(arbiter.app)
        self.cfg = arbiter.cfg
        self.fields = {name: getattr(arbiter, name)
                       for name in ("worker_class", "address", "timeout", "proc_name")}
        self.num_workers = arbiter.num_workers
        # --spew installs a tracer as the config loads
        self.trace = sys.gettrace()
        self.thread_trace = threading.gettrace()

    def restore(self, arbiter):
        problems = []

        def attempt(step, *args):
            try:
                step(*args)
            except Exception as exc:
                problems.append(f"{getattr(step, '__name__', step)}: {exc}")

        failed = arbiter.cfg
        if failed is not self.cfg:
            attempt(_undo_raw_env, failed)  # the new config's setup() applied its own
        attempt(self.app_state.restore, arbiter.app)
        arbiter.cfg = self.cfg
        for name, value in self.fields.items():
            setattr(arbiter, name, value)
        if arbiter.num_workers != self.num_workers:
            # (a TTIN-raised count survives; the hook hears of the way back)
            attempt(setattr, arbiter, "num_workers", self.num_workers)
        attempt(_apply_raw_env, self.cfg)
        sys.settrace(self.trace)
        threading.settrace(self.thread_trace)
        log = arbiter.log
        if hasattr(log, "setup") and getattr(log, "cfg", self.cfg) is not self.cfg:
            # the new logging setup ran, or broke halfway: back to the old one
            attempt(log.setup, self.cfg)
        return problems


class Arbiter:
    """Keeps ``num_workers`` workers alive and serving on ``LISTENERS``."""

    # a worker exits with these when it cannot start; the master then stops
    # instead of forking replacements that would fail the same way
    WORKER_BOOT_ERROR = 3
    APP_LOAD_ERROR = 4

    START_CTX = {}

    LISTENERS = []
    WORKERS = {}
    PIPE = []

    # at most this many signals wait; more of the same burst are dropped
    SIG_QUEUE_LIMIT = 5
    SIG_QUEUE = []
    SIGNALS = [getattr(signal, f"SIG{name}")
               for name in "HUP QUIT INT TERM TTIN TTOU USR1 USR2 WINCH".split()]
    SIG_NAMES = _signal_names()

    def __init__(self, app):
        os.environ["SERVER_SOFTWARE"] = SERVER_SOFTWARE

        self._num_workers = None
        self._last_logged_active_worker_count = None
        self.log = None
        self.pid = os.getpid()
        self.setup(app)

        self.pidfile = None
        self.systemd = False
        self.worker_age = 0
        # Workers sent TERM or KILL by this master (gunicornc's show stats).
        self.workers_killed = 0
        self.reexec_pid = 0
        self.master_pid = 0
        self.master_name = "Master"
        self.dirty_arbiter_pid = 0
        self.stopping = False
        self.control = None  # the gunicornc socket (gunicorn.ctl)

        self.LISTENERS = []
        self.WORKERS = {}
        self.retiring = set()  # pids already sent SIGTERM by manage_workers
        self.overdue = set()  # pids the stop sent SIGKILL once graceful_timeout ran out
        self.PIPE = []
        self.SIG_QUEUE = []
        self.CHLD_SEEN = []  # one entry per SIGCHLD, logged (debug) by the main loop
        self.companion_supervisor = CompanionSupervisor(self)
        self.COMPANIONS = self.companion_supervisor.by_pid

        self.START_CTX = {"args": self._exec_args(), "cwd": proc.getcwd(), 0: sys.executable}

    @staticmethod
    def _exec_args():
        # the interpreter's own command line, so ``python -m gunicorn`` re-execs
        # as a module rather than as the path of ``gunicorn/__main__.py``
        original = getattr(sys, "orig_argv", None)
        if original:
            return [sys.executable] + list(original[1:])
        return [sys.executable] + sys.argv[:]

    # -- worker count, with the nworkers_changed hook -----------------------

    def _get_num_workers(self):
        return self._num_workers

    def _set_num_workers(self, value):
        old_value = self._num_workers
        self._num_workers = value
        self.cfg.nworkers_changed(self, value, old_value)

    num_workers = property(_get_num_workers, _set_num_workers)

    # -- configuration ------------------------------------------------------

    def setup(self, app):
        self.app = app
        self.cfg = app.cfg

        if self.log is None:
            self.log = self.cfg.logger_class(app.cfg)

        # a re-exec'ed master may have inherited files its parent rotated
        if "GUNICORN_FD" in os.environ:
            self.log.reopen_files()

        self.worker_class = self.cfg.worker_class
        self.address = self.cfg.address
        self.num_workers = self.cfg.workers
        self.timeout = self.cfg.timeout
        self.proc_name = self.cfg.proc_name

        self.log.debug("Current configuration:\n%s", self._describe_config())

        _apply_raw_env(self.cfg)

        if self.cfg.preload_app:
            self.app.wsgi()

    def _describe_config(self):
        settings = getattr(self.cfg, "settings", None) or {}
        # definition order (config, bind, workers... first), as upstream lists them
        return "\n".join(f"  {name}: {getattr(setting, 'value', setting)}"
                         for name, setting in settings.items())

    # -- start --------------------------------------------------------------

    def start(self):
        """Write the pid file, install signals, bind (or inherit) the listeners."""
        self.log.info("Starting gunicorn %s", __version__)

        if "GUNICORN_PID" in os.environ:
            # we are the new master of a USR2 upgrade, beside the old one
            self.master_pid = int(os.environ["GUNICORN_PID"])
            self.proc_name = f"{self.proc_name}.2"
            self.master_name = "Master.2"

        self.pid = os.getpid()
        if self.cfg.pidfile is not None:
            pidname = self.cfg.pidfile
            if self.master_pid != 0:
                pidname += ".2"
            self.pidfile = Pidfile(pidname)
            self.pidfile.create(self.pid)
        self.cfg.on_starting(self)

        self.init_signals()

        if not self.LISTENERS:
            self.LISTENERS = sock.create_sockets(self.cfg, self.log, self._inherited_fds())

        listeners_str = ",".join(str(listener) for listener in self.LISTENERS)
        self.log.debug("Arbiter booted")
        self.log.info("Listening at: %s (%s)", listeners_str, self.pid)
        self.log.info("Using worker: %s", self.cfg.worker_class_str)
        # unset afterwards: workers and apps must not speak for the service
        systemd.sd_notify("READY=1\nSTATUS=Gunicorn arbiter booted", self.log,
                          unset_environment=True)

        check_config = getattr(self.worker_class, "check_config", None)
        if check_config is not None:
            check_config(self.cfg, self.log)

        # Companions export what hooks and workers need (the dirty arbiter's
        # socket path) before when_ready, where upstream has it set already.
        try:
            self.prepare_companions()
        except HaltServer as inst:
            # (e.g. a bad dirty_apps spec: one reason line, the exit status it names)
            self.halt(reason=inst.reason, exit_status=inst.exit_status)
        self.cfg.when_ready(self)

    def _inherited_fds(self):
        """Listener fds handed to us by systemd or by a previous master, if any."""
        count = systemd.listen_fds()
        if count:
            self.systemd = True
            return list(range(systemd.SD_LISTEN_FDS_START,
                              systemd.SD_LISTEN_FDS_START + count))
        inherited = os.environ.pop("GUNICORN_FD", None)
        if inherited:
            return [int(fd) for fd in inherited.split(",") if fd.strip()]
        return None

    def init_signals(self):
        """Create the wake-up pipe and route every handled signal to the queue."""
        for fd in self.PIPE:
            os.close(fd)
        self.PIPE = os.pipe()
        for fd in self.PIPE:
            proc.set_non_blocking(fd)
            proc.close_on_exec(fd)
        self.log.close_on_exec()

        for sig in self.SIGNALS:
            signal.signal(sig, self.signal)
        signal.signal(signal.SIGCHLD, self.handle_chld)

    def signal(self, sig, frame):
        """Signal handler: queue the signal for the main loop and wake it up."""
        if len(self.SIG_QUEUE) < self.SIG_QUEUE_LIMIT:
            self.SIG_QUEUE.append(sig)
            self.wakeup()

    def handle_chld(self, sig, frame):
        """SIGCHLD handler: only note it and wake the main loop, which reaps."""
        if len(self.CHLD_SEEN) < self.SIG_QUEUE_LIMIT:
            self.CHLD_SEEN.append(sig)
        self.wakeup()

    handle_cld = handle_chld

    # -- main loop ----------------------------------------------------------

    def run(self):
        """Start, then supervise until a signal or an error stops the master."""
        self.start()
        proc._setproctitle(f"master [{self.proc_name}]")

        try:
            self.manage_workers()
            self.start_companions()
            # Imported only now (after the first fork): asyncio and the rest of
            # the control server stay out of the first workers' memory.
            from gunicorn.ctl.server import start_control_server

            self.control = start_control_server(self)

            while True:
                self.log_chld_seen()
                self.maybe_promote_master()
                self.reap_workers()

                sig = self.SIG_QUEUE.pop(0) if self.SIG_QUEUE else None
                if sig is None:
                    self.sleep()
                    self.log_chld_seen()
                    if self.control is not None:
                        self.control.run_pending()
                    self.reap_workers()
                    self.murder_workers()
                    self.manage_workers()
                    self.manage_companions()
                    self.log_backlog()
                    continue

                if sig not in self.SIG_NAMES:
                    self.log.info("Ignoring unknown signal: %s", sig)
                    continue

                signame = self.SIG_NAMES.get(sig)
                handler = getattr(self, f"handle_{signame}", None)
                if not handler:
                    self.log.error("Unhandled signal: %s", signame)
                    continue
                self.log.info("Handling signal: %s", signame)
                handler()
                self.wakeup()
        except (StopIteration, KeyboardInterrupt):
            self.halt()
        except HaltServer as inst:
            self.halt(reason=inst.reason, exit_status=inst.exit_status)
        except SystemExit:
            raise
        except Exception:
            self.log.error("Unhandled exception in main loop", exc_info=True)
            self.stop(False)
            self.stop_control()
            if self.pidfile is not None:
                self.pidfile.unlink()
            sys.exit(-1)

    # -- signal handlers, run by the main loop -------------------------------

    def handle_hup(self):
        """Reload the configuration and replace the workers gracefully."""
        self.log.info("Hang up: %s", self.master_name)
        self.reload()

    def handle_term(self):
        """Graceful stop."""
        raise StopIteration

    def handle_int(self):
        """Quick stop."""
        self.stop(False)
        raise StopIteration

    def handle_quit(self):
        """Quick stop."""
        self.stop(False)
        raise StopIteration

    def handle_ttin(self):
        """One more worker."""
        self.num_workers += 1
        self.manage_workers()

    def handle_ttou(self):
        """One worker fewer, never below one."""
        if self.num_workers <= 1:
            return
        self.num_workers -= 1
        self.manage_workers()

    def handle_usr1(self):
        """Reopen log files here and in every worker and companion."""
        self.log.reopen_files()
        self.kill_workers(signal.SIGUSR1)
        self.signal_companions(signal.SIGUSR1)

    def handle_usr2(self):
        """Start a new master from the current executable (binary upgrade)."""
        self.reexec()

    def handle_winch(self):
        """Daemon only: stop every worker, keep the master (upgrade rollback aid)."""
        if self.cfg.daemon:
            self.log.info("graceful stop of workers")
            self.num_workers = 0
            self.kill_workers(signal.SIGTERM)
        else:
            self.log.debug("SIGWINCH ignored. Not daemonized")

    # -- sleeping and waking --------------------------------------------------

    def wakeup(self):
        """Make ``sleep`` return now."""
        try:
            os.write(self.PIPE[1], b".")
        except (BlockingIOError, InterruptedError):
            # the pipe is already full of wake-ups
            pass
        except (IndexError, OSError):
            pass

    def sleep(self, timeout=1.0):
        """Wait up to ``timeout`` seconds for a signal, then drain the pipe."""
        try:
            ready, _, _ = select.select([self.PIPE[0]], [], [], timeout)
            if not ready:
                return
            while os.read(self.PIPE[0], 64):
                pass
        except OSError as e:
            if e.errno not in (errno.EAGAIN, errno.EINTR):
                raise
        except KeyboardInterrupt:
            sys.exit()

    # -- stopping -------------------------------------------------------------

    def halt(self, reason=None, exit_status=0):
        """Stop everything, run ``on_exit`` and leave with ``exit_status``."""
        self.stop()

        log_func = self.log.info if exit_status == 0 else self.log.error
        self.stop_control()
        log_func("Shutting down: %s", self.master_name)
        if reason is not None:
            log_func("Reason: %s", reason)

        if self.pidfile is not None:
            self.pidfile.unlink()
        self.cfg.on_exit(self)
        sys.exit(exit_status)

    def stop(self, graceful=True):
        """Close the listeners and stop the workers and companions.

        Graceful: SIGTERM, then ``graceful_timeout`` seconds to finish, then
        SIGKILL. Quick: the same with SIGQUIT. An INT or QUIT that arrives
        during a graceful stop turns it into a quick one.
        """
        self.stopping = True
        # sockets a new master or systemd still uses must stay on disk
        unlink = (self.reexec_pid == self.master_pid == 0
                  and not self.systemd and not self.cfg.reuse_port)
        sock.close_sockets(self.LISTENERS, unlink)
        self.LISTENERS = []

        limit = time.monotonic() + self.cfg.graceful_timeout
        self.kill_workers(signal.SIGTERM if graceful else signal.SIGQUIT)
        self.stop_companions(graceful)

        while (self.WORKERS or self.COMPANIONS) and time.monotonic() < limit:
            if graceful and self._quick_stop_requested():
                graceful = False
                self.log.info("Quick shutdown requested during graceful stop")
                self.kill_workers(signal.SIGQUIT)
                self.stop_companions(False)
            self.sleep(0.1)
            self.reap_workers()

        # these SIGKILLs are ours: reaping them is no sign of the OOM killer
        self.overdue = set(self.WORKERS)
        self.kill_workers(signal.SIGKILL)
        self.companion_supervisor.kill()
        # collect the killed children so their exit hooks run and no zombie stays
        deadline = time.monotonic() + 2.0
        while (self.WORKERS or self.COMPANIONS) and time.monotonic() < deadline:
            self.reap_workers()
            if self.WORKERS or self.COMPANIONS:
                time.sleep(0.02)

    def _quick_stop_requested(self):
        quick = (signal.SIGINT, signal.SIGQUIT)
        if not any(sig in quick for sig in self.SIG_QUEUE):
            return False
        self.SIG_QUEUE[:] = [sig for sig in self.SIG_QUEUE if sig not in quick]
        return True

    # -- reload and re-exec ----------------------------------------------------

    def reexec(self):
        """Fork and exec a new master that inherits the listeners (USR2)."""
        if self.reexec_pid != 0:
            self.log.warning("USR2 signal ignored. Child exists.")
            return
        if self.master_pid != 0:
            self.log.warning("USR2 signal ignored. Parent exists.")
            return

        master_pid = os.getpid()
        self.reexec_pid = os.fork()
        if self.reexec_pid != 0:
            return

        try:
            self.cfg.pre_exec(self)

            environ = dict(getattr(self.cfg, "env_orig", None) or os.environ)
            environ["GUNICORN_PID"] = str(master_pid)
            if self.systemd:
                environ.pop("GUNICORN_FD", None)
                environ["LISTEN_PID"] = str(os.getpid())
                environ["LISTEN_FDS"] = str(len(self.LISTENERS))
            else:
                environ["GUNICORN_FD"] = ",".join(
                    str(listener.fileno()) for listener in self.LISTENERS)

            os.chdir(self.START_CTX["cwd"])
            os.execvpe(self.START_CTX[0], self.START_CTX["args"], environ)
        except BaseException:
            # never let this child fall back into the master's loop
            self.log.error("Re-exec failed:\n%s", traceback.format_exc())
        finally:
            os._exit(1)

    def reload(self):
        """Re-read the configuration, start new workers, retire the old ones.

        A configuration that fails to load (a typo in the config file, a refused
        value, a logging setup that breaks) leaves everything as it was: one
        error line, and the server goes on with its settings and workers.
        Upstream's master exits there and orphans its workers.
        """
        old_address = self.cfg.address
        before = None
        try:
            before = _RunningConfig(self)
            # undo the previous ``raw_env`` before the new config sets its own
            _undo_raw_env(self.cfg)
            self.app.reload()
            self.setup(self.app)
            # the logging settings may have changed too
            if hasattr(self.log, "setup"):
                self.log.setup(self.cfg)
        except (Exception, SystemExit) as exc:
            problems = before.restore(self) if before is not None else []
            self.log.error("Reload failed, keeping the running configuration: %s",
                           _reload_failure(exc))
            for problem in problems:
                self.log.error("Reload failed, and this could not be put back: %s", problem)
            return
        self.log.reopen_files()

        if old_address != self.cfg.address:
            for listener in self.LISTENERS:
                listener.close()
            self.LISTENERS = sock.create_sockets(self.cfg, self.log)
            listeners_str = ",".join(str(listener) for listener in self.LISTENERS)
            self.log.info("Listening at: %s", listeners_str)

        try:
            self.cfg.on_reload(self)
        except Exception:
            self.log.exception("Exception in on_reload hook")

        if self.pidfile is not None:
            self.pidfile.unlink()
        if self.cfg.pidfile is not None:
            self.pidfile = Pidfile(self.cfg.pidfile)
            self.pidfile.create(self.pid)

        proc._setproctitle(f"master [{self.proc_name}]")

        # new workers first, so no request finds nobody listening
        for _ in range(self.cfg.workers):
            self.spawn_worker()
        self.manage_workers()
        self.signal_companions(signal.SIGHUP)

    def maybe_promote_master(self):
        """A re-exec'ed master whose parent is gone becomes the master."""
        if self.master_pid == 0:
            return
        if self.master_pid != os.getppid():
            self.log.info("Master has been promoted.")
            self.master_name = "Master"
            self.master_pid = 0
            self.proc_name = self.cfg.proc_name
            os.environ.pop("GUNICORN_PID", None)
            if self.pidfile is not None:
                self.pidfile.rename(self.cfg.pidfile)
            proc._setproctitle(f"master [{self.proc_name}]")

    def log_chld_seen(self):
        """One debug line per SIGCHLD the main loop woke for (the handler cannot log)."""
        while self.CHLD_SEEN:
            self.CHLD_SEEN.pop()
            self.log.debug("Handling signal: cld")

    # -- workers ---------------------------------------------------------------

    def murder_workers(self):
        """Abort workers whose heartbeat is older than ``timeout``; kill them next time."""
        if not self.timeout:
            return
        for pid, worker in list(self.WORKERS.items()):
            try:
                if time.monotonic() - worker.tmp.last_update() <= self.timeout:
                    continue
            except (OSError, ValueError):
                continue

            if not worker.aborted:
                self.log.critical("WORKER TIMEOUT (pid:%s)", pid)
                worker.aborted = True
                self.kill_worker(pid, signal.SIGABRT)
            else:
                self.kill_worker(pid, signal.SIGKILL)

    def reap_workers(self):
        """Collect every exited child; stop the master if a worker could not boot."""
        try:
            while True:
                wpid, status = os.waitpid(-1, os.WNOHANG)
                if not wpid:
                    break
                if wpid in self.COMPANIONS:
                    self.companion_supervisor.reaped(wpid, status, self.stopping)
                elif self.reexec_pid == wpid:
                    self.reexec_pid = 0
                elif wpid in self.WORKERS:
                    self._reap_worker(wpid, status)
                else:
                    self.log.debug("Reaped unknown child (pid:%s)", wpid)
        except ChildProcessError:
            pass

    def _reap_worker(self, wpid, status):
        if os.WIFEXITED(status):
            exitcode = os.WEXITSTATUS(status)
            if exitcode != 0:
                self.log.error("Worker (pid:%s) exited with code %s.", wpid, exitcode)
            if not self.stopping:
                if exitcode == self.WORKER_BOOT_ERROR:
                    raise HaltServer("Worker failed to boot.", self.WORKER_BOOT_ERROR)
                if exitcode == self.APP_LOAD_ERROR:
                    raise HaltServer("App failed to load.", self.APP_LOAD_ERROR)
        elif os.WIFSIGNALED(status):
            sig = os.WTERMSIG(status)
            try:
                sig_name = signal.Signals(sig).name
            except ValueError:
                sig_name = f"code {sig}"
            msg = f"Worker (pid:{wpid}) was sent {sig_name}!"
            if sig == signal.SIGKILL and wpid in self.overdue:
                self.log.warning("%s Still running after graceful_timeout (%ss).", msg,
                                 self.cfg.graceful_timeout)
            elif sig == signal.SIGTERM:
                self.log.info(msg)
            elif sig == signal.SIGKILL:
                # the kernel's OOM killer is the usual sender
                self.log.error(msg + " Perhaps out of memory?")
            else:
                # a crash (SIGSEGV) or a stray signal: the worker is replaced
                self.log.warning(msg)

        worker = self.WORKERS.pop(wpid, None)
        if worker is None:
            return
        worker.tmp.close()
        self.cfg.child_exit(self, worker)

    def log_backlog(self):
        """The ``gunicorn.backlog`` histogram, when ``enable_backlog_metric`` is on.

        Name and type are upstream 27.0.1's (``gunicorn.backlog:N|h``), which
        dashboards built on it query.
        """
        if not getattr(self.cfg, "enable_backlog_metric", False):
            return
        counts = [lnr.get_backlog() for lnr in self.LISTENERS if hasattr(lnr, "get_backlog")]
        counts = [n for n in counts if n is not None]
        if counts:
            backlog = sum(counts)
            self.log.debug("socket backlog: %s", backlog,
                           extra={"metric": "gunicorn.backlog", "value": backlog,
                                  "mtype": "histogram"})

    def manage_workers(self):
        """Spawn or retire workers (oldest first) until there are ``num_workers``."""
        if len(self.WORKERS) < self.num_workers:
            self.spawn_workers()

        # a retired worker is told once: a second SIGTERM that lands while its
        # interpreter is finalising (handlers back to default) kills it mid-exit
        self.retiring &= self.WORKERS.keys()
        workers = sorted(((pid, w) for pid, w in self.WORKERS.items() if pid not in self.retiring),
                         key=lambda item: item[1].age)
        while len(workers) > self.num_workers:
            pid, _ = workers.pop(0)
            self.retiring.add(pid)
            self.kill_worker(pid, signal.SIGTERM)

        active = len(workers)
        if self._last_logged_active_worker_count != active:
            self._last_logged_active_worker_count = active
            self.log.debug("%s workers", active,
                           extra={"metric": "gunicorn.workers", "value": active,
                                  "mtype": "gauge"})

    def spawn_worker(self):
        """Fork one worker; returns its pid in the master, never returns in the child."""
        self.worker_age += 1
        worker = self.worker_class(self.worker_age, self.pid, self.LISTENERS, self.app,
                                   self.timeout / 2.0, self.cfg, self.log)
        self.cfg.pre_fork(self, worker)
        pid = os.fork()
        if pid != 0:
            worker.pid = pid
            self.WORKERS[pid] = worker
            return pid

        self._run_worker(worker)

    def _run_worker(self, worker):
        """Body of a freshly forked worker; always ends in SystemExit."""
        # another worker's heartbeat file is none of this worker's business
        for sibling in self.WORKERS.values():
            sibling.tmp.close()
        self.WORKERS = {}
        self.SIG_QUEUE = []

        worker.pid = os.getpid()
        try:
            proc._setproctitle(f"worker [{self.proc_name}]")
            self.log.info("Booting worker with pid: %s", worker.pid)
            if self.cfg.reuse_port:
                worker.sockets = list(self.LISTENERS) + sock.worker_reuse_port_sockets(
                    self.cfg, self.log)
            self.cfg.post_fork(self, worker)
            worker.init_process()
            sys.exit(0)
        except SystemExit:
            raise
        except AppImportError as e:
            self.log.debug("Exception while loading the application", exc_info=True)
            print(f"{e}", file=sys.stderr)
            sys.stderr.flush()
            sys.exit(self.APP_LOAD_ERROR)
        except BaseException as e:
            self.log.exception("Exception in worker process")
            # the one-line cause also reaches the terminal when the error log is a file
            if str(e):
                print(f"{e}", file=sys.stderr)
                sys.stderr.flush()
            if not worker.booted:
                sys.exit(self.WORKER_BOOT_ERROR)
            sys.exit(-1)
        finally:
            self.log.info("Worker exiting (pid: %s)", worker.pid)
            try:
                worker.tmp.close()
                self.cfg.worker_exit(self, worker)
            except Exception:
                self.log.warning("Exception during worker exit:\n%s", traceback.format_exc())

    def spawn_workers(self):
        """Fork workers up to ``num_workers``, staggered to spread their start."""
        for _ in range(self.num_workers - len(self.WORKERS)):
            self.spawn_worker()
            time.sleep(0.1 * random.random())

    def kill_workers(self, sig):
        for pid in list(self.WORKERS):
            self.kill_worker(pid, sig)

    def kill_worker(self, pid, sig):
        """Send ``sig`` to a worker; forget it if it is already gone."""
        try:
            os.kill(pid, sig)
        except OSError as e:
            if e.errno != errno.ESRCH:
                raise
            worker = self.WORKERS.pop(pid, None)
            if worker is not None:
                try:
                    worker.tmp.close()
                    self.cfg.worker_exit(self, worker)
                except OSError:
                    pass
        else:
            if sig in (signal.SIGTERM, signal.SIGKILL):
                self.workers_killed += 1

    def stop_control(self):
        """Close the control socket (gunicorn.ctl) and remove its file."""
        control, self.control = self.control, None
        if control is not None:
            control.stop()

    # -- companions (see gunicorn.companions) ---------------------------------------

    @property
    def companions(self):
        return self.companion_supervisor.companions

    def prepare_companions(self):
        self.companion_supervisor.prepare()

    def start_companions(self):
        self.companion_supervisor.start_all()

    def manage_companions(self):
        if not self.stopping:
            self.companion_supervisor.restart_due()

    def signal_companions(self, sig):
        self.companion_supervisor.signal(sig)

    def stop_companions(self, graceful=True):
        self.companion_supervisor.stop(graceful)
