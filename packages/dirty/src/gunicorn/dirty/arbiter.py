"""The dirty arbiter process: its socket, its dirty workers, the stash, and its signals."""

import asyncio
import os
import signal
import socket
import time

from gunicorn import process as proc
from gunicorn.dirty import wire
from gunicorn.dirty.app import APP_LOAD_ERROR
from gunicorn.dirty.calls import CallRelay, ClientLink
from gunicorn.dirty.errors import DirtyConnectionError, DirtyError, DirtyProtocolError
from gunicorn.dirty.pidfile import remove_pidfile, write_pidfile
from gunicorn.dirty.process_signals import (
    ARBITER_SIGNALS,
    fork_with_signals_reset,
    reset_inherited_signals,
)
from gunicorn.dirty.reload_settings import discard_settings, take_settings
from gunicorn.dirty.routing import (
    apps_for_new_worker,
    minimum_workers,
    pick_workers_to_remove,
    plan_apps,
)
from gunicorn.dirty.stash_store import StashStore
from gunicorn.dirty.worker import BOOT_NOTICE_ID, DirtyWorker, run_worker

# a worker that dies before it booted is replaced only this much later,
# so an app that cannot load does not make the arbiter fork in a tight loop
RESPAWN_DELAY = 1.0

# how often the arbiter looks for its master (it exits when the master is gone)
MASTER_CHECK_INTERVAL = 1.0

# a quick stop gives the workers this long before SIGKILL
QUICK_STOP_TIMEOUT = 2.0

# A reaped worker's last replies (a stream's final chunks, its END) may still
# be unread in its link: the link is read to its EOF, which the exit brings,
# or for this long at most (a process the app forked may hold the worker's end).
LINK_DRAIN_GRACE = 1.0


class WorkerLink:
    """The arbiter's view of one dirty worker: its pid, apps, socket and calls in flight."""

    def __init__(self, worker, sock):
        self.worker = worker
        self.pid = worker.pid
        self.age = worker.age
        self.apps = list(worker.app_paths)
        self.sock = sock
        self.started = time.monotonic()
        self.booted = False
        self.last_picked = 0
        self.retiring = False   # we told it to stop (or killed it)
        self.retired_at = None  # loop time of the graceful stop (bounds its paused streams)
        self.lost = False       # its link closed: it is on its way out
        self.calls = {}
        self.reader = None
        self.writer = None

    @property
    def stopping(self):
        """No new calls for this worker."""
        return self.retiring or self.lost

    def send_signal(self, sig):
        try:
            os.kill(self.pid, sig)
        except ProcessLookupError:
            pass

    def close(self):
        if self.writer is not None:
            self.writer.close()
        else:
            self.sock.close()


class DirtyArbiter:
    """Runs in its own process, forked by the master (see ``DirtyCompanion``).

    ``run()`` serves until TERM/QUIT/INT or until the master is gone, and
    returns the exit status. Hooks receive this object as ``arbiter``.
    """

    def __init__(self, cfg, socket_path, log, master_pid=None, pidfile=None):
        self.cfg = cfg
        self.socket_path = socket_path
        self.log = log
        self.pidfile = pidfile       # upstream's well-known path (``pidfile.py``), or None
        self.master_pid = master_pid if master_pid is not None else os.getppid()
        self.pid = None
        self.num_workers = cfg.dirty_workers
        self.plans = []
        self.app_paths = set()
        self.min_workers = 1
        self.workers = {}            # pid -> WorkerLink
        self.relay = CallRelay(self)
        self.stash = None
        self.stopping = False
        self.graceful = True
        self.orphaned = False      # the master died: nobody else will clean up
        # upstream's names for what hooks may read: the master's pid, "still serving"
        self.ppid = self.master_pid
        self.loop = None
        self._age = 0
        self._server = None
        self._listener = None        # bound in run(), served by _server once the loop runs
        self._client_socks = set()
        self._draining = set()     # links of reaped workers, read to their end
        self._clients = set()
        self._wake = None
        self._spawn_lock = None
        self._respawn_not_before = 0.0

    @property
    def alive(self):
        return not self.stopping

    # -- process life ------------------------------------------------------------

    def run(self):
        self.pid = os.getpid()
        reset_inherited_signals()
        proc._setproctitle(f"dirty-arbiter [{self.cfg.proc_name}]")
        self.log.info("Dirty arbiter starting (pid: %s)", self.pid)
        if self.pidfile and not write_pidfile(self.pidfile, self.pid):
            self.log.warning("Dirty arbiter pid file %s not written: it is not a plain "
                             "file of this user", self.pidfile)
        try:
            return self._run()
        finally:
            if self.pidfile:
                remove_pidfile(self.pidfile, self.pid)

    def _run(self):
        self.cfg.on_dirty_starting(self)
        # listen before importing the apps' modules (a heavy import takes seconds):
        # the web workers' first calls connect and wait in the backlog meanwhile,
        # instead of failing because the socket is not there yet
        try:
            self._listener = self._bind()
        except OSError:
            self._listener = None    # tried again, and reported, once the apps are checked
        try:
            self._use_apps(plan_apps(self.cfg.dirty_apps))
        except DirtyError as exc:
            if self._listener is not None:
                self._listener.close()
                self._unlink_socket()
            self.log.error("Dirty arbiter cannot load its apps (setting dirty_apps): %s",
                           exc.message)
            return APP_LOAD_ERROR
        self.stash = StashStore()
        self._ensure_app_stashes()
        asyncio.run(self._main())
        if self.orphaned:
            discard_settings(self.socket_path)
            try:
                os.rmdir(os.path.dirname(self.socket_path))
            except OSError:
                pass
        self.log.info("Dirty arbiter exiting (pid: %s)", self.pid)
        return 0

    def _ensure_app_stashes(self):
        # tables the apps declare in ``stashes`` exist before any call (upstream's docs)
        for plan in self.plans:
            for table in plan.stashes:
                self.stash.apply({"op": wire.STASH_ENSURE, "table": table})

    def _use_apps(self, plans):
        self.plans = plans
        self.app_paths = {plan.import_path for plan in plans}
        self.min_workers = minimum_workers(plans)
        if self.num_workers < self.min_workers:
            self.log.warning("dirty_workers=%s is fewer than the %s the apps' worker "
                             "counts ask for", self.num_workers, self.min_workers)

    async def _main(self):
        self.loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._spawn_lock = asyncio.Lock()
        for sig, name in ARBITER_SIGNALS.items():
            self.loop.add_signal_handler(sig, self._on_signal, sig, name)
        if self._listener is None:
            self._listener = self._bind()
        self._server = await asyncio.start_unix_server(self._client_connected,
                                                       sock=self._listener)
        self.log.info("Dirty arbiter listening on %s", self.socket_path)
        watchdog = self.loop.create_task(self._watch_master())
        try:
            while not self.stopping:
                await self._adjust_workers()
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), 1.0)
                except asyncio.TimeoutError:
                    pass
        finally:
            watchdog.cancel()
        await self._shutdown()

    def _bind(self):
        self._unlink_socket()
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.bind(self.socket_path)
            sock.listen(socket.SOMAXCONN)
        except OSError:
            sock.close()
            raise
        return sock

    def _unlink_socket(self):
        try:
            os.unlink(self.socket_path)
        except FileNotFoundError:
            pass

    async def _watch_master(self):
        while True:
            await asyncio.sleep(MASTER_CHECK_INTERVAL)
            if os.getppid() != self.master_pid:
                self.log.warning("Master (pid:%s) is gone: dirty arbiter stopping",
                                 self.master_pid)
                self.orphaned = True
                self._begin_stop(graceful=False)
                return

    def _begin_stop(self, graceful):
        if self.stopping:
            if self.graceful and not graceful:
                self.graceful = False
                self._signal_workers(signal.SIGQUIT)
            return
        self.stopping = True
        self.graceful = graceful
        self._wake.set()

    async def _shutdown(self):
        self._server.close()
        self._unlink_socket()
        graceful = self.graceful
        for link in self.workers.values():
            link.retiring = True
        self._signal_workers(signal.SIGTERM if graceful else signal.SIGQUIT)
        timeout = self.cfg.dirty_graceful_timeout if graceful else QUICK_STOP_TIMEOUT
        limit = time.monotonic() + timeout
        while self.workers and time.monotonic() < limit:
            if graceful and not self.graceful:
                graceful = False
                limit = min(limit, time.monotonic() + QUICK_STOP_TIMEOUT)
            await asyncio.sleep(0.05)
            self._reap()
        self._signal_workers(signal.SIGKILL)
        limit = time.monotonic() + 2.0
        while self.workers and time.monotonic() < limit:
            await asyncio.sleep(0.02)
            self._reap()
        # the last replies of workers that exited on their own reach their clients
        limit = time.monotonic() + LINK_DRAIN_GRACE
        while self._draining and time.monotonic() < limit:
            await asyncio.sleep(0.02)
        self.relay.fail_all("Dirty arbiter is shutting down")
        for link in list(self.workers.values()):
            link.close()
        for client in list(self._clients):
            client.writer.close()
        # let each client's task see its connection end before the loop closes
        for _ in range(20):
            if not self._clients:
                break
            await asyncio.sleep(0.01)

    def _signal_workers(self, sig):
        for link in list(self.workers.values()):
            link.send_signal(sig)

    # -- signals -----------------------------------------------------------------

    def _on_signal(self, sig, name):
        # TTIN, TTOU and HUP log what they do (upstream's lines, which operators grep)
        if name not in ("reap", "add_worker", "remove_worker", "reload"):
            self.log.info("Dirty arbiter handling signal: %s",
                          signal.Signals(sig).name[3:].lower())
        getattr(self, f"_signal_{name}")()

    def _signal_graceful_stop(self):
        self._begin_stop(graceful=True)

    def _signal_quick_stop(self):
        self._begin_stop(graceful=False)

    def _signal_reload(self):
        if not self.stopping:
            self.log.info("Reloading dirty workers")
        self.reload()

    def _signal_reopen_logs(self):
        self.log.reopen_files()
        self._signal_workers(signal.SIGUSR1)

    def _signal_add_worker(self):
        if self.stopping:
            return
        self.num_workers += 1
        self.log.info("SIGTTIN: Increasing dirty workers to %s", self.num_workers)
        self._wake.set()

    def _signal_remove_worker(self):
        if self.num_workers <= self.min_workers:
            # the line upstream's docs quote
            self.log.warning("SIGTTOU: Cannot decrease below %s workers (required by app specs)",
                             self.min_workers)
            return
        self.num_workers -= 1
        self.log.info("SIGTTOU: Decreasing dirty workers to %s", self.num_workers)
        self._wake.set()

    def _signal_reap(self):
        self._reap()

    # -- workers -----------------------------------------------------------------

    def active_workers(self):
        """The workers that take new calls, oldest first."""
        return sorted((w for w in self.workers.values() if not w.stopping),
                      key=lambda w: w.age)

    def reload(self):
        """HUP: fresh workers take over; the old ones finish their calls and leave.

        A HUP the master forwards comes with the settings it has just re-read
        (``reload_settings``): the fresh workers start with those.
        """
        if self.stopping:
            return
        try:
            settings = take_settings(self.socket_path)
        except ValueError as exc:
            self.log.error("Dirty arbiter keeps its settings: %s", exc)
            settings = None
        if settings:
            self.apply_settings(settings)
        for link in self.active_workers():
            self.retire(link)
        self._wake.set()

    def apply_settings(self, settings):
        """Take new ``dirty_*`` values (a dict, see ``reload_settings.RELOADABLE``).

        All or nothing: apps that cannot be imported or a value the config
        refuses leave every setting as it was. ``dirty_workers`` replaces the
        count TTIN/TTOU changed, as a master HUP resets ``workers``. Calls in
        flight keep their worker, which finishes them; calls still waiting for
        an app that is gone now fail.
        """
        old = {name: getattr(self.cfg, name) for name in settings}
        try:
            plans = plan_apps(settings.get("dirty_apps", self.cfg.dirty_apps))
            for name, value in settings.items():
                self.cfg.set(name, value)
        except Exception as exc:
            for name, value in old.items():
                self.cfg.set(name, value)
            message = exc.message if isinstance(exc, DirtyError) else str(exc)
            self.log.error("Dirty arbiter keeps its settings: the new ones do not load: %s",
                           message)
            return
        changed = [name for name in settings if getattr(self.cfg, name) != old[name]]
        for name in changed:
            self.log.info("Dirty arbiter: %s is now %r (was %r)", name,
                          getattr(self.cfg, name), old[name])
        self.num_workers = self.cfg.dirty_workers
        self._use_apps(plans)
        if self.stash is not None:
            self._ensure_app_stashes()
        self.relay.drop_unconfigured()

    def retire(self, link):
        link.retiring = True
        link.retired_at = self.loop.time()
        link.send_signal(signal.SIGTERM)
        self.relay.worker_retiring(link)

    def kill_worker(self, link, why="was killed after a call timed out"):
        """Drop ``link`` at once: SIGKILL, close the link; reaping replaces it."""
        link.retiring = True
        link.send_signal(signal.SIGKILL)
        self.relay.worker_lost(link, why)
        link.close()

    async def _adjust_workers(self):
        async with self._spawn_lock:
            if self.stopping:
                return
            active = self.active_workers()
            missing = self.num_workers - len(active)
            if missing < 0:
                for link in pick_workers_to_remove(active, -missing, self.plans):
                    self.retire(link)
                return
            if missing and time.monotonic() < self._respawn_not_before:
                return
            for _ in range(missing):
                if self.stopping:
                    return
                if not apps_for_new_worker(self.plans, self.active_workers()):
                    # every app is limited and has its N workers: an extra process
                    # would hold nothing (upstream starts none either)
                    return
                await self._spawn()

    async def _spawn(self):
        apps = apps_for_new_worker(self.plans, self.active_workers())
        self._age += 1
        worker = DirtyWorker(self._age, self.pid, apps, self.cfg, self.log)
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        pid = fork_with_signals_reset()
        if pid == 0:
            self._become_worker(worker, ours, theirs)
        theirs.close()
        worker.pid = pid
        link = WorkerLink(worker, ours)
        self.workers[pid] = link
        self.log.info("Spawned dirty worker (pid: %s) with apps: %s", pid, apps)
        link.reader, link.writer = await asyncio.open_unix_connection(sock=ours)
        self.loop.create_task(self._read_worker(link))
        return link

    def _become_worker(self, worker, ours, theirs):
        """In the forked child: let go of the arbiter's sockets, then be the worker."""
        try:
            ours.close()
            fds = {s.fileno() for s in (self._server.sockets if self._server else ())}
            fds |= {link.sock.fileno() for link in (*self.workers.values(), *self._draining)}
            fds |= {s.fileno() for s in self._client_socks}
            for fd in fds:
                if fd >= 0:
                    try:
                        os.close(fd)
                    except OSError:
                        pass
        finally:
            run_worker(worker, self, theirs)

    async def _read_worker(self, link):
        try:
            while True:
                msg = await wire.read_message_async(link.reader)
                if msg.type == wire.STATUS and msg.request_id == BOOT_NOTICE_ID:
                    link.booted = True
                    self.relay.dispatch()
                    continue
                self.relay.from_worker(link, msg)
        except (DirtyError, OSError):
            pass
        except Exception:
            self.log.exception("Dirty arbiter: lost track of worker %s", link.pid)
            self.kill_worker(link, "was killed after an arbiter error")
        # gone from routing at once; a replacement need not wait for the reaping,
        # unless it never booted (its apps may not load: do not fork in a loop)
        link.lost = True
        self._draining.discard(link)
        self.relay.worker_lost(link, "exited")
        if not link.booted and not link.retiring:
            self._respawn_not_before = time.monotonic() + RESPAWN_DELAY
            self.relay.worker_failed_to_boot()
        link.close()
        if self._wake is not None:
            self._wake.set()

    def _reap(self):
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if not pid:
                return
            link = self.workers.pop(pid, None)
            if link is not None:
                self._worker_exited(link, status)

    def _worker_exited(self, link, status):
        if not link.lost:
            # its replies may still be in the link: let _read_worker reach the EOF
            self._draining.add(link)
            self.loop.call_later(LINK_DRAIN_GRACE, self._drop_exited_link, link)
        code = os.waitstatus_to_exitcode(status)
        if link.retiring:
            self.log.info("Dirty worker exited (pid:%s)", link.pid)
        else:
            self.log.warning("Dirty worker (pid:%s) died unexpectedly (%s); replacing it",
                             link.pid, _describe_exit(code))
            if not link.booted or code == APP_LOAD_ERROR:
                self._respawn_not_before = time.monotonic() + RESPAWN_DELAY
        try:
            self.cfg.dirty_worker_exit(self, link.worker)
        except Exception:
            self.log.exception("dirty_worker_exit hook failed")
        if self._wake is not None:
            self._wake.set()

    def _drop_exited_link(self, link):
        self._draining.discard(link)
        if not link.lost:   # no EOF: something else holds the worker's end open
            self.relay.worker_lost(link, "exited")
            link.close()

    # -- clients -----------------------------------------------------------------

    async def _client_connected(self, reader, writer):
        sock = writer.get_extra_info("socket")
        if sock is not None:
            self._client_socks.add(sock)
        client = ClientLink(writer)
        self._clients.add(client)
        try:
            while not client.closed:
                msg = await wire.read_message_async(reader)
                await self._dispatch(client, msg)
                await writer.drain()
        except DirtyProtocolError as exc:
            self.log.warning("Dirty arbiter: bad message from a client: %s", exc)
            client.send_error(0, exc)
        except (DirtyConnectionError, OSError):
            pass
        except asyncio.CancelledError:
            # the loop is closing; ending quietly keeps asyncio from logging the cancel
            pass
        except Exception:
            self.log.exception("Dirty arbiter: error serving a client; closing its connection")
        finally:
            client.closed = True
            self.relay.client_gone(client)
            self._client_socks.discard(sock)
            self._clients.discard(client)
            writer.close()

    async def _dispatch(self, client, msg):
        if msg.type == wire.REQUEST:
            self.relay.start(client, msg)
        elif msg.type == wire.END:
            self.relay.stop(client, msg.request_id)
        elif msg.type == wire.STASH:
            try:
                result = self.stash.apply(msg.payload)
            except DirtyError as exc:
                client.send_error(msg.request_id, exc)
            else:
                client.send(wire.RESPONSE, msg.request_id, {"result": result})
        elif msg.type == wire.STATUS:
            client.send(wire.RESPONSE, msg.request_id, {"result": self.status()})
        elif msg.type == wire.MANAGE:
            try:
                result = await self.manage(msg.payload)
            except DirtyError as exc:
                client.send_error(msg.request_id, exc)
            else:
                client.send(wire.RESPONSE, msg.request_id, {"result": result})
        else:
            client.send_error(msg.request_id, DirtyProtocolError(
                f"the dirty arbiter does not take {msg.type_name} messages"))

    def status(self):
        """The STATUS reply: this arbiter, its serving workers, and where each app runs."""
        now = time.monotonic()
        workers = self.active_workers()
        return {
            "pid": self.pid,
            "target_workers": self.num_workers,
            "min_workers": self.min_workers,
            "workers": [{"pid": w.pid, "age": w.age, "apps": list(w.apps), "booted": w.booted,
                         "in_flight": len(w.calls), "uptime": round(now - w.started, 3)}
                        for w in workers],
            "apps": [{"import_path": plan.import_path, "worker_count": plan.limit,
                      "current_workers": sum(1 for w in workers if plan.import_path in w.apps),
                      "worker_pids": [w.pid for w in workers if plan.import_path in w.apps]}
                     for plan in self.plans],
        }

    async def manage(self, payload):
        """MANAGE ``{op, count}``: add or remove dirty workers (``dirty add/remove``)."""
        op = payload.get("op")
        count = payload.get("count", 1)
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise DirtyError(f"count must be an integer >= 1, got {count!r}")
        if self.stopping:
            raise DirtyError("the dirty arbiter is stopping")
        before = len(self.active_workers())
        if op == wire.MANAGE_ADD:
            self.num_workers += count
            # an add is an order: it does not wait out a crash-loop delay
            self._respawn_not_before = 0.0
            await self._adjust_workers()
            return {"success": True, "operation": "add", "requested": count,
                    "spawned": len(self.active_workers()) - before,
                    "total_workers": len(self.active_workers()),
                    "target_workers": self.num_workers}
        if op == wire.MANAGE_REMOVE:
            removable = max(0, self.num_workers - self.min_workers)
            removed = min(count, removable)
            self.num_workers -= removed
            await self._adjust_workers()
            reply = {"success": True, "operation": "remove", "requested": count,
                     "removed": removed, "total_workers": len(self.active_workers()),
                     "target_workers": self.num_workers}
            if removed < count:
                reply["reason"] = (f"the apps need at least {self.min_workers} "
                                   "dirty worker(s)")
            return reply
        raise DirtyError(f"unknown manage op {op!r} (1 add, 2 remove)")


def _describe_exit(code):
    if code < 0:
        try:
            return f"signal {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"exit code {code}"
