"""``AsyncWorker``: the base of the greenlet workers (gevent, eventlet) in gunicorn-workers-async.

Subclasses provide the event loop (``run``) and ``timeout_ctx()``; each
accepted connection runs ``handle()`` in its own greenlet, which serves it
with the shared blocking driver, keep-alive included.
"""

from gunicorn.workers.base import Worker
from gunicorn.wsgi.serve import ServedConnection, client_gone_message, protocol_class

#: Returned by an app that took the socket over; nothing more is written.
ALREADY_HANDLED = object()


class AsyncWorker(Worker):

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.worker_connections = self.cfg.worker_connections

    def init_process(self):
        # A protocol that is not installed fails the boot, not every connection.
        protocol_class(self.cfg)
        super().init_process()

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
