"""Dirty apps the arbiter tests load (``--dirty-app arbiter_apps:Echo``)."""

import os
import time

from gunicorn.dirty.app import DirtyApp


def _note(line):
    """Append ``line`` to $DIRTY_TEST_EVENTS (one event per line) when the test asks."""
    path = os.environ.get("DIRTY_TEST_EVENTS")
    if path:
        with open(path, "a") as f:
            f.write(line + "\n")


class Echo(DirtyApp):
    def init(self):
        self.calls = 0
        _note(f"init Echo {os.getpid()}")

    def echo(self, value):
        self.calls += 1
        return value

    def whoami(self):
        return os.getpid()

    def count(self, n):
        for i in range(n):
            yield {"i": i, "pid": os.getpid()}

    def slow_count(self, n, delay):
        for i in range(n):
            time.sleep(delay)
            yield i

    def endless(self, delay):
        """Chunks until the stream is stopped; notes when the generator is closed."""
        try:
            i = 0
            while True:
                time.sleep(delay)
                yield i
                i += 1
        finally:
            _note(f"endless closed {os.getpid()}")

    def blob(self, total, size):
        """``total`` bytes in chunks of ``size``; each chunk starts with its index."""
        sent = 0
        i = 0
        while sent < total:
            n = min(size, total - sent)
            yield i.to_bytes(8, "big") + bytes(n - 8)
            sent += n
            i += 1

    def endless_blob(self, size):
        """Chunks of ``size`` bytes until stopped; notes how many it made and when it closed."""
        i = 0
        try:
            while True:
                yield bytes(size)
                i += 1
        finally:
            _note(f"endless_blob closed after {i} {os.getpid()}")

    async def async_echo(self, value):
        return value

    async def async_count(self, n):
        for i in range(n):
            yield i

    def fail(self, message):
        raise ValueError(message)

    def unencodable(self):
        return {1, 2}                      # a set has no TLV encoding

    def unencodable_stream(self):
        yield 1
        yield {1, 2}

    def missing_stash_key(self):
        from gunicorn.dirty import stash

        return stash.table("dirty-test-missing")["nokey"]

    def sleep(self, seconds):
        time.sleep(seconds)
        return seconds

    def timed_sleep(self, seconds):
        start = time.time()
        time.sleep(seconds)
        return [start, time.time()]

    def crash(self):
        os._exit(13)

    def close(self):
        _note(f"close Echo {os.getpid()}")


class Single(DirtyApp):
    """Loaded on one worker only (its class says so)."""

    workers = 1

    def init(self):
        pass

    def whoami(self):
        return os.getpid()

    def close(self):
        pass


class Limited(Echo):
    """Loaded on as many workers as its spec's ``:N`` says."""


class Broken(DirtyApp):
    """Its init() always raises: a worker that loads it never boots."""

    def init(self):
        raise RuntimeError("cannot load the model")

    def close(self):
        pass


class WithStashes(DirtyApp):
    """Declares the stash tables it uses: the arbiter creates them at start."""

    stashes = ["dirty-test-sessions", "dirty-test-counters"]

    def whoami(self):
        return os.getpid()


class BadStashes(DirtyApp):
    stashes = "one-string-not-a-list"


class NotAnApp:
    """Neither a DirtyApp nor shaped like one (no init/close)."""

    def __call__(self, action):
        return action
