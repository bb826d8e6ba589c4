"""``SyncWorker``: one connection at a time, one request per connection."""

import errno
import os
import select
import ssl
import sys
import time
import types

from gunicorn.http.error_response import log_tls_failure
from gunicorn.sock import close_after_tls_failure
from gunicorn.workers.acceptor import acceptor
from gunicorn.workers.base import Worker
from gunicorn.workers.http2_modes import wants_http2
from gunicorn.wsgi.serve import ServedConnection, client_gone_message, protocol_class

# accept() found nobody (another worker won the race) or the client already left.
_ACCEPT_RETRY = (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK)
# Connections accepted from one ready listener before looking at the others.
ACCEPT_BURST = 16
_ACCEPTED_BLOCKING = sys.platform.startswith("linux")
# Under load the heartbeat is touched at most this often (seconds): far below any
# timeout, yet one syscall per many requests instead of one per request.
NOTIFY_INTERVAL = 0.01


class StopWaiting(Exception):
    """The worker's wait on its listeners cannot continue (listeners closed)."""


class SyncWorker(Worker):
    """Accepts on every listener and serves each connection to completion.

    Sync connections never stay open: each response says ``Connection: close``,
    so a slow client can hold the worker for one request only.
    """

    # id(listener) -> acceptor(listener), set by run(); never mutated in place.
    _acceptors = types.MappingProxyType({})

    def init_process(self):
        # A protocol that is not installed fails the boot (one clear line),
        # not every connection.
        protocol_class(self.cfg)
        super().init_process()

    def accept(self, listener):
        client, addr = (self._acceptors.get(id(listener)) or listener.accept)()
        # Python's accept() already makes the client non-inheritable (SOCK_CLOEXEC).
        # Linux never passes the listener's O_NONBLOCK on to accepted sockets, so
        # there a client Python already sees as blocking needs no extra syscall.
        if not _ACCEPTED_BLOCKING or client.gettimeout() is not None:
            client.setblocking(True)
        self.handle(listener, client, addr)

    def wait(self, timeout):
        """Listeners ready to accept (the wakeup pipe is drained, not returned)."""
        try:
            self.notify()
            ready, _, _ = select.select(self.wait_fds, [], [], timeout)
        except InterruptedError:
            return self.sockets
        except OSError as exc:
            if exc.errno == errno.EINTR:
                return self.sockets
            if exc.errno == errno.EBADF:
                # listeners closed under us (shutdown): stop waiting
                raise StopWaiting()
            raise
        except ValueError:
            # a closed socket has fileno() -1
            raise StopWaiting()
        if self.PIPE and self.PIPE[0] in ready:
            try:
                # One read: wakeup bytes are tiny and a loop could block on a
                # pipe someone left in blocking mode.
                os.read(self.PIPE[0], 4096)
            except (BlockingIOError, InterruptedError):
                pass
            ready = [fd for fd in ready if fd != self.PIPE[0]]
        return ready

    def is_parent_alive(self):
        # The master died and we were re-parented: nobody will stop us otherwise.
        if self.ppid != os.getppid():
            self.log.info("Parent changed, shutting down: %s", self)
            return False
        return True

    def run(self):
        # Half the arbiter's timeout is already in self.timeout: wake that often.
        timeout = self.timeout or 0.5
        # Listeners are shared with siblings: never block in accept().
        for sock in self.sockets:
            sock.setblocking(False)
        self._acceptors = {id(sock): acceptor(sock) for sock in self.sockets}
        if self.wants_http2():
            self.log.warning("HTTP/2 is not supported by the sync worker; "
                             "serving HTTP/1.1 only (use gthread, gevent or asgi for h2)")

        clock = time.monotonic
        while self.alive:
            # wait() touches the heartbeat before it blocks.
            notified = clock()
            try:
                ready = self.wait(timeout)
            except StopWaiting:
                return
            for listener in ready:
                # Under load, keep accepting while connections are queued (no
                # select per request), but bounded so other listeners get a turn.
                for _ in range(ACCEPT_BURST):
                    if not self.alive:
                        break
                    try:
                        self.accept(listener)
                    except OSError as exc:
                        if exc.errno not in _ACCEPT_RETRY:
                            raise
                        break
                    # Each request may be slow: keep the heartbeat fresh between
                    # them, without a syscall per fast request.
                    now = clock()
                    if now - notified >= NOTIFY_INTERVAL:
                        self.notify()
                        notified = now
            if not self.is_parent_alive():
                return

    def handle(self, listener, client, addr):
        """Serve one connection: exactly one request, then close."""
        try:
            if self.cfg.is_ssl:
                client = self.wrap_tls(client)
            ServedConnection(self, client, listener, addr, keepalive=False).serve()
        except ssl.SSLError as exc:
            log_tls_failure(self.log, addr, exc)
            close_after_tls_failure(client)
        except OSError as exc:
            message = client_gone_message(exc)
            if message is None:
                self.log.exception("Socket error processing request.")
            else:
                self.log.debug(message)
            _close(client)

    def wants_http2(self):
        return wants_http2(self.cfg)

    def wrap_tls(self, client):
        """Server-side TLS over ``client``; the context is rebuilt when its files change."""
        contexts = getattr(self, "_tls_contexts", None)
        if contexts is None:
            from gunicorn.sock import TLSContextCache

            contexts = self._tls_contexts = TLSContextCache(self.cfg, adjust=self._narrow_alpn)
        return contexts.get().wrap_socket(
            client, server_side=True,
            suppress_ragged_eofs=self.cfg.suppress_ragged_eofs,
            do_handshake_on_connect=self.cfg.do_handshake_on_connect)

    def _narrow_alpn(self, context):
        if self.wants_http2():
            # Never let ALPN pick a protocol this worker cannot speak.
            context.set_alpn_protocols(["http/1.1"])


def _close(sock):
    try:
        sock.close()
    except OSError:
        pass

