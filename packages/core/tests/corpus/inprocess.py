"""Run a corpus case against HTTP1Protocol in-process, optionally split into byte chunks."""

from gunicorn.http.errors import NoMoreData, ParseError
from gunicorn.http.events import (
    NEED_DATA,
    ConnectionClosed,
    Data,
    EndOfMessage,
    Request,
    Response,
)
from gunicorn.http.protocol import HTTP1Protocol

PEER = ("127.0.0.1", 40000)
SERVER = ("127.0.0.1", 8000)

DEFAULTS = {
    "limit_request_line": 4094,
    "limit_request_fields": 100,
    "limit_request_field_size": 8190,
    "permit_obsolete_folding": False,
    "strip_header_spaces": False,
    "permit_unconventional_http_method": False,
    "permit_unconventional_http_version": False,
    "casefold_http_method": False,
    "header_map": "drop",
    "secure_scheme_headers": {
        "X-FORWARDED-PROTOCOL": "ssl", "X-FORWARDED-PROTO": "https", "X-FORWARDED-SSL": "on"},
    "forwarder_headers": "SCRIPT_NAME,PATH_INFO",
    "forwarded_allow_ips": ["127.0.0.1", "::1"],
    "proxy_protocol": "off",
    "proxy_allow_ips": ["127.0.0.1", "::1"],
}


class StubConfig:
    """The settings the parser reads, as attributes (what a Config offers)."""

    def __init__(self, **overrides):
        values = dict(DEFAULTS)
        for name, value in overrides.items():
            if name.endswith("_allow_ips") and isinstance(value, str):
                value = [v.strip() for v in value.split(",")]
            values[name] = value
        self.__dict__.update(values)


class Outcome:
    def __init__(self):
        self.requests = []
        self.status = None
        self.error = None
        self.events = []

    def __repr__(self):
        return "Outcome(status=%r, error=%r, requests=%r)" % (
            self.status, self.error, self.requests)


def describe(req, body):
    proxy = req.proxy
    return {
        "method": req.method, "uri": req.uri, "path": req.path, "query": req.query,
        "fragment": req.fragment, "version": req.version, "headers": req.headers,
        "trailers": req.trailers, "body": bytes(body), "content_length": req.content_length,
        "chunked": req.chunked, "expect_continue": req.expect_continue, "scheme": req.scheme,
        "keep_alive": not req.should_close(),
        "proxy": None if proxy is None else {
            "protocol": proxy.protocol, "client_addr": proxy.client_addr,
            "client_port": proxy.client_port, "proxy_addr": proxy.proxy_addr,
            "proxy_port": proxy.proxy_port},
    }


def run(raw, settings=None, chunks=None, close_early=False):
    """Feed ``raw`` (as ``chunks`` if given), answer each request with 200; return an Outcome.

    ``close_early``: the peer half-closes right after sending everything, as
    a client that shuts down its write side does.
    """
    proto = HTTP1Protocol(StubConfig(**(settings or {})), PEER, SERVER, False)
    pieces = list(chunks) if chunks is not None else [raw]
    position = 0
    eof = False
    if close_early:
        for piece in pieces:
            proto.receive_data(piece)
        proto.receive_data(b"")
        position = len(pieces)
        eof = True
    outcome = Outcome()
    req = body = None
    try:
        while True:
            event = proto.next_event()
            if event is NEED_DATA:
                if eof:
                    raise AssertionError("NEED_DATA after the peer closed")
                if position < len(pieces):
                    proto.receive_data(pieces[position])
                    position += 1
                else:
                    proto.receive_data(b"")
                    eof = True
                continue
            outcome.events.append(event)
            if event.__class__ is Request:
                req, body = event, bytearray()
            elif event.__class__ is Data:
                body += event.data
            elif event.__class__ is EndOfMessage:
                outcome.requests.append(describe(req, body))
                proto.send(Response(200, "OK", [("Content-Length", "0")]))
                proto.send(EndOfMessage())
                outcome.status = 200
                if not proto.keep_alive:
                    break
                proto.start_next_cycle()
            elif event.__class__ is ConnectionClosed:
                break
            else:
                raise AssertionError("unexpected event %r" % (event,))
    except NoMoreData:
        outcome.status = None
        outcome.error = "NoMoreData"
    except ParseError as exc:
        outcome.status = exc.status_code
        outcome.error = type(exc).__name__
    return outcome


def check(case, outcome):
    """Assert ``outcome`` matches ``case``; returns nothing, raises AssertionError."""
    assert outcome.status == case.expect_status, (case.name, outcome)
    if case.error is not None:
        assert outcome.error == case.error, (case.name, outcome.error, case.error)
    else:
        assert outcome.error is None, (case.name, outcome.error)
    assert len(outcome.requests) == len(case.expect), (case.name, outcome.requests)
    for got, want in zip(outcome.requests, case.expect, strict=True):
        for key, value in want.items():
            if key == "has_headers":
                for pair in value:
                    assert pair in got["headers"], (case.name, pair, got["headers"])
            elif key == "proxy" and value is not None:
                assert got["proxy"] is not None, (case.name, got)
                for sub, subvalue in value.items():
                    assert got["proxy"][sub] == subvalue, (case.name, sub, got["proxy"])
            else:
                assert got[key] == value, (case.name, key, got[key], value)
