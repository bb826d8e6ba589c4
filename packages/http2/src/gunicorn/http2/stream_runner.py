"""The threads that run HTTP/2 streams' application calls: ``--threads`` of them per worker."""

import os
import threading

from gunicorn.workers.connection_threads import ConnectionThreads

_lock = threading.Lock()
_runner = None   # (pid, ConnectionThreads): a forked child builds its own


def stream_runner(size):
    """The worker's stream threads (one pool per process, ``size`` threads at most).

    Each busy connection's own I/O thread does its socket I/O; the application
    calls of all its streams run here, at most ``size`` at once per worker (as
    many as ``--threads`` HTTP/1.1 requests), in arrival order once all are
    busy.  Daemon threads: a stream still inside the app never holds up the
    worker's exit.  ``submit(fn, *args)``; ``limit`` is the size.
    """
    global _runner
    pid = os.getpid()
    current = _runner
    if current is not None and current[0] == pid:
        return current[1]
    with _lock:
        if _runner is None or _runner[0] != pid:
            _runner = (pid, ConnectionThreads(max(1, int(size or 1)), "h2-stream"))
        return _runner[1]
