"""Readiness polling for the threaded worker: one-shot epoll on Linux, a selector elsewhere.

A client socket is *armed* while the main thread waits for its next bytes and
disarmed as soon as it reports readable, so a connection lent to a pool thread
can never wake the main thread.  Listeners and the wakeup pipe stay armed.
"""

import select
import selectors

_EPOLL = getattr(select, "epoll", None)


class OneShotEpoll:
    """epoll with EPOLLONESHOT client registrations.

    ``rearm`` is safe from any thread (``epoll_ctl`` is), so a pool thread
    hands a kept-alive connection back with one system call and no wakeup.
    """

    rearm_threadsafe = True

    def __init__(self):
        self._ep = _EPOLL()
        self._client_mask = select.EPOLLIN | select.EPOLLONESHOT
        self._write_mask = select.EPOLLOUT | select.EPOLLONESHOT

    def fileno(self):
        return self._ep.fileno()

    def add_source(self, fd):
        """A listener or a pipe: reported whenever readable, until removed."""
        self._ep.register(fd, select.EPOLLIN)

    def remove_source(self, fd):
        try:
            self._ep.unregister(fd)
        except (OSError, ValueError):
            pass

    def add_client(self, fd, write=False):
        self._ep.register(fd, self._write_mask if write else self._client_mask)

    def rearm(self, fd, write=False):
        self._ep.modify(fd, self._write_mask if write else self._client_mask)

    def remove_client(self, fd):
        # Explicit, so a copy of the fd inherited by a forked child of the app
        # cannot keep a stale registration alive after we close ours.
        try:
            self._ep.unregister(fd)
        except (OSError, ValueError):
            pass

    def poll(self, timeout):
        """File descriptors that became ready (readable, or writable when asked)."""
        return [fd for fd, _ in self._ep.poll(timeout)]

    def close(self):
        self._ep.close()


class OneShotSelector:
    """The portable stand-in: one-shot emulated by unregistering on each event.

    Selectors are not thread-safe, so ``rearm`` must run on the main thread;
    the worker routes pool threads' hand-backs through its wakeup pipe.
    """

    rearm_threadsafe = False

    def __init__(self):
        self._sel = selectors.DefaultSelector()
        self._sources = set()

    def fileno(self):
        return self._sel.fileno()

    def add_source(self, fd):
        self._sel.register(fd, selectors.EVENT_READ)
        self._sources.add(fd)

    def remove_source(self, fd):
        self._sources.discard(fd)
        self._unregister(fd)

    def add_client(self, fd, write=False):
        self._sel.register(fd, selectors.EVENT_WRITE if write else selectors.EVENT_READ)

    def rearm(self, fd, write=False):
        self._sel.register(fd, selectors.EVENT_WRITE if write else selectors.EVENT_READ)

    def remove_client(self, fd):
        self._unregister(fd)

    def _unregister(self, fd):
        try:
            self._sel.unregister(fd)
        except (KeyError, ValueError, OSError):
            pass

    def poll(self, timeout):
        ready = []
        for key, _ in self._sel.select(timeout):
            fd = key.fd
            if fd not in self._sources:
                self._unregister(fd)
            ready.append(fd)
        return ready

    def close(self):
        self._sel.close()


def make_poller():
    """The best one-shot poller this platform has."""
    if _EPOLL is not None:
        return OneShotEpoll()
    return OneShotSelector()


def readable_now(fds):
    """The subset of ``fds`` with bytes (or an end of stream) to read right now.

    One zero-timeout poll, outside any poller: a disarmed one-shot client
    would not report through the poller until it is armed again.
    """
    if not fds:
        return set()
    if hasattr(select, "poll"):
        probe = select.poll()
        for fd in fds:
            probe.register(fd, select.POLLIN)
        try:
            return {fd for fd, _events in probe.poll(0)}
        except InterruptedError:
            return set()
    try:
        return set(select.select(fds, [], [], 0)[0])
    except (OSError, ValueError):
        return set()
