"""Threads lent to busy connections, one each, that end once they have been idle a while."""

import threading
from collections import deque

# A thread with nothing to do for this long ends: a burst of busy connections
# must not leave its threads (and their stacks) behind for the worker's life.
# Long enough that a steady load reuses threads instead of starting new ones.
IDLE_SECONDS = 3.0


class _Idle:
    """A parked thread: ``job`` is set (and ``ready`` signalled) to hand it work."""

    __slots__ = ("job", "ready")

    def __init__(self):
        self.job = None
        self.ready = threading.Event()


class ConnectionThreads:
    """Run jobs at once on up to ``limit`` daemon threads, started on demand.

    Unlike ``ThreadPoolExecutor`` its threads end after ``idle_seconds``
    without work.  Daemon threads: one still serving a connection never holds
    up the worker's exit (the worker decides how long in-flight work gets).
    """

    def __init__(self, limit, name, idle_seconds=IDLE_SECONDS):
        self.limit = max(1, int(limit))
        self.name = name
        self.idle_seconds = idle_seconds
        self._lock = threading.Lock()
        self._parked = []          # _Idle of each thread waiting for a job
        self._backlog = deque()    # jobs waiting for a thread (all ``limit`` busy)
        self._count = 0            # threads alive
        self._started = 0
        self._shut = False

    def submit(self, fn, *args):
        """Run ``fn(*args)`` on a thread; RuntimeError once shut down."""
        job = (fn, args)
        with self._lock:
            if self._shut:
                raise RuntimeError("connection threads are shut down")
            if self._parked:
                idle = self._parked.pop()
                idle.job = job
                idle.ready.set()
                return
            if self._count >= self.limit:
                self._backlog.append(job)
                return
            self._count += 1
            self._started += 1
            name = "%s-%d" % (self.name, self._started)
        try:
            threading.Thread(target=self._work, args=(job,), name=name, daemon=True).start()
        except BaseException:
            with self._lock:
                self._count -= 1
            raise

    def shutdown(self, wait=False):
        """No more jobs; parked threads end now, busy ones after their job (never waits)."""
        with self._lock:
            self._shut = True
            parked, self._parked = self._parked, []
        for idle in parked:
            idle.ready.set()

    def threads(self):
        """How many threads are alive (busy or parked)."""
        return self._count

    def _work(self, job):
        while job is not None:
            fn, args = job
            try:
                fn(*args)
            except BaseException:
                # The job reports its own failures; the thread goes on.
                pass
            job = self._next_job()

    def _next_job(self):
        """The next job, after waiting parked up to ``idle_seconds``; None to end."""
        idle = _Idle()
        with self._lock:
            if self._backlog:
                return self._backlog.popleft()
            if self._shut:
                self._count -= 1
                return None
            self._parked.append(idle)
        idle.ready.wait(self.idle_seconds)
        with self._lock:
            if idle.job is not None:
                return idle.job
            # Timed out (or shut down) with no job handed over: leave.
            if idle in self._parked:
                self._parked.remove(idle)
            self._count -= 1
            return None
