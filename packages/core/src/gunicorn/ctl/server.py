"""The control socket server: a unix socket served by an asyncio thread in the master.

The thread only parses requests and runs command handlers (in a small pool,
so one slow command does not hold up the others). Anything that must happen
in the master's main loop, such as forking workers, is queued with
``call_in_master``; the arbiter runs the queue from its loop
(``run_pending``) after being woken through its self-pipe.
"""

import asyncio
import concurrent.futures
import os
import queue
import socket
import stat
import threading
import time

from gunicorn.ctl.commands import CommandError, default_table
from gunicorn.ctl.framing import (
    FrameDecoder,
    FramingError,
    encode_frame,
    error_reply,
    ok_reply,
    request_words,
)

# how long a command waits for the master's main loop to run its part
MASTER_TIMEOUT = 10.0
# how long the start-up check waits for a server that may already own the path
PROBE_TIMEOUT = 0.5
READ_SIZE = 65536
# how often a master that found the socket taken retries once it is promoted
RETRY_INTERVAL = 1.0


class ControlSocketBusy(Exception):
    """The socket path belongs to something else (a live server, or not a socket)."""


def in_master(arbiter, fn, timeout=MASTER_TIMEOUT):
    """Run ``fn()`` in the master's main loop and return its result.

    Without a running control server (unit tests, or already in the master
    thread) ``fn`` runs right here.
    """
    control = getattr(arbiter, "control", None)
    call = getattr(control, "call_in_master", None)
    if call is None:
        return fn()
    return call(fn, timeout)


def _answers(path):
    """Does a server accept connections on the unix socket ``path``?"""
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    probe.settimeout(PROBE_TIMEOUT)
    try:
        probe.connect(path)
        return True
    except OSError:
        return False
    finally:
        probe.close()


def bind_control_socket(path, mode):
    """A listening unix socket at ``path`` with permission bits ``mode``.

    A stale socket file (nobody answers) is replaced; a live one, or a path
    that is not a socket, raises ``ControlSocketBusy`` so that two masters
    never silently take each other's socket.
    """
    parent = os.path.dirname(path)
    if parent:
        os.makedirs(parent, mode=0o700, exist_ok=True)
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        info = None
    if info is not None:
        if not stat.S_ISSOCK(info.st_mode):
            raise ControlSocketBusy(f"{path} exists and is not a socket")
        if _answers(path):
            raise ControlSocketBusy(f"another server answers on {path}")
        os.unlink(path)

    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    # umask at bind time, so the socket is never reachable with wider bits
    old_umask = os.umask(0o777 & ~mode)
    try:
        sock.bind(path)
    except BaseException:
        sock.close()
        raise
    finally:
        os.umask(old_umask)
    try:
        os.chmod(path, mode)
        sock.listen(16)
    except BaseException:
        sock.close()
        os.unlink(path)
        raise
    return sock


class ControlServer:
    """The control socket of one master: bind, serve in a thread, clean up."""

    def __init__(self, arbiter, path, mode=0o600, table=None):
        self.arbiter = arbiter
        self.path = os.path.abspath(path)
        self.mode = mode
        self.table = table if table is not None else default_table(arbiter.log)
        self.started_at = None
        self.reload_count = 0
        # web workers that left, for show stats' workers_killed when the arbiter
        # keeps no count of its own; those ``worker kill`` signalled are not
        # counted (upstream counts only the master's own TERM/KILL)
        self.workers_gone = 0
        self.killed_by_command = set()
        self._cfg = getattr(arbiter, "cfg", None)
        self._owner_pid = os.getpid()
        self._sock = None
        self._identity = None
        self._loop = None
        self._thread = None
        self._executor = None
        self._pending = queue.SimpleQueue()
        self._first_heartbeat = {}
        self.busy = False  # the path belonged to a live server at the last try
        self._retry_at = 0.0

    @property
    def running(self):
        return self._identity is not None

    @property
    def log(self):
        return self.arbiter.log

    # -- lifecycle ------------------------------------------------------------

    def start(self, quiet=False):
        """Bind and start serving; False (and a warning) when that is not possible."""
        try:
            self._sock = bind_control_socket(self.path, self.mode)
        except ControlSocketBusy as exc:
            self.busy = True
            if not quiet:
                self.log.warning("Control socket not started: %s", exc)
            return False
        except OSError as exc:
            self.log.warning("Control socket not started at %s: %s", self.path, exc)
            return False
        self.busy = False
        info = os.stat(self.path)
        self._identity = (info.st_dev, info.st_ino)
        self.started_at = time.time()
        self._note_heartbeats()
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=4, thread_name_prefix="gunicorn-ctl-cmd")
        ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, args=(ready,),
                                        name="gunicorn-ctl", daemon=True)
        _RUNNING.add(self)
        self._thread.start()
        if not ready.wait(5.0) or self._loop is None:
            self.log.warning("Control socket at %s did not start", self.path)
            self.stop()
            return False
        self.log.info("Control socket listening at %s", self.path)
        return True

    def stop(self):
        """Stop serving and remove the socket file (only if it is still ours)."""
        _RUNNING.discard(self)
        loop = self._loop
        if loop is not None and self._thread is not None and self._thread.is_alive():
            try:
                loop.call_soon_threadsafe(loop.stop)
            except RuntimeError:  # loop already closed
                pass
            self._thread.join(2.0)
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        self._unlink_if_ours()
        self._fail_pending()

    def _unlink_if_ours(self):
        if self._identity is None:
            return
        try:
            info = os.lstat(self.path)
            if (info.st_dev, info.st_ino) == self._identity:
                os.unlink(self.path)
        except OSError:
            pass
        self._identity = None

    def _forget_after_fork(self):
        """In a freshly forked child (worker, companion): drop the master's socket."""
        self._sock_close_quietly()
        self._identity = None
        self._loop = None
        self._thread = None
        self._pending = queue.SimpleQueue()

    def _sock_close_quietly(self):
        if self._sock is not None:
            try:
                self._sock.close()
            except OSError:
                pass
            self._sock = None

    # -- the master's side ------------------------------------------------------

    def call_in_master(self, fn, timeout=MASTER_TIMEOUT):
        """Queue ``fn`` for the master's main loop, wake it, wait for the result."""
        if threading.current_thread() is threading.main_thread():
            return fn()
        if getattr(self.arbiter, "stopping", False):
            raise CommandError("the master is shutting down")
        future = concurrent.futures.Future()
        self._pending.put((fn, future))
        self.arbiter.wakeup()
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise CommandError("the master did not answer in time")

    def run_pending(self):
        """Called by the arbiter's main loop: run what the control thread queued."""
        if os.getpid() != self._owner_pid:
            return
        if not self.running:
            self._retry_after_upgrade()
        self._note_reload()
        self._note_heartbeats()
        while True:
            try:
                fn, future = self._pending.get_nowait()
            except queue.Empty:
                return
            if not future.set_running_or_notify_cancel():
                continue
            try:
                result = fn()
            except Exception as exc:
                future.set_exception(exc)
            except BaseException:
                # SystemExit in a worker forked by ``fn``, or HaltServer in the
                # master: let it through, after answering if we are the master
                if os.getpid() == self._owner_pid:
                    future.set_exception(CommandError("the master is stopping"))
                raise
            else:
                future.set_result(result)
            # workers ``fn`` just forked: note their first heartbeat before they boot
            self._note_heartbeats()

    def _retry_after_upgrade(self):
        # the new master of a USR2 upgrade found the old master's socket: once
        # promoted (the old master is gone and has removed it), take the path over
        if not self.busy or getattr(self.arbiter, "master_pid", 0):
            return
        now = time.monotonic()
        if now < self._retry_at:
            return
        self._retry_at = now + RETRY_INTERVAL
        self.start(quiet=True)

    def _fail_pending(self):
        while True:
            try:
                _, future = self._pending.get_nowait()
            except queue.Empty:
                return
            if future.set_running_or_notify_cancel():
                future.set_exception(CommandError("the master is shutting down"))

    def _note_reload(self):
        # a reload (HUP) gives the arbiter a fresh Config object
        cfg = getattr(self.arbiter, "cfg", None)
        if cfg is not self._cfg:
            self._cfg = cfg
            self.reload_count += 1

    def _note_heartbeats(self):
        workers = getattr(self.arbiter, "WORKERS", {})
        for pid in [pid for pid in self._first_heartbeat if pid not in workers]:
            del self._first_heartbeat[pid]
            if pid in self.killed_by_command:
                self.killed_by_command.discard(pid)
            else:
                self.workers_gone += 1
        for pid, worker in workers.items():
            if pid not in self._first_heartbeat:
                try:
                    self._first_heartbeat[pid] = worker.tmp.last_update()
                except (AttributeError, OSError, ValueError):
                    pass

    def heartbeat_seen(self, pid, worker):
        """Has the worker touched its heartbeat since the master first saw it (booted)?"""
        first = self._first_heartbeat.get(pid)
        if first is None:
            return False
        try:
            return worker.tmp.last_update() > first
        except (AttributeError, OSError, ValueError):
            return False

    # -- the control thread ---------------------------------------------------------

    def _serve(self, ready):
        loop = asyncio.new_event_loop()
        try:
            asyncio.set_event_loop(loop)
            server = loop.run_until_complete(
                asyncio.start_unix_server(self._client, sock=self._sock))
            self._loop = loop
        except Exception:
            self.log.exception("Control socket server failed to start")
            ready.set()
            loop.close()
            return
        ready.set()
        try:
            loop.run_forever()
        finally:
            server.close()
            tasks = [task for task in asyncio.all_tasks(loop) if not task.done()]
            for task in tasks:
                task.cancel()
            if tasks:
                loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
            loop.close()

    async def _client(self, reader, writer):
        decoder = FrameDecoder()
        loop = asyncio.get_running_loop()
        try:
            while True:
                data = await reader.read(READ_SIZE)
                if not data:
                    return
                try:
                    messages = decoder.feed(data)
                except FramingError as exc:
                    writer.write(encode_frame(error_reply(None, str(exc))))
                    await writer.drain()
                    return
                for message in messages:
                    reply = await loop.run_in_executor(self._executor, self.handle, message)
                    writer.write(self._encode(reply))
                    await writer.drain()
        except (ConnectionError, OSError):
            return
        finally:
            writer.close()

    def _encode(self, reply):
        try:
            return encode_frame(reply)
        except (FramingError, TypeError, ValueError) as exc:
            return encode_frame(error_reply(reply.get("id"), f"reply not sendable: {exc}"))

    def handle(self, message):
        """The reply to one request message (runs in the command pool)."""
        request_id = message.get("id")
        try:
            words = request_words(message)
        except ValueError as exc:
            return error_reply(request_id, str(exc))
        try:
            return ok_reply(request_id, self.table.run(self.arbiter, words))
        except CommandError as exc:
            return error_reply(request_id, str(exc))
        except Exception as exc:
            self.log.exception("Control command %r failed", " ".join(words))
            return error_reply(request_id, f"{type(exc).__name__}: {exc}")


# servers alive in this process, so a forked child can let go of them
_RUNNING = set()


def _after_fork_in_child():
    for server in list(_RUNNING):
        server._forget_after_fork()
    _RUNNING.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def start_control_server(arbiter):
    """The running ``ControlServer`` for ``arbiter``, or None (disabled, or it failed)."""
    cfg = arbiter.cfg
    if getattr(cfg, "control_socket_disable", False):
        return None
    path = getattr(cfg, "control_socket", None)
    if not path:
        return None
    mode = getattr(cfg, "control_socket_mode", 0o600)
    try:
        server = ControlServer(arbiter, os.path.expanduser(path), mode)
    except Exception:
        arbiter.log.warning("Control socket not started", exc_info=True)
        return None
    upgrading = bool(getattr(arbiter, "master_pid", 0))
    if server.start(quiet=upgrading):
        return server
    if server.busy and upgrading:
        # USR2 upgrade: the old master still serves the socket; retry once promoted
        arbiter.log.info("Control socket %s is the old master's; taking it over "
                         "once promoted", server.path)
        return server
    return None


__all__ = ["ControlServer", "ControlSocketBusy", "bind_control_socket", "in_master",
           "start_control_server"]
