"""Accept connections on the worker's listeners and account for them (cap, logs, shutdown)."""

from __future__ import annotations

import asyncio
import datetime
import socket
import sys
import time

from gunicorn.asgi.access import ResponseSummary, request_environ
from gunicorn.asgi.http_connection import HTTPConnection
from gunicorn.workers.acceptor import acceptor

# Connections accepted per listener readiness callback: 8 measured with a
# p99 near 4, with the fewer loop passes (CPU per request) of 16; 64 doubled p99.
ACCEPT_BATCH = 8
# Linux copies TCP_NODELAY from a listening socket to the sockets it accepts.
_NODELAY_INHERITED = sys.platform.startswith("linux")
_TCP_FAMILIES = (socket.AF_INET, socket.AF_INET6)


class ASGIServer:
    """Serves one ASGI application on a set of listening sockets in one event loop.

    Accepts with ``loop.add_reader`` on the shared listeners so that at
    ``worker_connections`` open connections this worker simply stops accepting
    (other workers take the load) without closing the listeners.
    """

    def __init__(self, app, cfg, log, protocol_class, worker=None, state=None,
                 ssl_context=None, http2=None, h2c_prior=False, h2c_upgrade=False):
        self.app = app
        self.cfg = cfg
        self.log = log
        self.protocol_class = protocol_class
        self.worker = worker
        self.state = state
        self.ssl_context = ssl_context
        # gunicorn-http2's plugin class when h2 is served (ALPN h2, h2c prior knowledge).
        self.http2 = http2
        self.h2c_prior = http2 is not None and h2c_prior and ssl_context is None
        self.h2c_upgrade = (http2 is not None and h2c_upgrade and ssl_context is None
                            and hasattr(http2, "upgrade_settings"))
        self._h2c_networks = None
        self._h2c_verdicts: dict = {}  # peer address -> may it speak h2c
        self.root_path = getattr(cfg, "root_path", "") or ""
        self.max_connections = getattr(cfg, "worker_connections", 1000) or 0
        # Read per request: taken from cfg once (a worker's settings never change).
        self.keepalive = getattr(cfg, "keepalive", 2)
        self.first_request_wait = getattr(cfg, "timeout", 30) or 30
        self.has_pre_request = worker is not None and _hook_is_set(cfg, "pre_request")
        # Only a user-set post_request hook or an access log needs the environ
        # (and each request's start time).
        self.reports_requests = (
            (worker is not None and _hook_is_set(cfg, "post_request")) or _log_wants_access(log))
        self.connections: set = set()
        self.tasks: set = set()
        self.closing = False
        self.requests_served = 0
        self._listeners: list = []
        self._accepting = False
        self._open = 0  # accepted sockets, including ones still in a TLS handshake
        self._loop = None

    # -- listening ---------------------------------------------------------------

    def start(self, listeners) -> None:
        self._loop = asyncio.get_running_loop()
        for listener in listeners:
            sock = getattr(listener, "sock", listener)
            sock.setblocking(False)
            tcp = sock.family in _TCP_FAMILIES
            # Where accepted sockets inherit TCP_NODELAY, set it once here
            # instead of once per connection.
            nodelay_inherited = tcp and _NODELAY_INHERITED and _no_delay(sock)
            self._listeners.append(
                (sock, acceptor(sock), tcp and not nodelay_inherited, _fixed_sockname(sock)))
        self._resume_accepting()

    def _resume_accepting(self) -> None:
        if self._accepting or self.closing:
            return
        self._accepting = True
        for sock, accept, set_nodelay, sockname in self._listeners:
            self._loop.add_reader(sock.fileno(), self._accept, accept, set_nodelay, sockname)

    def _pause_accepting(self) -> None:
        if not self._accepting:
            return
        self._accepting = False
        for sock, *_facts in self._listeners:
            try:
                self._loop.remove_reader(sock.fileno())
            except (ValueError, OSError):
                pass

    def _at_capacity(self) -> bool:
        return bool(self.max_connections) and self._open >= self.max_connections

    def _accept(self, accept, set_nodelay, sockname) -> None:
        # A small batch per readiness callback: connections accepted in one
        # batch all wait for the batch to end before their first read, and
        # the other workers share the same listeners.
        for _ in range(ACCEPT_BATCH):
            if self._at_capacity() or self.closing:
                self._pause_accepting()
                return
            try:
                conn, _addr = accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                # EMFILE and friends: back off briefly rather than spin.
                self.log.error("accept() failed: %s", exc)
                self._pause_accepting()
                self._loop.call_later(0.5, self._resume_accepting)
                return
            conn.setblocking(False)
            if set_nodelay:
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._open += 1
            if self.ssl_context is None:
                self._attach_plain(conn, sockname)
            else:
                self.spawn(self._attach(conn))

    def _attach_plain(self, conn, sockname) -> None:
        """Hand a plain TCP/Unix socket to the loop without a Task per connection.

        ``connect_accepted_socket`` makes the transport before its only await
        (for ``connection_made``), so one step runs it and a callback on that
        future finishes it: the cost of a Task (its steps and bookkeeping) saved.
        """
        protocol = HTTPConnection(self, sockname)
        setup = self._loop.connect_accepted_socket(lambda: protocol, conn)
        self._step_attach(setup, protocol, conn)

    def _step_attach(self, setup, protocol, conn) -> None:
        """Run ``setup`` to its next await, as a Task step would."""
        try:
            waiting = setup.send(None)
        except StopIteration:
            self._attached(protocol, conn)
            return
        except Exception as exc:
            self._attach_failed(conn, exc)
            return
        if waiting is None:  # a bare yield: run again on the next loop pass
            self._loop.call_soon(self._step_attach, setup, protocol, conn)
        else:
            # An asyncio future; resuming after it is done returns its result.
            waiting.add_done_callback(lambda _f: self._step_attach(setup, protocol, conn))

    def _attached(self, protocol, conn) -> None:
        if protocol._loop is None:
            # The transport was gone before connection_made: nothing will release it.
            conn.close()
            self._release()

    async def _attach(self, conn) -> None:
        try:
            # A client that stalls mid-handshake holds a connection slot: bounded
            # by the worker timeout, as a plain connection's first request is
            # (asyncio's own default is 60 s).
            await self._loop.connect_accepted_socket(
                lambda: HTTPConnection(self), conn, ssl=self.ssl_context,
                ssl_handshake_timeout=self.first_request_wait)
        except Exception as exc:  # a failed TLS handshake is the client's problem
            self._attach_failed(conn, exc)

    def _attach_failed(self, conn, exc) -> None:
        self.log.debug("connection setup failed: %s", exc)
        conn.close()
        self._release()

    def _release(self) -> None:
        self._open -= 1
        if not self._at_capacity():
            self._resume_accepting()

    # -- bookkeeping used by connections -----------------------------------------

    def spawn_cycle(self, cycle):
        """Run an HTTP cycle's app in a task; ``HTTPCycle.run`` removes it from ``tasks``."""
        task = self._loop.create_task(cycle.run(self.app))
        self.tasks.add(task)
        return task

    def spawn(self, coro):
        task = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    def connection_opened(self, conn) -> None:
        self.connections.add(conn)

    def connection_closed(self, conn) -> None:
        if conn in self.connections:
            self.connections.discard(conn)
            self._release()
        tasks = self.tasks
        if len(tasks) > 2 * len(self.connections) + 64:
            # A cycle task cancelled before it ever ran never reaches the end of HTTPCycle.run.
            for task in [t for t in tasks if t.done()]:
                tasks.discard(task)

    def h2c_allowed(self, peer) -> bool:
        """Whether ``peer`` may speak h2c: only peers in forwarded_allow_ips, unix ones always."""
        if not isinstance(peer, tuple):
            return True
        verdicts = self._h2c_verdicts
        verdict = verdicts.get(peer[0])
        if verdict is None:
            from gunicorn.wsgi.environ import is_trusted_peer

            if self._h2c_networks is None:
                networks = getattr(self.cfg, "forwarded_allow_networks", None)
                self._h2c_networks = list(networks()) if networks is not None else None
            allowed = getattr(self.cfg, "forwarded_allow_ips", None) or ()
            verdict = is_trusted_peer(peer, allowed, self._h2c_networks)
            # Asked per connection: parsing the address costs more than a lookup.
            if len(verdicts) >= 1024:
                verdicts.clear()
            verdicts[peer[0]] = verdict
        return verdict

    def pre_request(self, request) -> None:
        if self.worker is None:
            return
        try:
            self.cfg.pre_request(self.worker, request)
        except Exception:
            self.log.exception("Exception in pre_request hook")

    def request_done(self, cycle, peer, sockname) -> None:
        """Hooks, access log and max_requests accounting for a finished response."""
        if not self.reports_requests:
            self._count_request()
            return
        self.exchange_done(cycle.request, cycle.summary, cycle.started_at, peer, sockname)

    def exchange_done(self, request, summary, started_at, peer, sockname) -> None:
        """The same for any answered request head (a WebSocket handshake too)."""
        if not self.reports_requests:
            # Nobody reads it: skip building the environ (a hot path).
            self._count_request()
            return
        environ = request_environ(request, peer, sockname)
        elapsed = datetime.timedelta(seconds=time.monotonic() - started_at)
        self._after_request(request, environ, summary, elapsed)

    def _wants_environ(self) -> bool:
        return self.reports_requests

    def log_rejected(self, exc, status, peer, sockname) -> None:
        request = getattr(exc, "req", None)
        if request is None:
            return
        summary = ResponseSummary()
        summary.start(status, [])
        environ = request_environ(request, peer, sockname)
        self._after_request(request, environ, summary, datetime.timedelta(0), count=False)

    def _after_request(self, request, environ, summary, elapsed, count=True) -> None:
        worker = self.worker
        if worker is not None:
            try:
                self.cfg.post_request(worker, request, environ, summary)
            except Exception:
                self.log.exception("Exception in post_request hook")
        try:
            self.log.access(summary, request, environ, elapsed)
        except Exception:
            self.log.exception("Failed to write the access log")
        if count:
            self._count_request()

    def _count_request(self) -> None:
        self.requests_served += 1
        worker = self.worker
        if worker is None:
            return
        worker.nr += 1
        if worker.nr >= worker.max_requests and worker.alive:
            self.log.info("Autorestarting worker after current request.")
            worker.alive = False
            wake = getattr(worker, "wake", None)
            if wake is not None:
                wake()

    # -- shutdown ----------------------------------------------------------------

    def stop_accepting(self) -> None:
        self.closing = True
        self._pause_accepting()

    async def shutdown(self, timeout: float, tick=None) -> None:
        """Stop accepting, let in-flight requests finish for ``timeout`` s, then cut."""
        self.stop_accepting()
        for conn in list(self.connections):
            conn.shutdown()
        deadline = time.monotonic() + max(timeout, 0)
        while (self.connections or self._app_tasks()) and time.monotonic() < deadline:
            if tick is not None:
                tick()
            await asyncio.sleep(0.05)
        for conn in list(self.connections):
            conn.abort()
        pending = [t for t in self.tasks if not t.done()]
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=2.0)

    def _app_tasks(self):
        return [t for t in self.tasks if not t.done()]


def _no_delay(sock) -> bool:
    """Set TCP_NODELAY on a TCP listener; True when it was set.

    Responses are written whole: Nagle would only hold a last small segment
    back until the client's delayed ACK.
    """
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except OSError:
        return False
    return True


def _fixed_sockname(sock):
    """The local address every socket accepted on ``sock`` has, or None when it varies.

    A TCP listener bound to one address hands that address to all its
    connections; a wildcard one (0.0.0.0, ::) does not, nor (here) a Unix one.
    """
    if sock.family not in _TCP_FAMILIES:
        return None
    try:
        sockname = sock.getsockname()
    except OSError:
        return None
    if sockname[0] in ("0.0.0.0", "::"):
        return None
    return sockname


def _hook_is_set(cfg, name) -> bool:
    """Whether the hook ``name`` is the user's (the default does nothing: skip calling it)."""
    setting = getattr(cfg, "settings", {}).get(name)
    return setting is None or setting.value is not setting.default


def _log_wants_access(log) -> bool:
    if getattr(log, "access_log_enabled", True):
        return True
    # A Logger subclass (statsd) may do more in access() than write the line.
    from gunicorn.glogging import Logger

    return getattr(type(log), "access", None) is not Logger.access
