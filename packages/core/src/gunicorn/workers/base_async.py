"""``AsyncWorker``: the base of the greenlet workers (gevent, eventlet) in gunicorn-workers-async.

Subclasses provide the event loop (``run``), ``timeout_ctx()`` and, if their
library needs it, ``patch()``; each accepted connection runs ``handle()`` in its
own greenlet, which serves it with the shared blocking driver, keep-alive included.
"""

import os
import signal
import ssl

from gunicorn.http.error_response import log_tls_failure
from gunicorn.workers.base import Worker
from gunicorn.wsgi.serve import ServedConnection, client_gone_message, protocol_class

#: Returned by an app that took the socket over; nothing more is written.
ALREADY_HANDLED = object()


class AsyncWorker(Worker):

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.worker_connections = self.cfg.worker_connections

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
        super().init_process()

    def notify(self):
        super().notify()
        # No select loop here notices a dead master: check at every heartbeat.
        if self.ppid != os.getppid():
            self.log.info("Parent changed, shutting down: %s", self)
            self.alive = False

    def timeout_ctx(self):
        """A context manager that silently ends its block after ``cfg.keepalive`` seconds."""
        raise NotImplementedError()

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
            keepalive = bool(self.cfg.keepalive)
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
        except ssl.SSLError as exc:
            # the handshake failed (plain HTTP on a TLS port...), or TLS broke later
            log_tls_failure(self.log, addr, exc)
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

    def handle_request(self, listener_name, req, sock, addr, session=None):
        """Serve one parsed request; True when the connection may carry another."""
        if session is None:
            session = ServedConnection(self, sock, None, addr,
                                       keepalive=bool(self.cfg.keepalive))
        return session.handle(req)
