"""A dirty worker process: loads its apps, answers the arbiter's requests on a thread pool."""

import asyncio
import inspect
import os
import selectors
import signal
import socket
import sys
import threading
import traceback
from concurrent.futures import ThreadPoolExecutor

from gunicorn import process as proc
from gunicorn.dirty import wire
from gunicorn.dirty.app import APP_LOAD_ERROR, load_dirty_app
from gunicorn.dirty.errors import DirtyAppError, DirtyAppNotFoundError, DirtyError
from gunicorn.dirty.flow import PAUSED_KEY
from gunicorn.dirty.process_signals import reset_inherited_signals

# the worker's notice to the arbiter that its apps are loaded (request id 0 is never a call)
BOOT_NOTICE_ID = 0

# how often a paused stream checks that the worker is not quitting meanwhile
PAUSE_CHECK_INTERVAL = 0.5


class DirtyWorker:
    """One dirty worker; the object hooks receive (``dirty_post_fork``, ``dirty_worker_init``...).

    The arbiter keeps this object too (for ``dirty_worker_exit``): there
    ``pid`` is the child's pid and ``apps`` stays empty.
    """

    def __init__(self, age, ppid, app_paths, cfg, log):
        self.age = age
        self.ppid = ppid
        self.pid = None
        self.app_paths = list(app_paths)
        self.apps = {}
        self.cfg = cfg
        self.log = log
        self.alive = True
        self.booted = False
        self.aborted = False
        self.quick = False
        self._sock = None
        self._send_lock = threading.Lock()
        self._running = set()     # request ids taken and not yet answered
        self._streaming = {}      # request id -> its gate (set: may send; clear: paused)
        self._cancelled = set()   # of those, the ones whose client left
        self._wake_r = self._wake_w = -1

    def __str__(self):
        return f"<DirtyWorker {self.pid}>"

    # -- process life ------------------------------------------------------------

    def run(self, arbiter, sock):
        """The body of the forked child; returns its exit status."""
        self.pid = os.getpid()
        self._sock = sock
        self._init_signals()
        proc._setproctitle(f"dirty-worker [{self.cfg.proc_name}]")
        self.cfg.dirty_post_fork(arbiter, self)
        if not self._load_apps():
            return APP_LOAD_ERROR
        self.cfg.dirty_worker_init(self)
        self.booted = True
        self._send(wire.STATUS, BOOT_NOTICE_ID, {"booted": True, "apps": list(self.apps)})
        try:
            self._serve()
        finally:
            self._close_apps()
            self.log.info("Dirty worker %s exiting", self.pid)
        return 0

    def _init_signals(self):
        reset_inherited_signals()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        signal.set_wakeup_fd(self._wake_w)
        signal.signal(signal.SIGTERM, self._handle_term)
        signal.signal(signal.SIGQUIT, self._handle_quit)
        signal.signal(signal.SIGINT, self._handle_quit)
        signal.signal(signal.SIGABRT, self._handle_abort)
        signal.signal(signal.SIGUSR1, self._handle_usr1)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        signal.signal(signal.SIGTTIN, signal.SIG_IGN)
        signal.signal(signal.SIGTTOU, signal.SIG_IGN)

    def _handle_term(self, sig, frame):
        # graceful: calls in flight finish, no new ones are read
        self.alive = False

    def _handle_quit(self, sig, frame):
        self.alive = False
        self.quick = True

    def _handle_abort(self, sig, frame):
        self.alive = False
        self.aborted = True
        sys.exit(1)

    def _handle_usr1(self, sig, frame):
        self.log.reopen_files()

    def _load_apps(self):
        for import_path in self.app_paths:
            try:
                app = load_dirty_app(import_path)
                app.init()
            except Exception:
                self.log.exception("Dirty worker %s failed to load %s", self.pid, import_path)
                self._close_apps()
                return False
            self.apps[import_path] = app
            self.log.info("Initialized dirty app: %s", import_path)
        return True

    def _close_apps(self):
        for import_path, app in list(self.apps.items()):
            try:
                app.close()
            except Exception:
                self.log.exception("Dirty app %s failed to close", import_path)
        self.apps.clear()

    # -- serving -----------------------------------------------------------------

    def _serve(self):
        reader = wire.MessageReader()
        pool = ThreadPoolExecutor(max(1, self.cfg.dirty_threads),
                                  thread_name_prefix="dirty-call")
        selector = selectors.DefaultSelector()
        selector.register(self._sock, selectors.EVENT_READ, "arbiter")
        selector.register(self._wake_r, selectors.EVENT_READ, "signal")
        try:
            # After a graceful TERM the link is still read while calls run: a
            # paused stream needs the arbiter's "resume" (or "stop") to finish.
            while self.alive or (self._running and not self.quick):
                if os.getppid() != self.ppid:
                    self.log.info("Dirty arbiter gone: worker %s exiting", self.pid)
                    self.quick = True
                    break
                for key, _ in selector.select(1.0):
                    if key.data == "signal":
                        self._drain_wakeups()
                        continue
                    data = self._sock.recv(256 * 1024)
                    if not data:
                        # the arbiter closed our link (timeout, or it is gone): stop now
                        self.alive = False
                        self.quick = True
                        break
                    reader.feed(data)
                    for msg in reader:
                        self._on_message(pool, msg)
        except (OSError, DirtyError):
            self.log.exception("Dirty worker %s lost its arbiter link", self.pid)
            self.quick = True
        finally:
            selector.close()
            # graceful: let the calls in flight finish; quick: leave them
            pool.shutdown(wait=not self.quick, cancel_futures=self.quick)

    def _on_message(self, pool, msg):
        if msg.type == wire.REQUEST:
            self._running.add(msg.request_id)
            pool.submit(self._answer, msg)
            return
        gate = self._streaming.get(msg.request_id)
        if gate is None:
            return  # about a call that has ended meanwhile
        if msg.type == wire.END:
            # the arbiter's "stop": this stream's client is gone
            self._cancelled.add(msg.request_id)
            gate.set()
        elif msg.type == wire.STATUS and PAUSED_KEY in msg.payload:
            # flow control (flow.py): the client is behind, or has caught up
            if msg.payload[PAUSED_KEY]:
                gate.clear()
            else:
                gate.set()

    def _drain_wakeups(self):
        try:
            while os.read(self._wake_r, 512):
                pass
        except OSError:
            pass

    def _send(self, msg_type, request_id, payload=None):
        data = wire.encode_message(msg_type, request_id, payload)
        with self._send_lock:
            try:
                self._sock.sendall(data)
            except OSError:
                # the arbiter dropped this link (it timed the call out): the reply is moot
                pass

    def _answer(self, msg):
        try:
            self._run_call(msg)
        finally:
            self._running.discard(msg.request_id)
            if not self.alive:
                # a graceful stop waits for the last call: wake the select at once
                try:
                    os.write(self._wake_w, b"\0")
                except OSError:
                    pass

    def _run_call(self, msg):
        payload = msg.payload
        import_path = payload.get("app_path")
        action = payload.get("action")
        app = self.apps.get(import_path)
        if app is None:
            self._send(wire.ERROR, msg.request_id,
                       {"error": DirtyAppNotFoundError(import_path).to_dict()})
            return
        try:
            result = app(action, *(payload.get("args") or ()), **(payload.get("kwargs") or {}))
            if inspect.iscoroutine(result):
                result = asyncio.run(result)
            if inspect.isasyncgen(result):
                self._stream(msg.request_id, _iterate_async(result))
            elif inspect.isgenerator(result):
                self._stream(msg.request_id, result)
            else:
                self._send(wire.RESPONSE, msg.request_id, {"result": result})
        except Exception as exc:
            # the operator sees what failed where it failed, as upstream logs it
            text = exc.message if isinstance(exc, DirtyError) else exc   # without its details
            self.log.error("Error executing %s.%s: %s", import_path, action, text, exc_info=True)
            self._send(wire.ERROR, msg.request_id, {"error": _app_error(exc, import_path, action)})

    def _stream(self, request_id, items):
        gate = threading.Event()
        gate.set()
        self._streaming[request_id] = gate
        try:
            for item in items:
                if request_id in self._cancelled:
                    break
                self._send(wire.CHUNK, request_id, {"data": item})
                # paused: hold the generator here, before it makes the next item
                if not self._wait_for_gate(gate) or request_id in self._cancelled:
                    break
        finally:
            self._streaming.pop(request_id, None)
            self._cancelled.discard(request_id)
            # a stream left early still runs the generator's finally blocks now
            items.close()
        self._send(wire.END, request_id)

    def _wait_for_gate(self, gate):
        """Wait while the stream is paused; False if the worker is quitting meanwhile."""
        while not gate.wait(PAUSE_CHECK_INTERVAL):
            if self.quick or os.getppid() != self.ppid:
                return False
        return True


def _iterate_async(agen):
    """An async generator walked from this (pool) thread on a loop of its own."""
    loop = asyncio.new_event_loop()
    try:
        while True:
            try:
                yield loop.run_until_complete(agen.__anext__())
            except StopAsyncIteration:
                return
    finally:
        loop.run_until_complete(agen.aclose())
        loop.close()


def _app_error(exc, import_path, action):
    """The ERROR payload for an exception raised by app code (or by encoding its answer).

    Callers catch ``DirtyAppError`` for anything an action did wrong, as upstream
    promises: a ``DirtyError`` raised inside the action (a stash miss, a result
    with no TLV encoding) is wrapped too; one that already is a ``DirtyAppError``
    (an unknown action) keeps its class and gains the app, action and traceback.
    """
    tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    if isinstance(exc, DirtyAppError):
        payload = exc.to_dict()
        details = payload["details"] = dict(payload.get("details") or {})
        for key, value in (("app_path", import_path), ("action", action), ("traceback", tb)):
            if details.get(key) is None:
                details[key] = value
        return payload
    # the message is the exception's own text, as upstream sends it; the type is in the traceback
    err = DirtyAppError(str(exc) or type(exc).__name__, app_path=import_path, action=action,
                        traceback=tb)
    return err.to_dict()


def run_worker(worker, arbiter, sock):
    """Run ``worker`` in the forked child and leave with its status (never returns)."""
    status = 1
    try:
        status = worker.run(arbiter, sock)
    except SystemExit as exc:
        status = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        worker.log.exception("Dirty worker %s crashed", os.getpid())
    finally:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        os._exit(status)
