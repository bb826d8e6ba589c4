"""Process exit that does not wait for pool threads still inside an app call."""

import logging
import os
import sys
import threading
import time

# How long idle pool threads get to notice they should stop.
JOIN_SECONDS = 0.1


def abandon_busy_threads_at_exit(threads):
    """Let the process end even while pool threads still run an app call.

    The interpreter joins executor threads before exiting, so a QUIT would
    otherwise wait for the slowest request.  Idle threads get a moment to
    stop; if any is still busy, the process leaves without them.
    """
    register = getattr(threading, "_register_atexit", None)
    if register is None or not threads:
        return

    def leave():
        deadline = time.monotonic() + JOIN_SECONDS
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        if any(thread.is_alive() for thread in threads):
            logging.shutdown()
            for stream in (sys.stdout, sys.stderr):
                try:
                    stream.flush()
                except Exception:
                    pass
            os._exit(0)

    try:
        register(leave)
    except RuntimeError:
        # the interpreter is already shutting down
        pass
