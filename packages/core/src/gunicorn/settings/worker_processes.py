"""Settings of the "Worker Processes" section: how many workers, of which kind."""

import os

from gunicorn.settings.base import Setting
from gunicorn.settings.validators import (
    validate_asgi_lifespan,
    validate_asgi_loop,
    validate_class,
    validate_http_parser,
    validate_pos_int,
)

SECTION = "Worker Processes"


class _PosInt(Setting):
    section = SECTION
    meta = "INT"
    validator = validate_pos_int
    type = int


class Workers(_PosInt):
    name = "workers"
    cli = ["-w", "--workers"]
    default = 1
    desc = """\
        The number of worker processes for handling requests.

        A positive integer, generally in the 2-4 x $(NUM_CORES) range. The
        ``WEB_CONCURRENCY`` environment variable, when set, is the default.
        """

    @classmethod
    def initial_default(cls):
        concurrency = os.environ.get("WEB_CONCURRENCY")
        if concurrency:
            try:
                return int(concurrency)
            except ValueError:
                # the one config error that comes from the environment: say so
                raise ValueError(f"Invalid value for workers: WEB_CONCURRENCY={concurrency!r} "
                                 "is not an integer") from None
        return cls.default


class WorkerClass(Setting):
    name = "worker_class"
    section = SECTION
    cli = ["-k", "--worker-class"]
    meta = "STRING"
    validator = validate_class
    default = "sync"
    desc = """\
        The type of workers to use.

        A short name (sync, gthread, gevent, eventlet, tornado, asgi), a dotted
        class path, ``egg:DIST#NAME``, a ``gunicorn.workers`` entry point name,
        or (in a config file) the class itself. sync with more than one thread
        runs gthread.
        """


class WorkerThreads(_PosInt):
    name = "threads"
    cli = ["--threads"]
    default = 1
    desc = """\
        The number of worker threads for handling requests.

        With the sync worker, a value above 1 switches to the gthread worker.
        """


class WorkerConnections(_PosInt):
    name = "worker_connections"
    cli = ["--worker-connections"]
    default = 1000
    desc = """\
        The maximum number of simultaneous clients per threaded or async worker.
        """


class MaxRequests(_PosInt):
    name = "max_requests"
    cli = ["--max-requests"]
    default = 0
    desc = """\
        The number of requests a worker handles before it is restarted.

        0 disables automatic restarts. A simple guard against memory leaks.
        """


class MaxRequestsJitter(_PosInt):
    name = "max_requests_jitter"
    cli = ["--max-requests-jitter"]
    default = 0
    desc = """\
        The maximum random jitter added to max_requests, per worker.

        Spreads restarts so that workers do not all restart at once.
        """


class Timeout(_PosInt):
    name = "timeout"
    cli = ["-t", "--timeout"]
    default = 30
    desc = """\
        Workers silent for more than this many seconds are killed and restarted.

        0 disables the check.
        """


class GracefulTimeout(_PosInt):
    name = "graceful_timeout"
    cli = ["--graceful-timeout"]
    default = 30
    desc = """\
        Seconds workers have to finish their requests after a graceful stop.

        Workers still alive after this are killed.
        """


class Keepalive(_PosInt):
    name = "keepalive"
    cli = ["--keep-alive"]
    default = 2
    desc = """\
        The number of seconds to wait for a request on a keep-alive connection.
        """


class ASGILoop(Setting):
    name = "asgi_loop"
    section = SECTION
    cli = ["--asgi-loop"]
    meta = "STRING"
    validator = validate_asgi_loop
    default = "auto"
    desc = """\
        The event loop of the ASGI worker: auto, asyncio or uvloop.
        """


class ASGILifespan(Setting):
    name = "asgi_lifespan"
    section = SECTION
    cli = ["--asgi-lifespan"]
    meta = "STRING"
    validator = validate_asgi_lifespan
    default = "auto"
    desc = """\
        ASGI lifespan protocol support: auto, on or off.
        """


class ASGIDisconnectGracePeriod(_PosInt):
    name = "asgi_disconnect_grace_period"
    cli = ["--asgi-disconnect-grace-period"]
    default = 3
    desc = """\
        Seconds an ASGI app may keep running after its client disconnected.
        """


class WebSocketMaxMessageSize(_PosInt):
    name = "websocket_max_message_size"
    cli = ["--websocket-max-message-size"]
    default = 16 * 1024 * 1024
    desc = """\
        The largest WebSocket message, in bytes, the asgi worker accepts.
        """


class HttpParser(Setting):
    name = "http_parser"
    section = SECTION
    cli = ["--http-parser"]
    meta = "STRING"
    validator = validate_http_parser
    default = "auto"
    desc = """\
        The HTTP/1 parser: auto, fast (the gunicorn_h1c extension) or python.
        """
