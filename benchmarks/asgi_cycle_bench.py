"""CPU per request of the asgi worker's keep-alive hello-world path, in-process, no sockets.

Run with the dev venv:  .venv/bin/python benchmarks/asgi_cycle_bench.py [-n N] [--rounds R]

``cycle`` drives one ``HTTPConnection`` of the real ``ASGIServer`` with a fake
transport on a uvloop (or ``--loop asyncio``) event loop: each response write
schedules the next request's ``data_received`` with ``call_soon``, the way
bytes arrive from a socket, so every request costs one callback plus one task,
as on a real keep-alive connection.  ``parse`` and ``frame`` time core's
sans-I/O HTTP/1.1 protocol alone (request head in, response head out).
Prints microseconds of process CPU per request (best of the rounds);
``--profile`` prints a cProfile table of one round instead.
"""

import argparse
import asyncio
import cProfile
import os
import pstats
import sys
import time
from types import SimpleNamespace

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "apps"))

# What wrk sends on each keep-alive request.
REQUEST = b"GET / HTTP/1.1\r\nHost: 127.0.0.1:8000\r\n\r\n"
# A browser-like head, for the parse workload.
BROWSER = (
    b"GET /api/v1/items/42?sort=desc&limit=20 HTTP/1.1\r\n"
    b"Host: www.example.com\r\n"
    b"User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n"
    b"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n"
    b"Accept-Language: en-US,en;q=0.5\r\n"
    b"Accept-Encoding: gzip, deflate, br\r\n"
    b"Cookie: session=8f2d1c0a9b7e6d5c4b3a2f1e0d9c8b7a; theme=dark\r\n"
    b"Connection: keep-alive\r\n"
    b"\r\n"
)


def make_config():
    from gunicorn.config import Config

    cfg = Config()
    cfg.set("keepalive", 75)
    return cfg


class FakeTransport:
    """Enough of an asyncio transport for HTTPConnection; counts what is written."""

    def __init__(self, on_write):
        self.on_write = on_write
        self.written = 0

    def get_extra_info(self, name, default=None):
        if name == "peername":
            return ("127.0.0.1", 40000)
        if name == "sockname":
            return ("127.0.0.1", 8000)
        return default

    def set_write_buffer_limits(self, high=None, low=None):
        pass

    def write(self, data):
        self.written += len(data)
        self.on_write()

    def writelines(self, parts):
        self.written += sum(len(p) for p in parts)
        self.on_write()

    def pause_reading(self):
        pass

    def resume_reading(self):
        pass

    def is_closing(self):
        return False

    def close(self):
        pass

    def abort(self):
        pass


def bench_cycle(count, loop, payload=REQUEST):
    """Seconds of process CPU for ``count`` keep-alive requests through the asgi glue."""
    import asgi_app

    from gunicorn.asgi.http_connection import HTTPConnection
    from gunicorn.asgi.server import ASGIServer
    from gunicorn.glogging import Logger
    from gunicorn.http.protocol import HTTP1Protocol

    cfg = make_config()
    worker = SimpleNamespace(nr=0, max_requests=sys.maxsize, alive=True, wake=lambda: None)
    server = ASGIServer(asgi_app.app, cfg, Logger(cfg), HTTP1Protocol, worker=worker)
    server._loop = loop
    done = loop.create_future()
    state = {"left": count}
    conn = HTTPConnection(server)
    on_write = _next_request_after_write(loop, conn, payload, done, state)
    return _time_connection(loop, conn, FakeTransport(on_write), payload, done)


def _next_request_after_write(loop, conn, payload, done, state):
    """A write callback: feed the next request soon, or finish after ``state["left"]``."""

    def on_write():
        state["left"] -= 1
        if state["left"] > 0:
            loop.call_soon(conn.data_received, payload)
        elif not done.done():
            done.set_result(None)

    return on_write


def _time_connection(loop, conn, transport, payload, done):
    """Seconds of process CPU from the first request until ``done``."""

    async def drive():
        conn.connection_made(transport)
        conn.data_received(payload)
        await done

    start = time.process_time()
    loop.run_until_complete(drive())
    elapsed = time.process_time() - start
    conn.connection_lost(None)
    return elapsed


def bench_uvicorn(count, loop, payload=REQUEST):
    """The same as ``bench_cycle`` through uvicorn's httptools protocol (its venv only)."""
    import asgi_app
    from uvicorn.config import Config
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    from uvicorn.server import ServerState

    config = Config(app=asgi_app.app, http="httptools", lifespan="off", access_log=False,
                    timeout_keep_alive=75, log_level="warning")
    config.load()
    done = loop.create_future()
    state = {"left": count}
    conn = HttpToolsProtocol(config, ServerState(), {}, _loop=loop)
    on_write = _next_request_after_write(loop, conn, payload, done, state)
    transport = FakeTransport(lambda: None)
    writes = {"n": 0}

    def write(data):
        # uvicorn writes the head and the body separately: one request per two writes.
        writes["n"] += 1
        if writes["n"] % 2 == 0:
            on_write()

    transport.write = write
    return _time_connection(loop, conn, transport, payload, done)


def bench_parse(count, payload=BROWSER):
    """Seconds for ``count`` heads through core's protocol: receive, parse, frame, reset."""
    from gunicorn.http.events import Data, EndOfMessage, Response
    from gunicorn.http.protocol import HTTP1Protocol

    cfg = make_config()
    proto = HTTP1Protocol(cfg, ("127.0.0.1", 40000), ("127.0.0.1", 8000), False)
    headers = [("Content-Type", "text/plain"), ("Content-Length", "13")]
    body = Data(b"Hello, World!")
    end = EndOfMessage()
    start = time.process_time()
    for _ in range(count):
        proto.receive_data(payload)
        proto.next_event()
        proto.send(Response(200, "OK", headers))
        proto.send(body)
        proto.send(end)
        proto.start_next_cycle()
    return time.process_time() - start


def new_loop(kind):
    if kind == "uvloop":
        import uvloop

        return uvloop.new_event_loop()
    return asyncio.new_event_loop()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--requests", type=int, default=100000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--loop", choices=("uvloop", "asyncio"), default="uvloop")
    parser.add_argument("--workload", choices=("cycle", "parse", "parse-wrk"), default="cycle")
    parser.add_argument("--impl", choices=("ours", "uvicorn"), default="ours",
                        help="uvicorn: run in benchmarks/.venvs/uvicorn (cycle only)")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()

    loop = new_loop(args.loop)
    asyncio.set_event_loop(loop)
    if args.impl == "uvicorn":
        def run(n):
            return bench_uvicorn(n, loop)
    elif args.workload == "cycle":
        def run(n):
            return bench_cycle(n, loop)
    elif args.workload == "parse":
        def run(n):
            return bench_parse(n)
    else:
        def run(n):
            return bench_parse(n, REQUEST)

    run(max(1000, args.requests // 10))  # warm the caches
    if args.profile:
        prof = cProfile.Profile()
        prof.enable()
        run(args.requests)
        prof.disable()
        pstats.Stats(prof).sort_stats("tottime").print_stats(30)
        return
    best = min(run(args.requests) for _ in range(args.rounds))
    print("%s %s (%s): %.2f us CPU per request" % (args.impl, args.workload, args.loop,
                                               1e6 * best / args.requests))


if __name__ == "__main__":
    main()
