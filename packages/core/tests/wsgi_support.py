"""Fakes for the WSGI adapter tests: a piecewise socket, a recording log, a worker."""

import socket
import sys

from gunicorn.config import Config


class PieceSocket:
    """A connected socket stand-in: ``recv`` hands out the scripted bytes in small pieces."""

    family = socket.AF_INET

    def __init__(self, data=b"", piece=7, fail_send_after=None, family=None):
        self.inbox = bytearray(data)
        self.piece = piece
        self.out = bytearray()
        self.recv_calls = 0
        self.closed = False
        self.shut = None
        self.timeout = None
        self.fail_send_after = fail_send_after
        self.sends = []
        if family is not None:
            self.family = family

    def recv(self, size):
        self.recv_calls += 1
        take = min(size, self.piece, len(self.inbox))
        data = bytes(self.inbox[:take])
        del self.inbox[:take]
        return data

    def sendall(self, data):
        if self.fail_send_after is not None and len(self.out) + len(data) > self.fail_send_after:
            raise BrokenPipeError(32, "Broken pipe")
        self.sends.append(bytes(data))
        self.out += data

    def gettimeout(self):
        return self.timeout

    def settimeout(self, value):
        self.timeout = value

    def shutdown(self, how):
        self.shut = how

    def close(self):
        self.closed = True

    def getsockname(self):
        return ("127.0.0.1", 8000)


class RecordingLog:
    """Just the Logger methods the adapter calls; remembers every call."""

    def __init__(self):
        self.records = []
        self.accesses = []

    def _rec(self, level):
        def log(msg, *args, **kw):
            self.records.append((level, msg % args if args else str(msg)))
        return log

    def __getattr__(self, name):
        if name in ("debug", "info", "warning", "error", "critical", "exception"):
            return self._rec(name)
        raise AttributeError(name)

    def access(self, resp, req, environ, request_time):
        self.accesses.append((resp, req, environ, request_time))

    def levels(self, level):
        return [msg for lvl, msg in self.records if lvl == level]


def make_cfg(**settings):
    cfg = Config()
    for name, value in settings.items():
        cfg.set(name, value)
    return cfg


class FakeWorker:
    """What the serve driver reads from a worker."""

    def __init__(self, app, cfg=None, log=None):
        self.wsgi = app
        self.cfg = cfg or make_cfg()
        self.log = log or RecordingLog()
        self.nr = 0
        self.max_requests = sys.maxsize
        self.alive = True


def parse_responses(data):
    """Split raw response bytes into ``[(status_code, headers(dict, lower), body)]``."""
    out = []
    data = bytes(data)
    while data:
        head, sep, rest = data.partition(b"\r\n\r\n")
        if not sep:
            raise AssertionError("incomplete head: %r" % (data,))
        lines = head.decode("latin-1").split("\r\n")
        code = int(lines[0].split(" ")[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers.setdefault(name.strip().lower(), value.strip())
        if code < 200:
            out.append((code, headers, b""))
            data = rest
            continue
        if "content-length" in headers:
            n = int(headers["content-length"])
            body, data = rest[:n], rest[n:]
        elif headers.get("transfer-encoding") == "chunked":
            body = b""
            while True:
                size_line, _, rest = rest.partition(b"\r\n")
                size = int(size_line.split(b";")[0], 16)
                if size == 0:
                    _, _, rest = rest.partition(b"\r\n")
                    break
                body += rest[:size]
                rest = rest[size + 2:]
            data = rest
        else:
            body, data = rest, b""
        out.append((code, headers, body))
    return out


def serve_bytes(app, raw, cfg=None, keepalive=False, piece=7, peer=("127.0.0.1", 40000),
                sock=None, worker=None):
    """Run the driver over scripted bytes; return (socket, worker)."""
    from gunicorn.wsgi.serve import ServedConnection

    sock = sock or PieceSocket(raw, piece=piece)
    worker = worker or FakeWorker(app, cfg)
    ServedConnection(worker, sock, None, peer, keepalive=keepalive).serve(keepalive_timeout=1)
    return sock, worker
