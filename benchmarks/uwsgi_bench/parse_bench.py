#!/usr/bin/env python3
"""Compare uwsgi packet parsing speed with upstream gunicorn 27.0.1's uwsgi parser, in-process.

Run with the dev venv:  .venv/bin/python benchmarks/uwsgi_bench/parse_bench.py [-n N]
Upstream runs in benchmarks/.venvs/upstream (the venv benchmarks/run.py builds);
this script re-runs itself there with ``--impl upstream`` and prints requests/second
for both and the ratio. No sockets: upstream reads from an in-memory recv().
Standard library only.
"""

import argparse
import json
import os
import struct
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
UPSTREAM_PY = os.path.join(HERE, "..", ".venvs", "upstream", "bin", "python")

# What nginx sends with the stock uwsgi_params for a browser GET.
NGINX_VARS = [
    ("QUERY_STRING", "sort=desc&limit=20"), ("REQUEST_METHOD", "GET"), ("CONTENT_TYPE", ""),
    ("CONTENT_LENGTH", ""), ("REQUEST_URI", "/api/v1/items/42?sort=desc&limit=20"),
    ("PATH_INFO", "/api/v1/items/42"), ("DOCUMENT_ROOT", "/usr/share/nginx/html"),
    ("SERVER_PROTOCOL", "HTTP/1.1"), ("REQUEST_SCHEME", "http"), ("REMOTE_ADDR", "203.0.113.9"),
    ("REMOTE_PORT", "51234"), ("SERVER_PORT", "80"), ("SERVER_NAME", "www.example.com"),
    ("HTTP_HOST", "www.example.com"),
    ("HTTP_USER_AGENT", "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"),
    ("HTTP_ACCEPT", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
    ("HTTP_ACCEPT_LANGUAGE", "en-US,en;q=0.5"), ("HTTP_ACCEPT_ENCODING", "gzip, deflate, br"),
    ("HTTP_COOKIE", "session=8f2d1c0a9b7e6d5c4b3a2f1e0d9c8b7a; theme=dark"),
]
POST_BODY = b'{"name": "widget", "price": 9.99, "qty": 100}'
POST_VARS = [(k, v) for k, v in NGINX_VARS if k not in ("CONTENT_TYPE", "CONTENT_LENGTH",
                                                        "REQUEST_METHOD")] + [
    ("REQUEST_METHOD", "POST"), ("CONTENT_TYPE", "application/json"),
    ("CONTENT_LENGTH", str(len(POST_BODY)))]


def encode(pairs, body=b""):
    # Written out here (not imported) so the upstream venv can build the same bytes.
    block = b"".join(struct.pack("<H", len(k)) + k.encode("latin-1")
                     + struct.pack("<H", len(v)) + v.encode("latin-1") for k, v in pairs)
    return struct.pack("<BHB", 0, len(block), 0) + block + body


WORKLOADS = {"get": encode(NGINX_VARS), "post": encode(POST_VARS, POST_BODY)}


class Cfg:
    uwsgi_allow_ips = ["127.0.0.1", "::1"]
    limit_request_line = 4094
    limit_request_fields = 100
    limit_request_field_size = 8190
    is_ssl = False
    # Reused connections (the 10-per-connection rows) need nginx keepalive turned on.
    uwsgi_keepalive = True


def bench_ours(payload, count, pipeline):
    from gunicorn.http.events import PAUSED, Data, EndOfMessage, Request, Response
    from gunicorn.uwsgi.protocol import UWSGIProtocol

    cfg = Cfg()
    peer, server = ("127.0.0.1", 40000), ("127.0.0.1", 8001)
    ok = Response(200, "OK", [("Content-Length", "0")])
    stream = payload * pipeline
    start = time.perf_counter()
    parsed = 0
    for _ in range(count // pipeline):
        proto = UWSGIProtocol(cfg, peer, server, False)
        proto.receive_data(stream)
        for index in range(pipeline):
            assert isinstance(proto.next_event(), Request)
            while True:
                event = proto.next_event()
                if event.__class__ is EndOfMessage:
                    break
                assert event.__class__ is Data, event
            parsed += 1
            assert proto.next_event() is PAUSED
            if index + 1 < pipeline:
                proto.send(ok)
                proto.send(EndOfMessage())
                proto.start_next_cycle()
    return parsed, time.perf_counter() - start


class MemorySocket:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def recv(self, size):
        chunk = self.data[self.pos:self.pos + size]
        self.pos += len(chunk)
        return chunk


def bench_upstream(payload, count, pipeline):
    from gunicorn.config import Config
    from gunicorn.uwsgi.parser import UWSGIParser

    cfg = Config()
    peer = ("127.0.0.1", 40000)
    stream = payload * pipeline
    start = time.perf_counter()
    parsed = 0
    for _ in range(count // pipeline):
        parser = UWSGIParser(cfg, MemorySocket(stream), peer)
        for _ in range(pipeline):
            req = next(parser)
            while req.body.read(8192):
                pass
            parsed += 1
    return parsed, time.perf_counter() - start


def run(impl, count, pipeline):
    bench = bench_ours if impl == "ours" else bench_upstream
    results = {}
    for name, payload in WORKLOADS.items():
        bench(payload, max(pipeline, count // 10), pipeline)  # warm up
        results[name] = max(parsed / elapsed for parsed, elapsed in
                            (bench(payload, count, pipeline) for _ in range(3)))
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--requests", type=int, default=20000)
    parser.add_argument("--impl", choices=("ours", "upstream", "both"), default="both")
    parser.add_argument("--json", action="store_true", help="print raw JSON (internal)")
    args = parser.parse_args()
    pipelines = (1, 10)
    if args.impl != "both":
        out = {p: run(args.impl, args.requests, p) for p in pipelines}
        print(json.dumps(out) if args.json else out)
        return
    ours = {p: run("ours", args.requests, p) for p in pipelines}
    if not os.path.exists(UPSTREAM_PY):
        sys.exit(f"no upstream venv at {UPSTREAM_PY}: run benchmarks/run.py once to build it")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    raw = subprocess.check_output([UPSTREAM_PY, os.path.abspath(__file__), "--impl", "upstream",
                                   "--json", "-n", str(args.requests)], env=env, cwd="/")
    upstream = {int(k): v for k, v in json.loads(raw).items()}
    print("%-8s %-9s %14s %14s %7s" % ("workload", "pipeline", "ours req/s", "upstream req/s",
                                       "ratio"))
    for pipeline in pipelines:
        for name in WORKLOADS:
            a, b = ours[pipeline][name], upstream[pipeline][name]
            print("%-8s %-9d %14.0f %14.0f %6.2fx" % (name, pipeline, a, b, a / b))


if __name__ == "__main__":
    main()
