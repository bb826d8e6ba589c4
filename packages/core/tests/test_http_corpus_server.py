"""The request corpus over real sockets against ``gunicorn`` (sync worker, default settings).

Only cases with default settings run here: one server start for ~200 cases.
Cases that need other settings run in-process (test_http_corpus.py); cases
that need keep-alive (pipelining) run against the gthread worker, since the
sync worker closes after each response.
"""

import re
import textwrap

import pytest
from corpus import CASES
from gunicorn_testsupport.server import ServerProcess, raw_request

DEFAULT_CASES = [c for c in CASES if not c.settings and not c.needs_keepalive]
KEEPALIVE_CASES = [c for c in CASES if not c.settings and c.needs_keepalive]

APP = textwrap.dedent("""
    def app(environ, start_response):
        body = environ["wsgi.input"].read()
        start_response("200 OK", [("Content-Type", "text/plain"),
                                  ("Content-Length", str(len(body)))])
        return [body]
""")


def start(tmp_path_factory, *args):
    root = tmp_path_factory.mktemp("corpus_app")
    (root / "corpus_app.py").write_text(APP)
    return ServerProcess("--chdir", str(root), "-w", "1", *args, "corpus_app:app")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with start(tmp_path_factory) as srv:
        yield srv


@pytest.fixture(scope="module")
def threaded_server(tmp_path_factory):
    with start(tmp_path_factory, "-k", "gthread", "--threads", "2") as srv:
        yield srv


def statuses(response):
    """Final statuses in ``response`` (1xx interim responses left out)."""
    codes = [int(code) for code in re.findall(rb"HTTP/1\.[01] (\d{3}) ", response)]
    return [code for code in codes if code >= 200]


def test_enough_cases_run_over_sockets():
    assert len(DEFAULT_CASES) >= 150


@pytest.mark.parametrize("case", DEFAULT_CASES, ids=[c.name for c in DEFAULT_CASES])
def test_case_over_socket(server, case):
    response = raw_request(server.port, case.raw, timeout=5, shutdown_write=True)
    got = statuses(response)
    if case.expect_status is None:
        assert got == [], response[:200]
    else:
        assert got == [case.expect_status], response[:200]
    if case.expect_status == 200 and case.expect and "body" in case.expect[0]:
        assert response.rpartition(b"\r\n\r\n")[2] == case.expect[0]["body"]


@pytest.mark.parametrize("case", KEEPALIVE_CASES, ids=[c.name for c in KEEPALIVE_CASES])
def test_pipelined_case_over_socket(threaded_server, case):
    response = raw_request(threaded_server.port, case.raw, timeout=5, shutdown_write=True)
    want = [200] * len(case.expect)
    if case.expect_status not in (200, None):
        want.append(case.expect_status)
    assert statuses(response) == want, response[:300]
