"""``HTTP2Plugin``: what core's workers load through the ``gunicorn.protocols`` entry point ``h2``.

Core never imports this package: a worker asks the entry point for this class
when ``h2`` is in ``http_protocols`` and uses only the names below.
"""

from gunicorn.http2.blocking import BlockingHTTP2Server
from gunicorn.http2.connection import HTTP2Connection
from gunicorn.http2.preface import PREFACE, starts_with_preface
from gunicorn.http2.upgrade import upgrade_settings


class HTTP2Plugin:
    """The HTTP/2 entry points for workers."""

    #: The sans-I/O connection (for event-loop drivers).
    connection_class = HTTP2Connection
    #: The client connection preface of prior-knowledge h2c.
    preface = PREFACE

    @staticmethod
    def starts_with_preface(data):
        """Whether a connection's first bytes open an HTTP/2 preface."""
        return starts_with_preface(data)

    @staticmethod
    def blocking_server(served, sock, tls=False, initial=b"", spawn=None):
        """A ``BlockingHTTP2Server`` for a socket core already wrapped in ``served``.

        ``served`` is the worker's ``gunicorn.wsgi.serve.ServedConnection``;
        ``initial`` holds bytes already read from the socket (none when they
        were only peeked).  Call ``serve()`` on a thread that may block.
        ``spawn(fn, *args)`` runs each stream's application call (a greenlet
        worker's spawn); by default the worker's ``--threads`` stream threads.
        """
        return BlockingHTTP2Server(served, sock, tls=tls, initial=initial, spawn=spawn)

    @staticmethod
    def upgrade_settings(req):
        """The HTTP2-Settings of an ``Upgrade: h2c`` request that may switch, else None."""
        return upgrade_settings(req)

    @staticmethod
    def upgraded_server(served, sock, req, settings, spawn=None):
        """A ``BlockingHTTP2Server`` that answers ``req`` with 101 and serves it as stream 1."""
        return BlockingHTTP2Server(served, sock, upgrade=(req, settings), spawn=spawn)
