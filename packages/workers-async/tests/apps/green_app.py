"""A plain WSGI app for the greenlet workers: cooperative and loop-blocking sleeps, streams."""

import os
import sys
import time


def _cooperative_sleep(seconds):
    # Only the library the worker imported counts: both may be installed.
    if "gevent" in sys.modules:
        import gevent

        gevent.sleep(seconds)
    elif "eventlet" in sys.modules:
        import eventlet

        eventlet.sleep(seconds)
    else:
        time.sleep(seconds)


def _loop_blocking_sleep(seconds):
    # The unpatched time.sleep: the whole worker stops, as a CPU-bound app would.
    if "gevent" in sys.modules:
        from gevent import monkey

        monkey.get_original("time", "sleep")(seconds)
    elif "eventlet" in sys.modules:
        from eventlet import patcher

        patcher.original("time").sleep(seconds)
    else:
        time.sleep(seconds)


def _query(environ):
    pairs = (p.split("=", 1) for p in environ.get("QUERY_STRING", "").split("&") if "=" in p)
    return dict(pairs)


def _text(start_response, text, status="200 OK"):
    body = text.encode()
    start_response(status, [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


def app(environ, start_response):
    path, query = environ["PATH_INFO"], _query(environ)
    seconds = float(query.get("t", "0"))
    if path == "/sleep":
        _cooperative_sleep(seconds)
        return _text(start_response, f"slept {os.getpid()}")
    if path == "/block":
        _loop_blocking_sleep(seconds)
        return _text(start_response, "blocked")
    if path == "/environ":
        keys = ("wsgi.multithread", "wsgi.multiprocess", "SERVER_SOFTWARE")
        lines = [f"{k}={environ.get(k)}" for k in keys]
        lines.append(f"file_wrapper={type(environ.get('wsgi.file_wrapper')).__name__}")
        return _text(start_response, "\n".join(lines))
    if path == "/errors":
        environ["wsgi.errors"].write("app wrote to wsgi.errors\n")
        environ["wsgi.errors"].flush()
        return _text(start_response, "written")
    if path == "/file":
        fh = open(__file__, "rb")
        size = os.fstat(fh.fileno()).st_size
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(size))])
        return environ["wsgi.file_wrapper"](fh, 1024)
    if path == "/echo":
        body = environ["wsgi.input"].read()
        start_response("200 OK", [("Content-Length", str(len(body)))])
        return [body]
    if path == "/stream":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return _slow_stream(int(query.get("n", "3")), seconds, query.get("log"))
    return _text(start_response, f"ok {os.getpid()}")


def _slow_stream(count, seconds, log):
    sent = 0
    try:
        for sent in range(count):
            yield f"chunk{sent}\n".encode()
            _cooperative_sleep(seconds)
    finally:
        # Recorded so a test can see the server closed the iterable (PEP 3333).
        if log:
            with open(log, "a") as fh:
                fh.write(f"closed after {sent}\n")
