"""One benchmark at a time on this machine: two runs at once would measure each other."""

import fcntl
import os
import time

LOCK_PATH = "/tmp/gunicorn-bench.lock"


class BusyError(RuntimeError):
    """Another run held the lock for longer than we were willing to wait."""


def _holder(path):
    try:
        with open(path) as f:
            return f.read().strip() or "?"
    except OSError:
        return "?"


def acquire(wait_seconds, log, path=LOCK_PATH):
    """Take the machine-wide benchmark lock, waiting up to `wait_seconds` for it.

    Returns the open file; the lock lasts until it is closed or the process exits.
    """
    f = open(path, "a+")
    deadline = time.monotonic() + wait_seconds
    told = False
    while True:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() >= deadline:
                f.close()
                raise BusyError(f"another benchmark run holds {path} ({_holder(path)})")
            if not told:
                log(f"another benchmark run is in progress ({_holder(path)}); waiting up to "
                    f"{wait_seconds:.0f}s for it to finish ...")
                told = True
            time.sleep(1)
    f.seek(0)
    f.truncate()
    f.write(f"pid {os.getpid()}, cwd {os.getcwd()}, since {time.strftime('%H:%M:%S')}\n")
    f.flush()
    return f
