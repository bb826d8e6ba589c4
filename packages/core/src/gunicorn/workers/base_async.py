"""``AsyncWorker``: the base of the greenlet workers (gevent, eventlet) in gunicorn-workers-async.

Subclasses provide the event loop (``run``), ``timeout_ctx()`` and, if their
library needs it, ``patch()``; each accepted connection runs ``handle()`` in its
own greenlet, which serves it with the shared blocking driver, keep-alive included.
With ``h2`` in ``http_protocols`` the gunicorn-http2 plugin's blocking driver
serves HTTP/2 connections in that greenlet too (``spawn_stream`` runs each stream).
"""

import os
import select
import signal
import socket
import ssl
import time

from gunicorn.http.error_response import log_tls_failure
from gunicorn.sock import close_after_tls_failure
from gunicorn.workers.base import Worker
from gunicorn.workers.http2_modes import h2c_modes, load_http2_plugin, wants_http2
from gunicorn.wsgi.serve import ServedConnection, client_gone_message, protocol_class

#: Returned by an app that took the socket over; nothing more is written.
ALREADY_HANDLED = object()
# How often an idle HTTP/2 connection looks at the worker (TERM) while it waits.
H2_IDLE_CHECK_SECONDS = 1.0
# How long a connection whose first bytes are "P" or "PR" may take to send the
# third one (an h2c preface cut by the network), and how often to look.
PREFACE_WAIT_SECONDS = 1.0
PREFACE_POLL_SECONDS = 0.01
# How long one keep-alive connection is served before the others get a turn.
TURN_SECONDS = 0.001


class AsyncWorker(Worker):

    #: Whether ``handle()`` serves connections (so HTTP/2 can be hooked in);
    #: a subclass whose own server parses HTTP sets False.
    serves_http2 = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.worker_connections = self.cfg.worker_connections
        # The gunicorn-http2 plugin, loaded (after patching) only when h2 is enabled.
        self._h2 = None
        self._h2c_prior = False

    def patch(self):
        """Monkey-patch the standard library for the worker's event loop (gevent, eventlet)."""

    def init_process(self):
        # Patching takes a while: a TERM or QUIT meanwhile must not be lost to the
        # master's inherited handlers. init_signals() installs the real ones later.
        signal.signal(signal.SIGTERM, self.handle_exit)
        signal.signal(signal.SIGQUIT, self.handle_quit)
        signal.signal(signal.SIGINT, self.handle_quit)
        # Patch before the app is imported (load_wsgi runs in Worker.init_process),
        # so the app's blocking I/O becomes cooperative.
        self.patch()
        # A protocol that is not installed fails the boot, not every connection.
        protocol_class(self.cfg)
        if wants_http2(self.cfg):
            if self.serves_http2:
                self._enable_h2(self.cfg)
            else:
                self.log.warning("HTTP/2 is not supported by the %s worker; serving "
                                 "HTTP/1.1 only (use gthread, gevent, eventlet or asgi for h2)",
                                 self.cfg.worker_class_str)
        super().init_process()

    def _enable_h2(self, cfg):
        self._h2 = load_http2_plugin()
        self._h2c_prior, h2c_upgrade = h2c_modes(cfg, cfg.is_ssl)
        if h2c_upgrade:
            # Each HTTP/1.1 request is looked at for Upgrade: h2c only in this mode.
            self.handle_request = self._handle_request_or_upgrade

    def notify(self):
        super().notify()
        # No select loop here notices a dead master: check at every heartbeat.
        if self.ppid != os.getppid():
            self.log.info("Parent changed, shutting down: %s", self)
            self.alive = False

    def timeout_ctx(self):
        """A context manager that silently ends its block after ``cfg.keepalive`` seconds."""
        raise NotImplementedError()

    def spawn_stream(self, fn, *args):
        """Run ``fn(*args)`` (an HTTP/2 stream's application call) in a new greenlet."""
        raise NotImplementedError()

    def yield_turn(self):
        """Let the event loop run the other connections' greenlets before this one goes on."""

    def is_already_handled(self, respiter):
        """Whether the app answered by taking the socket over (e.g. a websocket)."""
        return respiter is ALREADY_HANDLED

    def connection(self, listener, client, addr):
        """The driver session for one client (greenlet workers may override)."""
        return ServedConnection(self, client, listener, addr,
                                keepalive=bool(self.cfg.keepalive))

    def handle(self, listener, client, addr):
        """Serve one connection, keeping it alive between requests when allowed."""
        session = None
        try:
            if self.cfg.is_ssl:
                from gunicorn.sock import ssl_wrap_socket

                client = ssl_wrap_socket(client, self.cfg)
            session = self.connection(listener, client, addr)
            if self._h2 is not None:
                h2 = self._h2_server(session, client)
                if h2 is not None:
                    self._serve_h2(h2, client)
                    return
            keepalive = bool(self.cfg.keepalive)
            clock = time.monotonic
            turn_started = clock()
            while True:
                req = None
                if keepalive:
                    # Idle (or slow) connections give up after cfg.keepalive seconds.
                    with self.timeout_ctx():
                        req = session.next_request()
                else:
                    req = session.next_request()
                if req is None:
                    break
                if not self.handle_request(session.listener_name, req, client, addr,
                                           session=session):
                    break
                if not self.alive:
                    break
                # A client whose next request is already in the socket never makes
                # recv() wait, and only a wait switches greenlets: without turns, a
                # busy keep-alive connection would starve every other one.
                if clock() - turn_started >= TURN_SECONDS:
                    self.yield_turn()
                    turn_started = clock()
        except ssl.SSLError as exc:
            # the handshake failed (plain HTTP on a TLS port...), or TLS broke later
            log_tls_failure(self.log, addr, exc)
            close_after_tls_failure(client)
        except OSError as exc:
            message = client_gone_message(exc)
            if message is None:
                self.log.exception("Socket error processing request.")
            else:
                self.log.debug(message)
        except Exception as exc:
            self.handle_error(None, client, addr, exc)
        finally:
            if session is not None:
                session.close()
            else:
                try:
                    client.close()
                except OSError:
                    pass

    # -- HTTP/2 (only when h2 is in http_protocols) ----------------------------
    def _h2_server(self, session, client):
        """The plugin's driver when the connection opens HTTP/2, else None.

        TLS: the client chose ``h2`` by ALPN (RFC 9113 section 3.2). Plain: the
        first bytes, peeked, are the prior-knowledge preface (section 3.3) of a
        peer trusted by ``forwarded_allow_ips``.
        """
        if self.cfg.is_ssl:
            with self.timeout_ctx():
                client.do_handshake()
            if client.selected_alpn_protocol() != "h2":
                return None
            return self._h2.blocking_server(session, client, tls=True, spawn=self.spawn_stream)
        if not self._h2c_prior:
            return None
        first = self._peek_preface(client)
        if not (self._h2.starts_with_preface(first) and session.environ.trusted):
            return None
        return self._h2.blocking_server(session, client, spawn=self.spawn_stream)

    def _peek_preface(self, client):
        """The connection's first bytes, peeked: enough of them to tell "PRI" from a method.

        A first segment of 1 or 2 bytes ("P", "PR") could start the preface or
        POST/PUT/PATCH: wait, briefly and greenly, for the third byte.
        """
        preface = self._h2.preface
        deadline = time.monotonic() + PREFACE_WAIT_SECONDS
        with self.timeout_ctx():
            first = client.recv(len(preface), socket.MSG_PEEK)
            while first and len(first) < 3 and preface.startswith(first) \
                    and time.monotonic() < deadline:
                # A peek leaves the bytes readable, so a readiness wait would spin.
                time.sleep(PREFACE_POLL_SECONDS)
                first = client.recv(len(preface), socket.MSG_PEEK)
        return first

    def _serve_h2(self, h2, sock):
        """Run an HTTP/2 connection; between bursts it idles up to ``keepalive`` seconds."""
        keepalive = self.cfg.keepalive or 0
        while h2.serve(keepalive=keepalive > 0 and self.alive):
            if not self._wait_readable(sock, keepalive):
                h2.goodbye()
                return

    def _wait_readable(self, sock, seconds):
        # Green select: waits in the hub. Wakes each second to notice a TERM.
        deadline = time.monotonic() + seconds
        while self.alive:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            if select.select([sock], [], [], min(left, H2_IDLE_CHECK_SECONDS))[0]:
                return True
        return False

    def _handle_request_or_upgrade(self, listener_name, req, sock, addr, session=None):
        # h2c upgrade (RFC 7540 section 3.2), from trusted peers only: a 101,
        # then the request is answered as stream 1 and the connection is HTTP/2.
        if session is not None and session.environ.trusted:
            settings = self._h2.upgrade_settings(req)
            if settings is not None:
                self._serve_h2(self._h2.upgraded_server(session, sock, req, settings,
                                                        spawn=self.spawn_stream), sock)
                return False
        return AsyncWorker.handle_request(self, listener_name, req, sock, addr, session=session)

    def handle_request(self, listener_name, req, sock, addr, session=None):
        """Serve one parsed request; True when the connection may carry another."""
        if session is None:
            session = ServedConnection(self, sock, None, addr,
                                       keepalive=bool(self.cfg.keepalive))
        return session.handle(req)
