"""Compare request-parsing speed with upstream gunicorn 27.0.1's Python parser, in-process.

Run with the dev venv:  .venv/bin/python benchmarks/parser_bench.py [-n N]
Upstream runs in benchmarks/.venvs/upstream (created with pip install
gunicorn==27.0.1 when missing); this script re-runs itself there with
``--impl upstream`` and prints requests/second for both and the ratio.
No sockets: upstream reads from an in-memory object with recv().
"""

import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
UPSTREAM_VENV = os.path.join(HERE, ".venvs", "upstream")
UPSTREAM_PY = os.path.join(UPSTREAM_VENV, "bin", "python")

GET = (
    b"GET /api/v1/items/42?sort=desc&limit=20 HTTP/1.1\r\n"
    b"Host: www.example.com\r\n"
    b"User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n"
    b"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n"
    b"Accept-Language: en-US,en;q=0.5\r\n"
    b"Accept-Encoding: gzip, deflate, br\r\n"
    b"Referer: https://www.example.com/\r\n"
    b"Cookie: session=8f2d1c0a9b7e6d5c4b3a2f1e0d9c8b7a; theme=dark\r\n"
    b"Connection: keep-alive\r\n"
    b"Cache-Control: max-age=0\r\n"
    b"\r\n"
)
POST = (
    b"POST /api/v1/items HTTP/1.1\r\n"
    b"Host: www.example.com\r\n"
    b"User-Agent: python-requests/2.32.3\r\n"
    b"Accept: */*\r\n"
    b"Content-Type: application/json\r\n"
    b"Content-Length: 45\r\n"
    b"X-Request-Id: 5b0f8f2e-3d1c-4c6e-9a55-0b1f3b1d2e4f\r\n"
    b"\r\n"
    b'{"name": "widget", "price": 9.99, "qty": 100}'
)
CHUNKED = (
    b"POST /upload HTTP/1.1\r\n"
    b"Host: www.example.com\r\n"
    b"User-Agent: curl/8.5.0\r\n"
    b"Content-Type: application/octet-stream\r\n"
    b"Transfer-Encoding: chunked\r\n"
    b"\r\n"
    b"10\r\n0123456789abcdef\r\n"
    b"10\r\n0123456789abcdef\r\n"
    b"0\r\n\r\n"
)
WORKLOADS = {"get": GET, "post": POST, "chunked": CHUNKED}


class Cfg:
    """The settings our parser reads (defaults of settings.tsv)."""

    limit_request_line = 4094
    limit_request_fields = 100
    limit_request_field_size = 8190
    permit_obsolete_folding = False
    strip_header_spaces = False
    permit_unconventional_http_method = False
    permit_unconventional_http_version = False
    casefold_http_method = False
    header_map = "drop"
    secure_scheme_headers = {
        "X-FORWARDED-PROTOCOL": "ssl", "X-FORWARDED-PROTO": "https", "X-FORWARDED-SSL": "on"}
    forwarder_headers = "SCRIPT_NAME,PATH_INFO"
    forwarded_allow_ips = ["127.0.0.1", "::1"]
    proxy_protocol = "off"
    proxy_allow_ips = ["127.0.0.1", "::1"]
    is_ssl = False


def bench_ours(payload, count, pipeline):
    from gunicorn.http.events import NEED_DATA, PAUSED, Data, EndOfMessage, Request
    from gunicorn.http.protocol import HTTP1Protocol

    cfg = Cfg()
    peer = ("127.0.0.1", 40000)
    server = ("127.0.0.1", 8000)
    stream = payload * pipeline
    connections = count // pipeline
    start = time.perf_counter()
    parsed = 0
    for _ in range(connections):
        proto = HTTP1Protocol(cfg, peer, server, False)
        proto.receive_data(stream)
        for _ in range(pipeline):
            req = proto.next_event()
            assert req.__class__ is Request, req
            body = 0
            while True:
                event = proto.next_event()
                if event.__class__ is Data:
                    body += len(event.data)
                elif event.__class__ is EndOfMessage:
                    break
                else:
                    raise AssertionError(event)
            parsed += 1
            # Skip the response: mark our side done the cheapest legal way.
            proto.our_state = "DONE"
            if proto.next_event() is not PAUSED:
                raise AssertionError("expected PAUSED")
            if parsed % pipeline:
                proto.start_next_cycle()
        assert proto.next_event() in (NEED_DATA, PAUSED)
    return parsed, time.perf_counter() - start


class MemorySocket:
    """Just enough of a socket for upstream's SocketUnreader."""

    def __init__(self, data):
        self.data = data
        self.pos = 0

    def recv(self, size):
        chunk = self.data[self.pos:self.pos + size]
        self.pos += len(chunk)
        return chunk


def bench_upstream(payload, count, pipeline):
    from gunicorn.config import Config
    from gunicorn.http.parser import RequestParser

    cfg = Config()
    if "http_parser" in cfg.settings:
        cfg.set("http_parser", "python")
    peer = ("127.0.0.1", 40000)
    stream = payload * pipeline
    connections = count // pipeline
    start = time.perf_counter()
    parsed = 0
    for _ in range(connections):
        parser = RequestParser(cfg, MemorySocket(stream), peer)
        for _ in range(pipeline):
            req = next(parser)
            body = 0
            while True:
                data = req.body.read(8192)
                if not data:
                    break
                body += len(data)
            parsed += 1
    return parsed, time.perf_counter() - start


def run(impl, count, pipeline, repeat=1):
    bench = bench_ours if impl == "ours" else bench_upstream
    results = {}
    for name, payload in WORKLOADS.items():
        bench(payload, max(pipeline, count // 10), pipeline)  # warm up
        best = 0.0
        for _ in range(repeat):
            parsed, elapsed = bench(payload, count, pipeline)
            best = max(best, parsed / elapsed)
        results[name] = best
    return results


def ensure_upstream_venv():
    if os.path.exists(UPSTREAM_PY):
        return
    subprocess.check_call([sys.executable, "-m", "venv", UPSTREAM_VENV])
    subprocess.check_call([UPSTREAM_PY, "-m", "pip", "install", "-q", "gunicorn==27.0.1"])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--requests", type=int, default=20000)
    parser.add_argument("--impl", choices=("ours", "upstream", "both"), default="both")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print raw JSON (internal)")
    args = parser.parse_args()

    if args.impl != "both":
        out = {p: run(args.impl, args.requests, p, args.rounds) for p in (1, 10)}
        if args.json:
            print(json.dumps(out))
        else:
            for pipeline, res in out.items():
                for name, rate in res.items():
                    print("%-8s pipeline=%-3d %10.0f req/s" % (name, pipeline, rate))
        return

    ensure_upstream_venv()
    # The upstream venv must not see our source tree on its path.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    ours = {1: {}, 10: {}}
    upstream = {1: {}, 10: {}}
    # Alternate the two implementations round by round and keep each one's
    # best: on a shared machine, load drifts between consecutive runs.
    for _ in range(args.rounds):
        for pipeline in (1, 10):
            for name, rate in run("ours", args.requests, pipeline).items():
                ours[pipeline][name] = max(rate, ours[pipeline].get(name, 0.0))
        raw = subprocess.check_output(
            [UPSTREAM_PY, os.path.abspath(__file__), "--impl", "upstream", "--json",
             "--rounds", "1", "-n", str(args.requests)], env=env, cwd="/")
        for pipeline, res in json.loads(raw).items():
            for name, rate in res.items():
                upstream[int(pipeline)][name] = max(rate, upstream[int(pipeline)].get(name, 0.0))
    print("%-8s %-9s %14s %14s %7s" % ("workload", "pipeline", "ours req/s", "upstream req/s",
                                       "ratio"))
    ratios = []
    for pipeline in (1, 10):
        for name in WORKLOADS:
            a, b = ours[pipeline][name], upstream[pipeline][name]
            ratios.append(a / b)
            print("%-8s %-9d %14.0f %14.0f %6.2fx" % (name, pipeline, a, b, a / b))
    geo = 1.0
    for r in ratios:
        geo *= r
    print("geometric mean ratio: %.2fx" % geo ** (1 / len(ratios)))


if __name__ == "__main__":
    main()
