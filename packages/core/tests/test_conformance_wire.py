"""HTTP/1.1 conformance over real sockets: malformed and edge-case requests against a running gunicorn.

One server per worker class (sync, gthread) answers a table of raw requests.
Each case says which final statuses come back and whether the connection may
carry another request: a pipelined sentinel request follows every case, and
only a reusable gthread connection may answer it.  That also proves nothing
after a refused request is ever parsed (no request smuggling).  Expectations
follow RFC 9110/9112; where upstream gunicorn 27 answers otherwise, the case
says so.
"""

import re
import socket
import textwrap
import time

import pytest
from gunicorn_testsupport.server import ServerProcess, wait_for

pytestmark = pytest.mark.timeout(60)

APP = textwrap.dedent('''
    def app(environ, start_response):
        path = environ["PATH_INFO"]
        body = environ["wsgi.input"].read()
        if path == "/raise-before":
            raise RuntimeError("fails before start_response")
        if path == "/raise-after":
            start_response("200 OK", [("Content-Type", "text/plain")])
            raise RuntimeError("fails after start_response")
        if path == "/raise-iter":
            start_response("200 OK", [])
            def chunks():
                yield b"partial"
                raise RuntimeError("fails mid-body")
            return chunks()
        if path == "/str-body":
            start_response("200 OK", [])
            return ["not bytes"]
        if path == "/bytes-body":
            start_response("200 OK", [])
            return b"iterates as ints"
        if path == "/none-body":
            start_response("200 OK", [])
            return None
        if path == "/exit":
            start_response("200 OK", [("Content-Length", "2")])
            raise SystemExit(1)
        if path == "/sleep":
            import time
            time.sleep(10)
        if path == "/no-start":
            return [b"x"]
        if path == "/bad-status":
            start_response("99 Too Low", [])
            return [b"x"]
        if path == "/header-injection":
            start_response("200 OK", [("X-A", "a\\r\\nX-Injected: 1")])
            return [b"x"]
        if path == "/hop-te":
            start_response("200 OK", [("Transfer-Encoding", "chunked")])
            return [b"ok"]
        if path == "/conn-close":
            start_response("200 OK", [("Connection", "close"), ("Content-Length", "2")])
            return [b"ok"]
        if path == "/204cl":
            start_response("204 No Content", [("Content-Length", "5")])
            return [b"hello"]
        if path == "/304cl":
            start_response("304 Not Modified", [("Content-Length", "5")])
            return [b"hello"]
        if path == "/cl-long":
            start_response("200 OK", [("Content-Length", "2")])
            return [b"abcdef"]
        if path == "/cl-short":
            start_response("200 OK", [("Content-Length", "10")])
            return [b"abc"]
        start_response("200 OK", [("Content-Type", "text/plain"),
                                  ("X-Path", path), ("X-Len", str(len(body)))])
        return [b"body:" + body]
''')

SENTINEL = b"GET /sentinel HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
H = b"Host: x\r\n"
TE = b"Transfer-Encoding: chunked\r\n"


def req(line=b"GET / HTTP/1.1", fields=H, body=b""):
    return line + b"\r\n" + fields + b"\r\n" + body


def post(fields, body=b""):
    return req(b"POST / HTTP/1.1", H + fields, body)


# (id, raw request, final statuses, reusable).  ``reusable``: a keep-alive
# worker must then answer the pipelined sentinel too; otherwise the server
# closes after the listed answers and never reads what follows.
CASES = [
    ("baseline", req(), [200], True),
    # Content-Length and Transfer-Encoding (RFC 9112 section 6.3)
    ("cl-and-te", post(b"Content-Length: 5\r\n" + TE, b"0\r\n\r\n"), [400], False),
    ("te-and-cl", post(TE + b"Content-Length: 5\r\n", b"0\r\n\r\n"), [400], False),
    # RFC 9110 section 8.6 allows refusing identical repeats; upstream does.
    ("cl-duplicate-same", post(b"Content-Length: 3\r\nContent-Length: 3\r\n", b"abc"),
     [400], False),
    ("cl-duplicate-conflict", post(b"Content-Length: 3\r\nContent-Length: 4\r\n", b"abcd"),
     [400], False),
    ("cl-list", post(b"Content-Length: 3, 3\r\n", b"abc"), [400], False),
    ("cl-plus", post(b"Content-Length: +3\r\n", b"abc"), [400], False),
    ("cl-minus", post(b"Content-Length: -1\r\n", b"abc"), [400], False),
    ("cl-inner-space", post(b"Content-Length: 3 4\r\n", b"abc"), [400], False),
    ("cl-hex", post(b"Content-Length: 0x3\r\n", b"abc"), [400], False),
    ("cl-underscore", post(b"Content-Length: 3_0\r\n", b"abc"), [400], False),
    ("cl-empty", post(b"Content-Length: \r\n"), [400], False),
    # Upstream waits for 10**22 bytes here.
    ("cl-huge", post(b"Content-Length: 99999999999999999999999\r\n", b"abc"), [400], False),
    ("cl-ows", post(b"Content-Length: \t3 \r\n", b"abc"), [200], True),
    # Chunked framing (RFC 9112 section 7.1)
    ("chunked", post(TE, b"3\r\nabc\r\n0\r\n\r\n"), [200], True),
    ("chunk-size-overflow", post(TE, b"FFFFFFFFFFFFFFFFF1\r\nabc\r\n0\r\n\r\n"), [400], False),
    ("chunk-size-leading-zeros", post(TE, b"0" * 30 + b"3\r\nabc\r\n0\r\n\r\n"), [200], True),
    ("chunk-size-negative", post(TE, b"-3\r\nabc\r\n0\r\n\r\n"), [400], False),
    ("chunk-size-0x", post(TE, b"0x3\r\nabc\r\n0\r\n\r\n"), [400], False),
    ("chunk-size-junk", post(TE, b"3g\r\nabc\r\n0\r\n\r\n"), [400], False),
    ("chunk-size-leading-space", post(TE, b" 3\r\nabc\r\n0\r\n\r\n"), [400], False),
    ("chunk-size-trailing-space", post(TE, b"3 \r\nabc\r\n0\r\n\r\n"), [400], False),
    ("chunk-size-empty", post(TE, b"\r\nabc\r\n0\r\n\r\n"), [400], False),
    ("chunk-data-too-long", post(TE, b"3\r\nabcd\r\n0\r\n\r\n"), [400], False),
    ("chunk-size-bare-lf", post(TE, b"3\nabc\r\n0\r\n\r\n"), [400], False),
    ("chunk-data-bare-lf", post(TE, b"3\r\nabc\n0\r\n\r\n"), [400], False),
    ("chunk-last-bare-lf", post(TE, b"3\r\nabc\r\n0\n\n"), [400], False),
    ("chunk-ext", post(TE, b'3;a=b;c="d e"\r\nabc\r\n0\r\n\r\n'), [200], True),
    ("chunk-ext-bws", post(TE, b"3 ; a = b\r\nabc\r\n0\r\n\r\n"), [200], True),
    ("chunk-ext-nul", post(TE, b"3;a\x00b\r\nabc\r\n0\r\n\r\n"), [400], False),
    ("chunk-ext-bare-cr", post(TE, b"3;a\rb\r\nabc\r\n0\r\n\r\n"), [400], False),
    ("chunk-ext-open-quote", post(TE, b'3;a="b\r\nabc\r\n0\r\n\r\n'), [400], False),
    ("trailers", post(TE, b"3\r\nabc\r\n0\r\nX-T: 1\r\n\r\n"), [200], True),
    ("trailer-content-length", post(TE, b"3\r\nabc\r\n0\r\nContent-Length: 5\r\n\r\n"),
     [400], False),
    ("trailer-bad-name", post(TE, b"3\r\nabc\r\n0\r\nX T: 1\r\n\r\n"), [400], False),
    ("trailer-nul", post(TE, b"3\r\nabc\r\n0\r\nX-T: a\x00b\r\n\r\n"), [400], False),
    ("trailer-obs-fold", post(TE, b"0\r\nX-T: 1\r\n 2\r\n\r\n"), [400], False),
    # Transfer codings (RFC 9112 sections 6.1 and 6.3)
    # Body passed through still gzip-coded: served, then the connection closes.
    ("te-gzip-chunked", post(b"Transfer-Encoding: gzip, chunked\r\n",
                             b"3\r\nabc\r\n0\r\n\r\n"), [200], False),
    # "identity" is a no-op coding, as upstream takes it; chunked must come last.
    ("te-chunked-identity", post(b"Transfer-Encoding: chunked, identity\r\n",
                                 b"3\r\nabc\r\n0\r\n\r\n"), [400], False),
    ("te-identity", post(b"Transfer-Encoding: identity\r\n"), [400], False),
    ("te-identity-chunked", post(b"Transfer-Encoding: identity, chunked\r\n",
                                 b"3\r\nabc\r\n0\r\n\r\n"), [200], True),
    ("te-chunked-twice", post(b"Transfer-Encoding: chunked, chunked\r\n",
                              b"3\r\nabc\r\n0\r\n\r\n"), [400], False),
    ("te-two-fields", post(TE + TE, b"3\r\nabc\r\n0\r\n\r\n"), [400], False),
    ("te-gzip-only", post(b"Transfer-Encoding: gzip\r\n", b"abc"), [400], False),
    ("te-unknown", post(b"Transfer-Encoding: xchunked\r\n", b"abc"), [501], False),
    ("te-quoted", post(b'Transfer-Encoding: "chunked"\r\n', b"0\r\n\r\n"), [501], False),
    ("te-mixed-case", post(b"Transfer-Encoding: Chunked\r\n", b"3\r\nabc\r\n0\r\n\r\n"),
     [200], True),
    ("te-vertical-tab", post(b"Transfer-Encoding: chunked\x0b\r\n", b"0\r\n\r\n"),
     [400], False),
    ("te-http10", req(b"POST / HTTP/1.0", H + TE, b"3\r\nabc\r\n0\r\n\r\n"), [400], False),
    # Line endings and field syntax (RFC 9112 sections 2.2 and 5)
    ("bare-lf-head", b"GET / HTTP/1.1\nHost: x\n\n", [400], False),
    ("bare-lf-field", b"GET / HTTP/1.1\r\nHost: x\nX: y\r\n\r\n", [400], False),
    ("bare-cr-field", b"GET / HTTP/1.1\r\nHost: x\rX: y\r\n\r\n", [400], False),
    ("bare-cr-request-line", b"GET / HTTP/1.1\rHost: x\r\n\r\n", [400], False),
    ("obs-fold", req(fields=H + b"X-A: a\r\n b\r\n"), [400], False),
    ("first-field-indented", req(fields=b" X-A: a\r\n" + H), [400], False),
    ("space-before-colon", req(fields=H + b"X-A : a\r\n"), [400], False),
    ("space-before-colon-te", post(b"Transfer-Encoding : chunked\r\n",
                                   b"3\r\nabc\r\n0\r\n\r\n"), [400], False),
    ("empty-field-name", req(fields=H + b": a\r\n"), [400], False),
    ("field-without-colon", req(fields=H + b"X-A a\r\n"), [400], False),
    ("field-name-bad-char", req(fields=H + b"X(A): a\r\n"), [400], False),
    ("field-name-8bit", req(fields=H + b"X\xffA: a\r\n"), [400], False),
    ("field-value-nul", req(fields=H + b"X-A: a\x00b\r\n"), [400], False),
    ("field-value-ctl", req(fields=H + b"X-A: a\x01b\r\n"), [400], False),
    ("field-value-del", req(fields=H + b"X-A: a\x7fb\r\n"), [400], False),
    ("field-value-obs-text", req(fields=H + b"X-A: a\xe9b\r\n"), [200], True),
    ("field-value-htab", req(fields=H + b"X-A: a\tb\r\n"), [200], True),
    # Request line (RFC 9112 section 3)
    ("method-lowercase", req(b"get / HTTP/1.1"), [400], False),
    ("method-bad-token", req(b"GE(T / HTTP/1.1"), [400], False),
    ("method-nul", req(b"G\x00T / HTTP/1.1"), [400], False),
    ("method-extension", req(b"PURGE / HTTP/1.1"), [200], True),
    ("request-line-double-space", req(b"GET  / HTTP/1.1"), [400], False),
    ("request-line-tab", req(b"GET\t/ HTTP/1.1"), [400], False),
    ("request-line-trailing-space", req(b"GET / HTTP/1.1 "), [400], False),
    ("target-space", req(b"GET /a b HTTP/1.1"), [400], False),
    ("target-8bit", req(b"GET /\xe9 HTTP/1.1"), [400], False),
    ("absolute-form", req(b"GET http://example.com/p?q=1 HTTP/1.1"), [200], True),
    ("authority-form-get", req(b"GET example.com:80 HTTP/1.1"), [400], False),
    ("asterisk-options", req(b"OPTIONS * HTTP/1.1"), [200], True),
    ("asterisk-get", req(b"GET * HTTP/1.1"), [400], False),
    # Versions (RFC 9112 section 2.3, RFC 9110 section 15.6.6)
    ("http10-close", b"GET / HTTP/1.0\r\n\r\n", [200], False),
    # Kept alive only when the body has a Content-Length: this one is close-delimited.
    ("http10-keep-alive", b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", [200], False),
    ("http11-close", req(fields=H + b"Connection: close\r\n"), [200], False),
    ("http09", b"GET /\r\n\r\n", [400], False),
    # Well-formed but unsupported majors: 505 (upstream: 400).
    ("http20", req(b"GET / HTTP/2.0"), [505], False),
    ("http30", req(b"GET / HTTP/3.0"), [505], False),
    ("h2-preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", [505], False),
    # A later 1.x minor is answered as 1.1 (RFC 9110 section 2.5; upstream sync: no answer).
    ("http12", req(b"GET / HTTP/1.2"), [200], True),
    ("http-lowercase", req(b"GET / http/1.1"), [400], False),
    ("http-two-digit-minor", req(b"GET / HTTP/1.10"), [400], False),
    ("http-no-minor", req(b"GET / HTTP/1"), [400], False),
    # Pipelining
    ("pipelined-good-then-bad", req() + req(fields=H + b"X A: b\r\n"), [200, 400], False),
    ("pipelined-smuggle-attempt",
     post(b"Content-Length: 4\r\n" + TE, b"0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"),
     [400], False),
    ("pipelined-body-then-request", post(b"Content-Length: 3\r\n", b"abc") + req(),
     [200, 200], True),
    ("empty-line-before-request", b"\r\n" + req(), [200], True),
    ("two-empty-lines-before-request", b"\r\n\r\n" + req(), [400], False),
    # Expect (RFC 9110 section 10.1.1)
    ("expect-unknown", post(b"Content-Length: 3\r\nExpect: foo\r\n", b"abc"), [417], False),
    ("expect-http10-ignored", req(b"POST / HTTP/1.0", H + b"Content-Length: 3\r\n"
                                  b"Expect: 100-continue\r\n", b"abc"), [200], False),
    # Host (RFC 9112 section 3.2): repeated or not a valid host[:port] is a 400
    # (upstream 27.0.1 accepts invalid ones).  A missing Host in HTTP/1.1 is a
    # 400 too (the same section's MUST; upstream serves it); HTTP/1.0 needs none.
    ("host-missing", b"GET / HTTP/1.1\r\n\r\n", [400], False),
    ("host-missing-post", b"POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n", [400], False),
    ("host-missing-http10", b"GET / HTTP/1.0\r\n\r\n", [200], False),
    ("host-empty", req(fields=b"Host:\r\n"), [200], True),
    ("host-ipv6-port", req(fields=b"Host: [::1]:8000\r\n"), [200], True),
    ("host-ipv6-zone-id", req(fields=b"Host: [fe80::1%25eth0]\r\n"), [200], True),
    ("host-pct-encoded", req(fields=b"Host: ex%41mple.com\r\n"), [200], True),
    ("host-duplicate", req(fields=b"Host: a\r\nHost: b\r\n"), [400], False),
    ("host-with-space", req(fields=b"Host: a b\r\n"), [400], False),
    ("host-with-userinfo", req(fields=b"Host: u@h\r\n"), [400], False),
    ("host-with-path", req(fields=b"Host: h/x\r\n"), [400], False),
    ("host-bad-port", req(fields=b"Host: h:8x\r\n"), [400], False),
    # Limits at their defaults: 100 fields, 8190 bytes a field, 4094 a request line
    ("too-many-fields", req(fields=H + b"".join(b"X-%d: v\r\n" % i for i in range(100))),
     [431], False),
    ("field-too-long", req(fields=H + b"X-A: " + b"a" * 8190 + b"\r\n"), [431], False),
    ("request-line-too-long", req(b"GET /" + b"a" * 4095 + b" HTTP/1.1"), [414], False),
    # Misbehaving applications (PEP 3333): a 500 unless bytes were already sent
    ("app-raises-before-start", req(b"GET /raise-before HTTP/1.1"), [500], False),
    ("app-raises-after-start", req(b"GET /raise-after HTTP/1.1"), [500], False),
    ("app-raises-mid-body", req(b"GET /raise-iter HTTP/1.1"), [200], False),
    ("app-str-body", req(b"GET /str-body HTTP/1.1"), [500], False),
    ("app-bytes-not-iterable-of-bytes", req(b"GET /bytes-body HTTP/1.1"), [500], False),
    ("app-none-body", req(b"GET /none-body HTTP/1.1"), [500], False),
    ("app-no-start-response", req(b"GET /no-start HTTP/1.1"), [500], False),
    # sys.exit() in the app: a 500 (as upstream), then the sync worker is replaced.
    ("app-sys-exit", req(b"GET /exit HTTP/1.1"), [500], False),
    ("app-bad-status", req(b"GET /bad-status HTTP/1.1"), [500], False),
    ("app-header-injection", req(b"GET /header-injection HTTP/1.1"), [500], False),
    # Hop-by-hop headers from the app are left out, as upstream does.
    ("app-transfer-encoding", req(b"GET /hop-te HTTP/1.1"), [200], True),
    ("app-connection-close", req(b"GET /conn-close HTTP/1.1"), [200], False),
    ("app-204-content-length", req(b"GET /204cl HTTP/1.1"), [204], True),
    ("app-304-content-length", req(b"GET /304cl HTTP/1.1"), [304], True),
    ("app-body-longer-than-cl", req(b"GET /cl-long HTTP/1.1"), [200], True),
    ("app-body-shorter-than-cl", req(b"GET /cl-short HTTP/1.1"), [200], False),
    ("head", req(b"HEAD / HTTP/1.1"), [200], True),
    ("head-204", req(b"HEAD /204cl HTTP/1.1"), [204], True),
]


def exchange(port, data, timeout=5.0):
    """Send ``data`` and read until the server closes; (bytes, seconds taken)."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        chunks = []
        try:
            while chunk := s.recv(65536):
                chunks.append(chunk)
        except ConnectionResetError:
            pass
    return b"".join(chunks), time.monotonic() - started


def final_statuses(response):
    codes = [int(c) for c in re.findall(rb"HTTP/1\.[01] (\d{3}) ", response)]
    return [c for c in codes if c >= 200]


def messages(response):
    """(head, body) of each response on the wire, framed by its Content-Length or chunks."""
    out = []
    rest = response
    while rest:
        head, sep, rest = rest.partition(b"\r\n\r\n")
        assert sep, "truncated head %r" % (head,)
        status = int(head.split(b" ", 2)[1])
        fields = {}
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            fields[name.strip().lower()] = value.strip()
        if status in (204, 304) or 100 <= status < 200:
            body = b""
        elif b"content-length" in fields:
            size = int(fields[b"content-length"])
            body, rest = rest[:size], rest[size:]
        elif fields.get(b"transfer-encoding") == b"chunked":
            body = b""
            while True:
                size_line, _, rest = rest.partition(b"\r\n")
                size = int(size_line, 16)
                if size == 0:
                    _, _, rest = rest.partition(b"\r\n")
                    break
                body, rest = body + rest[:size], rest[size + 2:]
        else:
            body, rest = rest, b""
        out.append((status, fields, body))
    return out


@pytest.fixture(scope="module", params=["sync", "gthread"])
def server(request, tmp_path_factory):
    root = tmp_path_factory.mktemp("conformance_app")
    (root / "conformance_app.py").write_text(APP)
    args = ["--chdir", str(root), "-w", "1", "-k", request.param, "--timeout", "2",
            "--keep-alive", "2", "--graceful-timeout", "1"]
    if request.param == "gthread":
        args += ["--threads", "2"]
    with ServerProcess(*args, "conformance_app:app") as srv:
        srv.worker_class = request.param
        # The port accepts as soon as the master listens, before a worker is forked.
        srv.first_workers = wait_for(srv.worker_pids, 10, message="the first worker")
        yield srv


def test_table_covers_the_brief():
    assert len(CASES) >= 100
    assert len({name for name, *_ in CASES}) == len(CASES)


@pytest.mark.parametrize("name,raw,statuses,reusable", CASES, ids=[c[0] for c in CASES])
def test_case(server, name, raw, statuses, reusable):
    if server.worker_class == "sync":
        # One request per connection: what was pipelined after it is never read.
        expected = statuses[:1]
    else:
        expected = list(statuses)
        if reusable:
            expected.append(200)  # the sentinel
    response, took = exchange(server.port, raw + SENTINEL)
    assert took < 4, "%s: the server did not close within 4 s" % name
    assert final_statuses(response) == expected, response[:600]
    assert b"Traceback" not in response and b"RuntimeError" not in response
    assert b"/smuggled" not in response
    if expected[-1] >= 400:
        assert b"Connection: close\r\n" in response
    if expected == statuses + [200] and 200 <= statuses[0] < 300 \
            and not raw.startswith(b"HEAD "):
        # Framing held: each message parsed to its end and the sentinel is last.
        parsed = messages(response)
        assert [status for status, _, _ in parsed if status >= 200] == expected
        assert parsed[-1][1].get(b"x-path") == b"/sentinel"


def test_head_and_bodyless_statuses_carry_no_body(server):
    raw = (req(b"HEAD / HTTP/1.1") + req(b"GET /204cl HTTP/1.1") + req(b"GET /304cl HTTP/1.1")
           + req(b"HEAD /cl-long HTTP/1.1"))
    response, _ = exchange(server.port, raw + SENTINEL)
    assert b"hello" not in response and b"abc" not in response
    if server.worker_class == "gthread":
        assert final_statuses(response) == [200, 204, 304, 200, 200]
        # Only the sentinel's body: nothing leaked, so every head parsed in turn.
        assert response.count(b"body:") == 1 and b"X-Path: /sentinel" in response
    else:
        assert final_statuses(response) == [200] and b"body:" not in response


@pytest.mark.parametrize("raw", [
    req(b"HEAD /raise-before HTTP/1.1"),
    req(b"HEAD /no-start HTTP/1.1"),
    req(b"HEAD / HTTP/1.1", H + b"Content-Length: x\r\n"),
    req(b"HEAD / HTTP/1.1", H + b"Expect: foo\r\n"),
    # Refused while the fields are read, before any request exists.
    req(b"HEAD / HTTP/1.1", H + b"Bad Name: x\r\n"),
    req(b"HEAD / HTTP/1.1", b"Host: a b\r\n"),
    b"HEAD / HTTP/1.1\r\n\r\n",
], ids=["app-error", "no-start-response", "bad-content-length", "bad-expect",
        "bad-field-name", "bad-host", "missing-host"])
def test_error_answers_to_head_carry_no_content(server, raw):
    # RFC 9110 section 9.3.2 (upstream sends its error page body here).
    response, _ = exchange(server.port, raw)
    assert final_statuses(response)[0] >= 400
    assert response.endswith(b"\r\n\r\n") and response.count(b"\r\n\r\n") == 1


def test_expect_100_continue_is_sent_before_the_body(server):
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
        s.sendall(post(b"Content-Length: 3\r\nExpect: 100-continue\r\nConnection: close\r\n"))
        interim = s.recv(65536)
        assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
        s.sendall(b"abc")
        response = b""
        while chunk := s.recv(65536):
            response += chunk
    assert response.startswith(b"HTTP/1.1 200 ") and b"body:abc" in response


def test_binary_on_a_plain_port_is_refused_at_once(server):
    # A TLS ClientHello never sends CRLF: refused without waiting for a
    # timeout (upstream waits until the worker is killed, on sync).
    hello = b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 40
    response, took = exchange(server.port, hello)
    assert final_statuses(response) == [400] and took < 1.5


def test_client_vanishing_mid_body_leaves_the_worker_serving(server):
    s = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    s.sendall(post(b"Content-Length: 100\r\n", b"abc"))
    time.sleep(0.1)
    s.close()
    response, _ = exchange(server.port, SENTINEL)
    assert final_statuses(response) == [200]


def test_app_outliving_the_timeout_gets_a_500_on_sync(server):
    if server.worker_class != "sync":
        pytest.skip("gthread's heartbeat runs beside the app: a slow app is not aborted")
    # The arbiter aborts the worker after --timeout (2 s); the client is told
    # with a 500 (as upstream), not an empty reply, and a new worker serves.
    response, took = exchange(server.port, req(b"GET /sleep HTTP/1.1"), timeout=8)
    assert final_statuses(response) == [500] and took < 6
    response, _ = wait_for(lambda: _answered(server.port), 10, message="server serving again")


def test_slow_head_is_cut_by_the_timeout_and_the_server_recovers(server):
    # A slowloris head: the gthread worker closes the connection itself; the
    # blocking sync worker is replaced by the arbiter once its timeout (2 s) ran out.
    s = socket.create_connection(("127.0.0.1", server.port), timeout=8)
    started = time.monotonic()
    closed = False
    try:
        s.sendall(b"GET / HTTP/1.1\r\n")
        while time.monotonic() - started < 8:
            time.sleep(0.5)
            s.sendall(b"X-Slow: 1\r\n")
    except OSError:
        closed = True
    finally:
        s.close()
    assert closed, "a slow head held the connection for 8 s"
    response, _ = wait_for(lambda: _answered(server.port), 10, message="server serving again")
    assert final_statuses(response) == [200]


def _answered(port):
    try:
        response, took = exchange(port, SENTINEL, timeout=2)
    except OSError:
        return None
    return (response, took) if final_statuses(response) == [200] else None


def test_workers_never_died_or_were_replaced_as_expected(server):
    # Runs last in the module for this server: only the sync worker's slow
    # head may have cost a worker, and the arbiter replaced it.
    pids = wait_for(server.worker_pids, 5, message="a worker")
    assert len(pids) == 1
    if server.worker_class == "gthread":
        assert pids == server.first_workers
    assert "Exception in worker process" not in server.log
