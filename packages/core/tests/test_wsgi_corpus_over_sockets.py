"""The raw request corpus (tests/corpus) sent over real sockets to the real server.

One server runs per distinct settings group (cases are ordered by group so
only one is alive at a time). A ``pre_request`` hook hands the parsed
request to the app, which answers with a JSON description of it and the
body it read through ``wsgi.input``; the test compares that with the case.

The sync worker serves one request per connection, so a case whose bytes
hold several requests is checked on its first one (``Connection: close``);
those cases run again on gthread, where keep-alive answers every request.
"""

import json
import textwrap

import pytest
from corpus import CASES
from gunicorn_testsupport import ServerProcess, raw_request
from wsgi_support import parse_responses

APP = '''
import json

CURRENT = None

def describe(req, body):
    proxy = req.proxy
    return {
        "method": req.method, "uri": req.uri, "path": req.path, "query": req.query,
        "fragment": req.fragment, "version": req.version, "headers": req.headers,
        "trailers": req.trailers, "body": body.decode("latin-1"),
        "content_length": req.content_length, "chunked": req.chunked,
        "expect_continue": req.expect_continue, "scheme": req.scheme,
        "keep_alive": KEEP[0],
        "proxy": None if proxy is None else {
            "protocol": proxy.protocol, "client_addr": proxy.client_addr,
            "client_port": proxy.client_port, "proxy_addr": proxy.proxy_addr,
            "proxy_port": proxy.proxy_port},
    }

KEEP = [None]

def app(environ, start_response):
    body = environ["wsgi.input"].read()
    out = json.dumps(describe(CURRENT, body)).encode()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(out)))])
    return [out]
'''

CONFIG = '''
import corpusapp

def pre_request(worker, req):
    corpusapp.CURRENT = req
    corpusapp.KEEP[0] = not req.should_close()

workers = 1
'''


def _group(case):
    return json.dumps(case.settings, sort_keys=True)


ORDERED = sorted(CASES, key=_group)


class _Servers:
    """At most one server alive: started for a settings group, stopped on the next."""

    def __init__(self, root):
        self.root = root
        self.key = None
        self.server = None
        self.count = 0

    def get(self, case, args=()):
        key = _group(case) + repr(args)
        if key != self.key:
            self.close()
            self.count += 1
            workdir = self.root / ("g%d" % self.count)
            workdir.mkdir()
            (workdir / "corpusapp.py").write_text(APP)
            lines = [textwrap.dedent(CONFIG)]
            for name, value in case.settings.items():
                lines.append("%s = %r" % (name, value))
            (workdir / "corpus_conf.py").write_text("\n".join(lines))
            self.server = ServerProcess(*args, "-c", str(workdir / "corpus_conf.py"), "--chdir",
                                        str(workdir), "corpusapp:app", cwd=workdir,
                                        env={"PYTHONPATH": str(workdir)}).start()
            self.key = key
        return self.server

    def close(self):
        if self.server is not None:
            self.server.__exit__(None, None, None)
            self.server = None
            self.key = None


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    pool = _Servers(tmp_path_factory.mktemp("corpus"))
    yield pool
    pool.close()


KEEPALIVE_CASES = sorted(
    (c for c in CASES if len(c.expect) >= 2 or (c.expect and c.expect_status != 200)),
    key=_group)


def _normal(value):
    # Compare through JSON: tuples become lists, bytes bodies latin-1 text.
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    return json.loads(json.dumps(value))


@pytest.mark.timeout(120)
@pytest.mark.parametrize("case", ORDERED, ids=[c.name for c in ORDERED])
def test_case_over_socket(servers, case):
    srv = servers.get(case)
    data = raw_request(srv.port, case.raw, shutdown_write=True, timeout=5)
    finals = [r for r in parse_responses(data) if r[0] >= 200]
    if case.expect:
        want_status, want = 200, case.expect[0]
    else:
        want_status, want = case.expect_status, None
    if want_status is None:
        # Incomplete input: the server closes without an answer.
        assert finals == [], (case.name, data[:300])
        return
    assert finals, (case.name, "no response", srv.log[-2000:])
    code, headers, body = finals[0]
    assert code == want_status, (case.name, code, body[:300])
    assert len(finals) == 1, (case.name, "sync answers one request per connection")
    assert headers.get("connection") == "close"
    if want is None:
        assert b"Traceback" not in body
        return
    if case.raw.startswith(b"HEAD "):
        assert body == b""
        return
    _compare(case, json.loads(body), want)


def _compare(case, got, want):
    for key, value in want.items():
        if key == "has_headers":
            for pair in _normal(value):
                assert pair in got["headers"], (case.name, pair, got["headers"])
        elif key == "proxy" and value is not None:
            assert got["proxy"] is not None, (case.name, got)
            for sub, subvalue in value.items():
                assert got["proxy"][sub] == _normal(subvalue), (case.name, sub, got["proxy"])
        else:
            assert got[key] == _normal(value), (case.name, key, got[key], value)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("case", KEEPALIVE_CASES, ids=[c.name for c in KEEPALIVE_CASES])
def test_keepalive_case_over_socket(servers, case):
    srv = servers.get(case, ("-k", "gthread", "--threads", "2"))
    data = raw_request(srv.port, case.raw, shutdown_write=True, timeout=5)
    finals = [r for r in parse_responses(data) if r[0] >= 200]
    assert finals, (case.name, "no response", srv.log[-2000:])
    assert finals[-1][0] == case.expect_status, (case.name, finals)
    answered = [json.loads(body) for code, _, body in finals if code == 200]
    assert len(answered) == len(case.expect), (case.name, answered)
    for got, want in zip(answered, case.expect, strict=True):
        _compare(case, got, want)
