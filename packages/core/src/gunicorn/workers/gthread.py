"""``ThreadWorker`` (``-k gthread``): a poller thread for sockets, a thread pool for requests.

The main thread accepts, reads request heads with non-blocking reads and
keeps idle keep-alive connections in a one-shot poller.  A connection goes
to a pool thread only once a whole request head has arrived, so clients that
trickle their headers (slowloris) hold a connection slot, never a thread.
The pool thread serves that request (and any pipelined behind it), then
hands the connection back by re-arming it in the poller.
"""

import errno
import os
import queue
import socket
import ssl
import threading
import time
from collections import deque
from concurrent import futures
from datetime import datetime

from gunicorn.http.error_response import log_tls_failure
from gunicorn.http.errors import NoMoreData, ParseError
from gunicorn.http.events import NEED_DATA, Request
from gunicorn.sock import close_after_tls_failure
from gunicorn.workers.acceptor import acceptor
from gunicorn.workers.base import Worker
from gunicorn.workers.connection_threads import ConnectionThreads
from gunicorn.workers.http2_modes import h2c_modes, load_http2_plugin, wants_http2
from gunicorn.workers.readiness import make_poller, readable_now
from gunicorn.workers.thread_exit import abandon_busy_threads_at_exit
from gunicorn.workers.threaded_client import (
    FIRST_BYTE_SECONDS,
    HEAD_SECONDS,
    IO_SECONDS,
    KERNEL_TIMEOUTS,
    ThreadedClient,
    bound_socket_waits,
)
from gunicorn.wsgi.serve import ServedConnection, client_gone_message

# accept() found nobody (a sibling worker won the race) or the client already left.
_ACCEPT_RETRY = (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK, errno.EINTR)
# Out of descriptors or memory: back off instead of spinning on a ready listener.
_ACCEPT_EXHAUSTED = (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM)

RECV_SIZE = 65536
# During a graceful stop, a request head already under way gets this long.
STOP_HEAD_SECONDS = 2.0
# During a graceful stop, an idle connection (kept alive, or accepted with no
# byte yet) stays open this long: a request already on its way is answered,
# with "Connection: close", instead of being cut off by our close.
STOP_IDLE_SECONDS = 0.5
# Pause after accept() failed for lack of descriptors or memory.
ACCEPT_BACKOFF_SECONDS = 0.5

_STOP = object()
_DONTWAIT = getattr(socket, "MSG_DONTWAIT", 0)


class ThreadWorker(Worker):
    """``--threads N`` requests at a time per process, up to ``worker_connections`` sockets."""

    wsgi_multithread = True
    # During a graceful stop, idle connections close from this moment on.
    _idle_grace_until = 0.0

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        cfg = self.cfg
        self.worker_connections = cfg.worker_connections
        self.max_keepalived = cfg.worker_connections - cfg.threads
        self.tpool = None
        self.poller = None
        self.nr_conns = 0
        self.clients = {}
        self._queue = queue.SimpleQueue()
        # Connections pool threads closed (or handed back, when the poller
        # cannot be re-armed from a thread); the main thread settles them.
        self._closed = deque()
        self._returned = deque()
        self._accepting = False
        self._accept_backoff_until = 0.0
        self._stopping = False
        self._quitting = False
        # Pool threads wake the main thread only when it waits on them.
        self._wake_on_close = False
        self._listener_fds = {}
        self._acceptors = {}
        self._pool_threads = set()
        self._tls_contexts = None
        self._is_ssl = cfg.is_ssl
        keepalive = cfg.keepalive or 0
        timeout = cfg.timeout or 0
        self._keepalive = keepalive
        self._first_byte_seconds = max(float(keepalive), FIRST_BYTE_SECONDS)
        self._head_seconds = float(timeout) if timeout > 0 else HEAD_SECONDS
        self._io_seconds = float(timeout) if timeout > 0 else IO_SECONDS
        # Half the keep-alive time, so idle connections close within 1.5x of it.
        tick = min(1.0, keepalive / 2.0) if keepalive > 0 else 1.0
        if self.timeout:
            tick = min(tick, self.timeout)
        self._tick = max(tick, 0.05)
        # The gunicorn-http2 plugin, only when h2 is enabled: with HTTP/1.1
        # alone none of the HTTP/2 paths below is ever entered.
        self._h2 = None
        self._h2c_prior = False
        self._h2_threads = None
        if wants_http2(cfg):
            self._enable_h2(cfg)

    def _enable_h2(self, cfg):
        self._h2 = load_http2_plugin()
        self._h2c_prior, h2c_upgrade = h2c_modes(cfg, self._is_ssl)
        # Returning HTTP/2 connections (and h2c prefaces) are told apart here,
        # so the HTTP/1 readable path stays as it is.
        self._on_readable = self._on_readable_h2
        if h2c_upgrade:
            # Pool threads look at each request for Upgrade: h2c only in this mode.
            self._serve = self._serve_or_upgrade
        # An HTTP/2 connection with streams in flight keeps a thread for its
        # socket I/O until it is idle again; its streams' app calls run on the
        # plugin's --threads stream threads.  Those I/O threads come from here,
        # not from the request pool, so busy HTTP/2 connections never leave
        # HTTP/1.1 requests waiting.  At most --threads of them: one per busy
        # connection would have hundreds of threads fight the main thread for
        # the GIL (late heartbeats, missed deadlines); a connection past the cap
        # has no stream in flight, so waiting for a thread holds nothing up.
        # Idle ones end after a while.
        self._h2_threads = ConnectionThreads(cfg.threads, "h2-connection")

    @classmethod
    def check_config(cls, cfg, log):
        if cfg.worker_connections - cfg.threads <= 0 and cfg.keepalive:
            log.warning("No keepalived connections can be handled. "
                        "Check the number of worker connections and threads.")

    def init_process(self):
        self.tpool = self.get_thread_pool()
        self.poller = make_poller()
        super().init_process()

    def get_thread_pool(self):
        """The executor whose threads serve requests; override to customise it."""
        return futures.ThreadPoolExecutor(max_workers=self.cfg.threads)

    # -- signals -----------------------------------------------------------
    def handle_exit(self, sig, frame):
        """TERM: stop accepting, finish in-flight requests, then leave."""
        self.alive = False
        self._wake()

    def handle_quit(self, sig, frame):
        """QUIT/INT: leave now; queued requests are dropped, running ones abandoned."""
        self._quitting = True
        for pool in (self.tpool, self._h2_threads):
            if pool is not None:
                pool.shutdown(wait=False)
        super().handle_quit(sig, frame)

    def _wake(self):
        pipe = self.PIPE
        if pipe:
            try:
                os.write(pipe[1], b".")
            except OSError:
                pass

    # -- the main loop -----------------------------------------------------
    def run(self):
        poller = self.poller
        for sock in self.sockets:
            sock.setblocking(False)
            self._listener_fds[sock.fileno()] = sock
            self._acceptors[id(sock)] = acceptor(sock)
        if self.PIPE:
            poller.add_source(self.PIPE[0])
        self._set_accepting(True)
        for _ in range(self.cfg.threads):
            self.tpool.submit(self._pool_thread)
        try:
            self._serve_until_stopped()
            self._drain()
        finally:
            self._stop_pool()
            # Past graceful_timeout a request still running is abandoned.
            abandon_busy_threads_at_exit(list(self._pool_threads))

    def _serve_until_stopped(self):
        poller = self.poller
        clients = self.clients
        listeners = self._listener_fds
        on_readable = self._on_readable
        tick = self._tick
        now = time.monotonic()
        next_tick = now
        while self.alive:
            if now >= next_tick:
                next_tick = now + tick
                self._housekeeping(now)
                if not self.alive:
                    break
            for fd in poller.poll(next_tick - now):
                client = clients.get(fd)
                if client is not None:
                    on_readable(client)
                elif fd in listeners:
                    if self._accepting:
                        self._accept(listeners[fd])
                else:
                    self._drain_pipe()
            if self._closed:
                self._settle_closed()
            if self._returned:
                self._settle_returned()
            now = time.monotonic()
            if not self._accepting and self.nr_conns < self.worker_connections \
                    and now >= self._accept_backoff_until:
                self._set_accepting(True)

    def _housekeeping(self, now):
        self.notify()
        if not self.is_parent_alive():
            self.alive = False
            return
        self._close_expired(now)

    def is_parent_alive(self):
        # The master died and we were re-parented: nobody will stop us otherwise.
        if self.ppid != os.getppid():
            self.log.info("Parent changed, shutting down: %s", self)
            return False
        return True

    def _drain_pipe(self):
        try:
            while os.read(self.PIPE[0], 512):
                pass
        except OSError:
            pass

    def _set_accepting(self, enabled):
        if enabled == self._accepting:
            return
        for fd in self._listener_fds:
            if enabled:
                self.poller.add_source(fd)
            else:
                self.poller.remove_source(fd)
        self._accepting = enabled
        # At the cap, a closing connection must wake us to resume accepting.
        self._wake_on_close = not enabled or self._stopping

    def _accept(self, listener):
        """Accept one connection; False when none was waiting (or none can be taken)."""
        try:
            sock, addr = (self._acceptors.get(id(listener)) or listener.accept)()
        except OSError as exc:
            if exc.errno in _ACCEPT_RETRY:
                return False
            if exc.errno in _ACCEPT_EXHAUSTED:
                self.log.error("Cannot accept a connection: %s", exc)
                self._accept_backoff_until = time.monotonic() + ACCEPT_BACKOFF_SECONDS
                self._set_accepting(False)
                return False
            raise
        try:
            client = self._new_client(sock, listener, addr)
        except OSError as exc:
            self.log.debug("Connection lost while setting it up: %s", exc)
            _close_quietly(sock)
            return True
        self.nr_conns += 1
        if self.nr_conns >= self.worker_connections:
            self._set_accepting(False)
        self.clients[client.fd] = client
        client.deadline = time.monotonic() + self._first_byte_seconds
        # The request often arrives with the connection: read before polling.
        self._on_readable(client)
        return True

    def _wait_for_bytes(self, client, write=False):
        """Have the poller report ``client`` once it can be read (or written)."""
        if client.registered:
            self.poller.rearm(client.fd, write)
        else:
            client.registered = True
            self.poller.add_client(client.fd, write)

    def _new_client(self, sock, listener, addr):
        fd = sock.fileno()
        if self._is_ssl:
            sock.setblocking(False)
            contexts = self._tls_contexts
            if contexts is None:
                from gunicorn.sock import TLSContextCache

                # Rebuilt when the files change: a renewed certificate is served
                # without a restart, as upstream's context per connection does.
                contexts = self._tls_contexts = TLSContextCache(self.cfg)
            tls = contexts.get().wrap_socket(
                sock, server_side=True, do_handshake_on_connect=False,
                suppress_ragged_eofs=self.cfg.suppress_ragged_eofs)
            served = ServedConnection(self, tls, listener, addr, keepalive=True)
            return ThreadedClient(fd, tls, served, tls=True)
        bound_socket_waits(sock, self._io_seconds)
        served = ServedConnection(self, sock, listener, addr, keepalive=True)
        return ThreadedClient(fd, sock, served)

    # -- reading request heads (main thread) --------------------------------
    def _on_readable(self, client):
        if client.tls:
            self._on_tls_readable(client)
            return
        try:
            if KERNEL_TIMEOUTS:
                data = client.sock.recv(RECV_SIZE, _DONTWAIT)
            else:
                data = client.sock.recv(RECV_SIZE)
        except BlockingIOError:
            self._wait_for_bytes(client)
            return
        except OSError as exc:
            self._log_gone(exc)
            self._close_owned(client)
            return
        if not data:
            client.wire.peer_closed = True
        client.proto.receive_data(data)
        self._advance(client, bool(data))

    def _on_tls_readable(self, client):
        sock = client.sock
        try:
            if client.handshaking:
                sock.do_handshake()
                client.handshaking = False
                if self._h2 is not None and sock.selected_alpn_protocol() == "h2":
                    self._start_h2(client)
                    return
            data = sock.recv(RECV_SIZE)
            while data and sock.pending():
                client.proto.receive_data(data)
                data = sock.recv(RECV_SIZE)
        except ssl.SSLWantReadError:
            self._wait_for_bytes(client)
            return
        except ssl.SSLWantWriteError:
            self._wait_for_bytes(client, write=True)
            return
        except ssl.SSLError as exc:
            log_tls_failure(self.log, client.served.addr, exc)
            close_after_tls_failure(client.sock)
            self._close_owned(client)
            return
        except OSError as exc:
            self._log_gone(exc)
            self._close_owned(client)
            return
        if not data:
            client.wire.peer_closed = True
        client.proto.receive_data(data)
        self._advance(client, bool(data))

    # -- HTTP/2 (only when h2 is in http_protocols) --------------------------
    def _on_readable_h2(self, client):
        h2 = client.h2
        if h2:
            # An idle HTTP/2 connection has frames again: its driver reads them.
            self._dispatch_h2(client)
            return
        if h2 is None and self._h2c_prior and not client.tls:
            try:
                first = client.sock.recv(len(self._h2.preface), socket.MSG_PEEK | _DONTWAIT)
            except BlockingIOError:
                self._wait_for_bytes(client)
                return
            except OSError:
                first = b""
            if first and len(first) < 3 and self._h2.preface.startswith(first):
                # Too few bytes to tell "PRI" from POST/PUT/PATCH yet.
                self._wait_for_bytes(client)
                return
            if self._h2.starts_with_preface(first) and client.served.environ.trusted:
                # h2c prior knowledge (RFC 9113 section 3.3), from trusted peers only.
                self._start_h2(client)
                return
            if first:
                client.h2 = False
        ThreadWorker._on_readable(self, client)

    def _start_h2(self, client):
        client.h2 = self._h2.blocking_server(client.served, client.sock, tls=client.tls)
        self._dispatch_h2(client)

    def _dispatch_h2(self, client):
        """Lend an HTTP/2 connection with frames to read to an HTTP/2 I/O thread."""
        client.head_started = False
        client.deadline = 0.0
        try:
            self._h2_threads.submit(self._h2_thread, client)
        except RuntimeError:
            # Shut down: the worker is exiting.
            self._close_lent(client)

    def _h2_thread(self, client):
        # A daemon thread: the worker's exit never waits for it.
        try:
            if self._quitting:
                self._close_lent(client)
                return
            if client.tls:
                client.sock.settimeout(self._io_seconds)
            self._serve_h2(client)
        except BaseException:
            try:
                self.log.exception("Error serving an HTTP/2 connection")
            except Exception:
                pass
            self._close_lent(client)

    def _serve_or_upgrade(self, client):
        req = client.req
        if req.__class__ is Request and client.served.environ.trusted:
            settings = self._h2.upgrade_settings(req)
            if settings is not None:
                client.req = None
                client.h2 = self._h2.upgraded_server(client.served, client.sock, req, settings)
                self._dispatch_h2(client)
                return
        ThreadWorker._serve(self, client)

    def _serve_h2(self, client):
        """HTTP/2 I/O thread: run the connection until it is idle or over."""
        sock = client.sock
        if not client.h2.serve(keepalive=self._keepalive_allowed() and self.alive):
            self._close_lent(client)
            return
        if client.tls:
            sock.settimeout(0.0)
        self._hand_back(client)

    def _advance(self, client, got_bytes):
        try:
            event = client.proto.next_event()
        except NoMoreData as exc:
            # The peer closed mid-head: nobody is left to read an answer.
            self.log.debug("Ignored premature client disconnection. %s", exc)
            self._close_owned(client)
            return
        except ParseError as exc:
            # Answered by a pool thread: the error page write may block.
            client.req = exc
            self._dispatch(client)
            return
        if event.__class__ is Request or isinstance(event, Request):
            client.req = event
            self._dispatch(client)
        elif event is NEED_DATA and not client.wire.peer_closed:
            if got_bytes and not client.head_started:
                client.head_started = True
                client.deadline = time.monotonic() + self._head_seconds
            self._wait_for_bytes(client)
        else:
            # ConnectionClosed (or an event no request can follow).
            self._close_owned(client)

    def _dispatch(self, client):
        client.head_started = False
        client.deadline = 0.0
        self._queue.put(client)

    # -- connection bookkeeping (main thread) -------------------------------
    def _close_owned(self, client):
        """Close a connection the main thread owns."""
        if client.closed:
            return
        client.closed = True
        if client.h2:
            client.h2.goodbye()
        if client.registered:
            self.poller.remove_client(client.fd)
        if self.clients.get(client.fd) is client:
            del self.clients[client.fd]
        self.nr_conns -= 1
        _close_quietly(client.sock)

    def _settle_closed(self):
        closed = self._closed
        clients = self.clients
        while closed:
            client = closed.popleft()
            if clients.get(client.fd) is client:
                del clients[client.fd]
            self.nr_conns -= 1

    def _settle_returned(self):
        returned = self._returned
        while returned:
            client = returned.popleft()
            if client.closed:
                continue
            try:
                self._wait_for_bytes(client)
            except (OSError, ValueError):
                self._close_owned(client)

    def _close_expired(self, now):
        """Close connections past their deadline (idle ones too once a stop's grace is over).

        Returns the earliest deadline left (0.0: none).

        A kept-alive connection whose next request has already arrived is left
        to the poll that follows, which reads it: the loop runs late under load,
        and closing then would reset a request the client has sent.
        """
        # Stopping, every idle connection goes once the stop's grace is over.
        idle_over = self._stopping and now >= self._idle_grace_until
        expired = []
        earliest = 0.0
        for client in self.clients.values():
            deadline = client.deadline
            # deadline 0.0: lent to a pool thread, not ours to close
            if not deadline:
                continue
            if deadline <= now or (idle_over and not client.head_started):
                expired.append(client)
            elif not earliest or deadline < earliest:
                earliest = deadline
        if not expired:
            return earliest
        # (Only clients waiting to read: a TLS handshake may be waiting to write.)
        waiting = readable_now([client.fd for client in expired
                                if not client.head_started and not client.handshaking])
        for client in expired:
            if client.fd not in waiting:
                self._close_owned(client)
        return earliest

    # -- serving requests (pool threads) ------------------------------------
    def _pool_thread(self):
        self._pool_threads.add(threading.current_thread())
        get = self._queue.get
        serve = self._serve
        while True:
            client = get()
            if client is _STOP:
                return
            try:
                serve(client)
            except BaseException:
                # Nothing a request does may end this thread.
                try:
                    self.log.exception("Error serving a connection")
                except Exception:
                    pass
                self._close_lent(client)

    def _serve(self, client):
        served = client.served
        req = client.req
        client.req = None
        if self._quitting:
            self._close_lent(client)
            return
        sock = client.sock
        if client.tls:
            sock.settimeout(self._io_seconds)
        if req.__class__ is not Request:
            if isinstance(req, ParseError):
                served.reply_error(req, getattr(req, "req", None), datetime.now())
                self._close_lent(client)
                return
        proto = client.proto
        while True:
            served.keepalive = self._keepalive_allowed()
            # True means the answer promised keep-alive: even if the worker
            # began to stop since, the client may already be sending its next
            # request, so the connection goes back for the stop's short grace.
            if not served.handle(req):
                self._close_lent(client)
                return
            # Pipelined requests already buffered are answered in order, here.
            try:
                event = proto.next_event()
            except ParseError as exc:
                served.reply_error(exc, getattr(exc, "req", None), datetime.now())
                self._close_lent(client)
                return
            if event is NEED_DATA:
                if client.tls and sock.pending():
                    if not client.wire.receive_more():
                        self._close_lent(client)
                        return
                    continue
                break
            if event.__class__ is Request or isinstance(event, Request):
                req = event
                continue
            self._close_lent(client)
            return
        if client.tls:
            sock.settimeout(0.0)
        self._hand_back(client)

    def _keepalive_allowed(self):
        # At the connection cap, answers close so waiting clients get a slot.
        return self._keepalive > 0 and self.max_keepalived > 0 \
            and self.nr_conns < self.worker_connections

    def _hand_back(self, client):
        """Give a kept-alive connection back to the main thread's poller."""
        now = time.monotonic()
        if self._stopping or not self.alive:
            # Promised keep-alive just before the stop: a short grace only.
            client.deadline = now + min(self._keepalive, STOP_IDLE_SECONDS)
        else:
            client.deadline = now + self._keepalive
        if self.poller.rearm_threadsafe:
            try:
                if client.registered:
                    self.poller.rearm(client.fd)
                else:
                    client.registered = True
                    self.poller.add_client(client.fd)
            except (OSError, ValueError):
                self._close_lent(client)
                return
            if self._stopping:
                self._wake()
        else:
            self._returned.append(client)
            self._wake()

    def _close_lent(self, client):
        """Close a connection a pool thread holds, and tell the main thread."""
        if client.closed:
            return
        client.closed = True
        client.deadline = 0.0
        poller = self.poller
        if poller is not None and client.registered:
            poller.remove_client(client.fd)
        try:
            client.served.close()
        except Exception:
            pass
        self._closed.append(client)
        if self._wake_on_close or not self.alive:
            self._wake()

    # -- stopping ----------------------------------------------------------
    def _drain(self):
        """Graceful stop: no new connections, idle ones closed after a short grace, in-flight ones finished."""
        self._stopping = True
        self._set_accepting(False)
        self._release_listeners()
        self._wake_on_close = True
        now = time.monotonic()
        head_cap = now + STOP_HEAD_SECONDS
        idle_cap = self._idle_grace_until = now + STOP_IDLE_SECONDS
        for client in self.clients.values():
            if client.deadline:
                cap = head_cap if client.head_started else idle_cap
                client.deadline = min(client.deadline, cap)
        deadline = now + self.cfg.graceful_timeout
        next_expiry = self._close_expired(now)
        clients = self.clients
        while self.nr_conns > 0 and now < deadline:
            self.notify()
            wait = min(0.5, deadline - now)
            if next_expiry:
                wait = max(0.0, min(wait, next_expiry - now))
            for fd in self.poller.poll(wait):
                client = clients.get(fd)
                if client is not None:
                    self._on_readable(client)
                elif fd not in self._listener_fds:
                    self._drain_pipe()
            if self._closed:
                self._settle_closed()
            if self._returned:
                self._settle_returned()
            now = time.monotonic()
            next_expiry = self._close_expired(now)

    def _release_listeners(self):
        """Take the clients the kernel already queued for us, then close our listener copies.

        A client in the accept queue believes itself connected and has likely
        sent its request: it is answered (with "Connection: close") instead of
        being reset when the listener goes away.  Once the master and every
        worker have closed their copies, new clients are refused outright
        rather than queued for nobody and reset at exit.
        """
        for listener in list(self._listener_fds.values()):
            while self.nr_conns < self.worker_connections and self._accept(listener):
                pass
            _close_quietly(listener)
        self._listener_fds = {}

    def _stop_pool(self):
        self._stopping = True
        for client in list(self.clients.values()):
            if client.deadline:
                self._close_owned(client)
        for _ in range(self.cfg.threads):
            self._queue.put(_STOP)
        for pool in (self.tpool, self._h2_threads):
            if pool is not None:
                pool.shutdown(wait=False)
        for sock in self.sockets:
            _close_quietly(sock)

    def _log_gone(self, exc):
        message = client_gone_message(exc)
        if message is None:
            self.log.debug("Error reading from a client: %s", exc)
        else:
            self.log.debug(message)


def _close_quietly(sock):
    try:
        sock.close()
    except OSError:
        pass

