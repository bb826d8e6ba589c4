"""The threads that run HTTP/2 streams' application calls: ``--threads`` of them per worker."""

import os
import queue
import threading

_lock = threading.Lock()
_runner = None   # (pid, StreamRunner): a forked child builds its own


class StreamRunner:
    """A worker's daemon threads taking stream jobs in arrival order.

    Each busy connection's own I/O thread does its socket I/O; the application
    calls of all its streams run here, at most ``size`` at once per worker
    (as many as ``--threads`` HTTP/1.1 requests).  Daemon threads: a stream
    still inside the app never holds up the worker's exit.
    """

    def __init__(self, size):
        self.size = max(1, int(size or 1))
        self._jobs = queue.SimpleQueue()
        self._threads = []
        self._lock = threading.Lock()

    def submit(self, fn, *args):
        self._jobs.put((fn, args))
        if len(self._threads) < self.size:
            with self._lock:
                if len(self._threads) < self.size:
                    thread = threading.Thread(target=self._work, daemon=True,
                                              name="h2-stream-%d" % (len(self._threads) + 1))
                    thread.start()
                    self._threads.append(thread)

    def _work(self):
        get = self._jobs.get
        while True:
            fn, args = get()
            try:
                fn(*args)
            except BaseException:
                # The job reports its own failures; nothing may end this thread.
                pass


def stream_runner(size):
    """The worker's ``StreamRunner`` (one per process)."""
    global _runner
    pid = os.getpid()
    current = _runner
    if current is not None and current[0] == pid:
        return current[1]
    with _lock:
        if _runner is None or _runner[0] != pid:
            _runner = (pid, StreamRunner(size))
        return _runner[1]
