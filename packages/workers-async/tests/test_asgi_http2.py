"""HTTP/2 on the asgi worker: TLS with ALPN h2 and h2c prior knowledge, through real clients.

Needs gunicorn-http2 (and so ``h2``); without them every test here skips and
the HTTP/1.1-only fallback is checked instead.
"""

import json
import shutil
import signal
import ssl
import subprocess
import time
from pathlib import Path

import h2_support
import pytest
from gunicorn_testsupport import ServerProcess, run_gunicorn, wait_for

TESTS = Path(__file__).parent
HAVE_HTTP2 = h2_support.http2_installed()
needs_http2 = pytest.mark.skipif(
    not HAVE_HTTP2, reason="gunicorn-http2 (and h2) not installed: the asgi worker has no HTTP/2")
pytestmark = pytest.mark.timeout(30)


def need(tool):
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} is not installed (apt: curl / nghttp2-client)")


def curl(*args, timeout=15):
    return subprocess.run(["curl", "-sS", "--max-time", "10", *args], capture_output=True,
                          timeout=timeout)


@pytest.fixture(scope="module")
def cert(tmp_path_factory):
    if shutil.which("openssl") is None:
        pytest.skip("openssl command not available to make a test certificate")
    d = tmp_path_factory.mktemp("h2tls")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(d / "key.pem"), "-out", str(d / "cert.pem")],
                   check=True, capture_output=True)
    return d / "cert.pem", d / "key.pem"


def _need_app():
    pytest.importorskip("starlette", reason="the HTTP/2 test app is a Starlette app")


@pytest.fixture(scope="module")
def h2c():
    if not HAVE_HTTP2:
        pytest.skip("gunicorn-http2 not installed")
    _need_app()
    with ServerProcess("-k", "asgi", "--http-protocols", "h2,h1",
                       "--http2-cleartext", "both", "--access-logfile", "-",
                       "apps.h2_app:app", cwd=TESTS) as srv:
        yield srv


@pytest.fixture(scope="module")
def tls(cert):
    if not HAVE_HTTP2:
        pytest.skip("gunicorn-http2 not installed")
    _need_app()
    certfile, keyfile = cert
    with ServerProcess("-k", "asgi", "--http-protocols", "h2,h1", "--certfile", str(certfile),
                       "--keyfile", str(keyfile), "apps.h2_app:app", cwd=TESTS) as srv:
        yield srv


# -- negotiation and the scope ------------------------------------------------------

@needs_http2
def test_curl_negotiates_h2_over_tls_and_the_scope_is_http2(tls):
    need("curl")
    out = curl("-k", "--http2", "-w", "\n%{http_version} %{http_code}",
               f"https://127.0.0.1:{tls.port}/info/a%20b?q=1")
    body, _, tail = out.stdout.rpartition(b"\n")
    assert tail == b"2 200", out
    info = json.loads(body)
    assert info["http_version"] == "2"
    assert info["scheme"] == "https"
    assert info["path"] == "/info/a b" and info["raw_path"] == "/info/a%20b"
    assert info["query"] == "q=1"
    assert info["headers"]["host"] == f"127.0.0.1:{tls.port}"
    assert info["tls_version"] in (0x0303, 0x0304)
    assert info["client"][0] == "127.0.0.1"
    # HTTP/1.1 clients still get HTTP/1.1 on the same port.
    out = curl("-k", "--http1.1", "-o", "/dev/null", "-w", "%{http_version}",
               f"https://127.0.0.1:{tls.port}/")
    assert out.stdout == b"1.1", out


@needs_http2
def test_curl_prior_knowledge_h2c_and_http11_on_the_same_port(h2c):
    need("curl")
    out = curl("--http2-prior-knowledge", "-D", "-", f"http://127.0.0.1:{h2c.port}/info/x")
    text = out.stdout.decode()
    head, _, body = text.partition("\r\n\r\n")
    assert head.lower().startswith("http/2 200"), out
    assert "server: gunicorn" in head.lower() and "date: " in head.lower()
    info = json.loads(body)
    assert info["http_version"] == "2" and info["scheme"] == "http"
    out = curl("-o", "/dev/null", "-w", "%{http_version}", f"http://127.0.0.1:{h2c.port}/")
    assert out.stdout == b"1.1", out
    # The access log names the protocol as upstream's asgi worker does.
    wait_for(lambda: '"GET /info/x HTTP/2" 200' in h2c.log, message="an HTTP/2 access line")


@needs_http2
def test_curl_h2c_upgrade_and_bodies_stay_http11(h2c, tmp_path):
    need("curl")
    # RFC 7540 section 3.2: 101, then the request is answered as stream 1,
    # and the connection carries more HTTP/2 requests.
    out = curl("--http2", "-w", " %{http_version};", f"http://127.0.0.1:{h2c.port}/info/up?x=1",
               f"http://127.0.0.1:{h2c.port}/")
    first, _, rest = out.stdout.decode().partition(";")
    body, _, version = first.rpartition(" ")
    info = json.loads(body)
    assert version == "2" and info["http_version"] == "2", out
    assert info["query"] == "x=1" and info["headers"]["host"] == f"127.0.0.1:{h2c.port}"
    assert "upgrade" not in info["headers"] and "http2-settings" not in info["headers"]
    assert rest == "hello 2;", out
    # A request with a body is served as HTTP/1.1 (the RFC lets the server ignore Upgrade).
    out = curl("--http2", "--data-binary", "abc", "-w", " %{http_version}",
               f"http://127.0.0.1:{h2c.port}/echo")
    assert out.stdout == b"abc 1.1", out


# -- load and concurrency ------------------------------------------------------------

@needs_http2
@pytest.mark.parametrize("mode", ["tls", "h2c"])
def test_h2load_bounded(mode, request):
    need("h2load")
    srv = request.getfixturevalue(mode)
    url = (f"https://127.0.0.1:{srv.port}/" if mode == "tls"
           else f"http://127.0.0.1:{srv.port}/")
    out = subprocess.run(["h2load", "-n", "300", "-c", "4", "-m", "10", url],
                         capture_output=True, text=True, timeout=25)
    assert "300 succeeded, 0 failed, 0 errored" in out.stdout, out.stdout + out.stderr
    if mode == "h2c":
        assert "h2c" in out.stdout or "Application protocol: h2c" in out.stdout, out.stdout


@needs_http2
def test_streams_of_one_connection_run_concurrently(h2c):
    client = h2_support.H2Client(h2c.port, timeout=8)
    try:
        # Each answer waits for the other request to arrive: served one after
        # the other, the first would answer "alone" after 5 s.
        first = client.get("/rendezvous")
        second = client.get("/rendezvous")
        assert client.response(first, timeout=8)[2] == b"met"
        assert client.response(second, timeout=8)[2] == b"met"
        started = time.monotonic()
        first = client.get("/slow?t=1")
        second = client.get("/slow?t=1")
        assert client.response(first)[0] == "200"
        assert client.response(second)[0] == "200"
        elapsed = time.monotonic() - started
    finally:
        client.close()
    # One after the other would take 2 s (with a margin for a loaded machine).
    assert elapsed < 1.9, elapsed


# -- bodies and flow control ---------------------------------------------------------

@needs_http2
def test_httpx_http2_streaming_big_download_and_upload(tls, cert):
    httpx = pytest.importorskip("httpx")
    pytest.importorskip("h2", reason="httpx needs h2 for http2=True")
    ctx = ssl.create_default_context(cafile=str(cert[0]))
    blob = bytes(range(256)) * 1024 * 3          # 768 KiB: many 64 KiB windows
    with httpx.Client(http2=True, verify=ctx, timeout=10) as client:
        base = f"https://127.0.0.1:{tls.port}"
        with client.stream("GET", base + "/stream") as r:
            assert r.http_version == "HTTP/2"
            chunks = [c for c in r.iter_bytes() if c]
        assert b"".join(chunks) == b"".join(f"chunk-{i}\n".encode() for i in range(5))
        r = client.get(base + "/big?n=1000000")
        assert r.http_version == "HTTP/2" and len(r.content) == 1000000
        r = client.post(base + "/echo", content=blob)
        assert r.status_code == 200
        assert r.headers["x-received"] == str(len(blob)) and r.content == blob
        r = client.post(base + "/upload", content=blob)
        assert r.json() == {"size": len(blob)}


@needs_http2
def test_curl_upload_bigger_than_the_window_and_file_response(h2c, tmp_path):
    need("curl")
    blob = tmp_path / "up.bin"
    blob.write_bytes(b"z" * (1024 * 1024))
    out = curl("--http2-prior-knowledge", "--data-binary", f"@{blob}",
               f"http://127.0.0.1:{h2c.port}/upload")
    assert json.loads(out.stdout) == {"size": 1024 * 1024}, out
    out = curl("--http2-prior-knowledge", "-w", "%{http_version}",
               f"http://127.0.0.1:{h2c.port}/file")
    source = (TESTS / "apps" / "starlette_app.py").read_bytes()
    assert out.stdout == source + b"2", out.stderr


@needs_http2
def test_response_waits_for_the_clients_window(h2c):
    client = h2_support.H2Client(h2c.port, window=1000)
    try:
        client.auto_ack = False
        sid = client.get("/big?n=200000")
        client.wait(lambda: client.received(sid) >= 1000)
        time.sleep(0.3)
        client.sock.settimeout(0.3)
        client.read_once()      # nothing more may come while the window is shut
        assert client.received(sid) == 1000 and not client.ended(sid)
        client.sock.settimeout(5)
        # WINDOW_UPDATEs let the rest through, 1000 bytes at a time.
        client.auto_ack = True
        client.acknowledge_all(sid)
        status, _headers, body, _ = client.response(sid, timeout=10)
        assert status == "200" and body == b"x" * 200000
    finally:
        client.close()


@needs_http2
def test_an_unread_upload_gets_no_more_window_and_ends_with_no_error(h2c):
    import h2.events

    client = h2_support.H2Client(h2c.port)
    try:
        # The app never reads the body: the stream's window is not reopened.
        sid, sent = client.post_start("/ignore-body", b"u" * 200000)
        assert sent == 65535
        status, _headers, body, _ = client.response(sid)
        assert (status, body) == ("200", b"ignored")
        assert client.h2.local_flow_control_window(sid) == 0
        # RFC 9113 section 8.1: the complete response ends the upload with NO_ERROR.
        client.wait(lambda: client.of(sid, h2.events.StreamReset))
        assert client.of(sid, h2.events.StreamReset)[0].error_code == 0
    finally:
        client.close()


# -- trailers, errors, resets ------------------------------------------------------

@needs_http2
def test_trailers_errors_and_resets_on_one_connection(h2c):
    import h2.events

    client = h2_support.H2Client(h2c.port)
    try:
        sid = client.get("/trailers/")
        status, _headers, body, trailers = client.response(sid)
        assert (status, body, trailers) == ("200", b"data", {"x-checksum": "abc"})
        # The app fails before its response: a 500 page.
        sid = client.get("/boom")
        status, _headers, body, _ = client.response(sid)
        assert status == "500" and body == b"Internal Server Error"
        # The app fails after its head went out: only RST_STREAM can tell.
        sid = client.get("/fail-mid")
        client.wait(lambda: client.ended(sid))
        resets = client.of(sid, h2.events.StreamReset)
        assert resets and resets[0].error_code == 2, client.events  # INTERNAL_ERROR
        # The client resets a stream: the app hears http.disconnect.
        sid = client.get("/wait-disconnect", end=False)
        time.sleep(0.2)
        client.reset(sid)
        for _ in range(20):
            status, _h, body, _t = client.response(client.get("/heard"))
            if body:
                break
            time.sleep(0.1)
        assert body.startswith(b"disconnected"), body
        # The connection is still good for more streams.
        assert client.response(client.get("/"))[2] == b"hello"
    finally:
        client.close()
    assert "failed after the response started" in h2c.log


# -- lifecycle -------------------------------------------------------------------------

@needs_http2
def test_keepalive_expiry_and_graceful_stop_send_goaway():
    _need_app()
    need("curl")
    import h2.events

    with ServerProcess("-k", "asgi", "--http-protocols", "h2,h1", "--http2-cleartext",
                       "prior-knowledge", "--keep-alive", "1", "--graceful-timeout", "5",
                       "apps.h2_app:app", cwd=TESTS) as srv:
        # Idle for `keepalive` seconds after a request: GOAWAY, then closed.
        kept = h2_support.H2Client(srv.port)
        try:
            assert kept.response(kept.get("/"))[2] == b"hello"
            started = time.monotonic()
            kept.wait(lambda: kept.closed, timeout=5)
            waited = time.monotonic() - started
            assert kept.of(0, h2.events.ConnectionTerminated), kept.events
        finally:
            kept.close()
        assert 0.5 < waited < 3.5, waited
        # A response still waiting for the client's window is not an idle connection.
        slow = h2_support.H2Client(srv.port, window=1000)
        try:
            slow.auto_ack = False
            sid = slow.get("/whole")
            slow.wait(lambda: slow.received(sid) >= 1000)
            slow.sock.settimeout(2.0)
            slow.read_once()    # more than `keepalive` with the window shut
            assert not slow.closed and not slow.of(0, h2.events.ConnectionTerminated)
            slow.sock.settimeout(5)
            slow.auto_ack = True
            slow.acknowledge_all(sid)
            assert slow.response(sid)[2] == b"w" * 200000
        finally:
            slow.close()
        # A fresh connection (no request yet) and a stream in flight when TERM comes.
        idle = h2_support.H2Client(srv.port)
        try:
            idle.wait(lambda: idle.events)  # the server's SETTINGS
            busy = subprocess.Popen(
                ["curl", "-sS", "--max-time", "10", "--http2-prior-knowledge",
                 f"http://127.0.0.1:{srv.port}/sleepy-stream"], stdout=subprocess.PIPE)
            time.sleep(0.3)  # curl connects and the app starts its slow body
            srv.signal(signal.SIGTERM)
            out, _ = busy.communicate(timeout=10)
            assert out == b"part0;part1;part2;part3;end"
            # The idle connection is told GOAWAY(NO_ERROR) and closed.
            idle.wait(lambda: idle.closed, timeout=5)
            goaway = idle.of(0, h2.events.ConnectionTerminated)
            assert goaway and goaway[0].error_code == 0, idle.events
        finally:
            idle.close()
        assert srv.wait(10) == 0


# -- without gunicorn-http2 ---------------------------------------------------------

HIDE_HTTP2 = """
import sys

class HideHTTP2:
    def find_spec(self, name, path=None, target=None):
        if name == "h2" or name == "gunicorn.http2" or name.startswith("gunicorn.http2."):
            raise ModuleNotFoundError(name)

sys.meta_path.insert(0, HideHTTP2())
"""


def test_without_gunicorn_http2_asking_for_h2_is_one_error_line(tmp_path):
    # Whether or not it is installed here: a sitecustomize hides it from the server.
    (tmp_path / "sitecustomize.py").write_text(HIDE_HTTP2)
    out = run_gunicorn(TESTS, "-k", "asgi", "-b", "127.0.0.1:0", "--http-protocols", "h2,h1",
                       "--http2-cleartext", "prior-knowledge", "apps.bare_app:app",
                       env={"PYTHONPATH": str(tmp_path)})
    assert out.returncode == 1, out
    assert "needs the gunicorn-http2 distribution" in out.stderr, out.stderr
    assert "Traceback" not in out.stderr


def test_http2_plugin_lookup_failure_falls_back_to_http11(monkeypatch):
    """The worker's own choice, without a server: no entry point means no h2."""
    from gunicorn import plugins
    from gunicorn.workers.gasgi import ASGIWorker

    def missing(group, name, dist=None):
        raise LookupError(f"no entry point {name!r}")

    monkeypatch.setattr(plugins, "load_entry_point", missing)
    worker = ASGIWorker.__new__(ASGIWorker)
    worker.cfg = type("Cfg", (), {"http_protocols": ["h2", "h1"], "protocol": "http",
                                  "is_ssl": False, "http2_cleartext": "prior-knowledge"})()
    worker.log = type("Log", (), {"debug": lambda *a: None})()
    assert worker._http2_plugin() is None
    assert worker._h2c_modes(None)[0] is False
    if HAVE_HTTP2:
        monkeypatch.undo()
        plugin = worker._http2_plugin()
        assert plugin is not None and worker._h2c_modes(plugin)[0] is True


def test_h2c_is_accepted_only_from_trusted_peers():
    """RFC 9113 section 3.3 prior knowledge, but only from forwarded_allow_ips (as core)."""
    from gunicorn.asgi.server import ASGIServer
    from gunicorn.config import Config

    cfg = Config()
    cfg.set("forwarded_allow_ips", "10.0.0.0/8,127.0.0.1")
    server = ASGIServer(None, cfg, None, None, http2=object(), h2c_prior=True)
    assert server.h2c_prior
    assert server.h2c_allowed(("127.0.0.1", 5000))
    assert server.h2c_allowed(("10.1.2.3", 5000))
    assert not server.h2c_allowed(("192.0.2.7", 5000))
    assert not server.h2c_allowed(("192.0.2.7", 5001))  # the cached verdict
    assert server.h2c_allowed("/run/gunicorn.sock")      # unix peers are trusted
    # No plugin, or a TLS listener: never h2c.
    assert not ASGIServer(None, cfg, None, None, http2=None, h2c_prior=True).h2c_prior
    assert not ASGIServer(None, cfg, None, None, http2=object(), h2c_prior=True,
                          ssl_context=object()).h2c_prior


@needs_http2
def test_hooks_see_each_stream_and_a_protocol_error_is_goaway(tmp_path):
    _need_app()
    need("curl")
    import socket

    events = tmp_path / "events"
    events.touch()
    with ServerProcess("-k", "asgi", "--http-protocols", "h2,h1", "--http2-cleartext",
                       "prior-knowledge", "-c", str(TESTS / "apps" / "hooks_conf.py"),
                       "apps.h2_app:app", cwd=TESTS, env={"ASGI_TEST_EVENTS": str(events)}) as srv:
        # (curl 7.88 drops a second URL on a reused prior-knowledge connection: two runs.)
        out = curl("--http2-prior-knowledge", f"http://127.0.0.1:{srv.port}/")
        assert out.stdout == b"hello", out
        out = curl("--http2-prior-knowledge", f"http://127.0.0.1:{srv.port}/info/two")
        assert json.loads(out.stdout)["http_version"] == "2", out
        wait_for(lambda: "post_request /info/two 200 OK GET" in events.read_text(),
                 message="post_request for the second stream")
        lines = events.read_text().splitlines()
        assert "pre_request GET /" in lines and "post_request / 200 OK GET" in lines
        assert "pre_request GET /info/two" in lines
        # RFC 9113 section 6.1: DATA on stream 0 is a connection error: GOAWAY(PROTOCOL_ERROR).
        with socket.create_connection(("127.0.0.1", srv.port), timeout=3) as sock:
            sock.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"
                         + b"\x00\x00\x02\x00\x00\x00\x00\x00\x00ab")
            received = b""
            while True:
                data = sock.recv(65536)
                if not data:
                    break
                received += data
        goaway = received[-17:]
        assert goaway[3] == 0x07 and goaway[-4:] == b"\x00\x00\x00\x01", received.hex()
        assert "Traceback" not in srv.log


# -- floods --------------------------------------------------------------------------

def _unread_ping_flood(port, seconds):
    """PINGs sent for ``seconds`` by a client that never reads the ACKs; returns the socket."""
    from hyperframe.frame import PingFrame

    client = h2_support.H2Client(port)
    ping = PingFrame(0)
    ping.opaque_data = b"12345678"
    burst = ping.serialize() * 2000
    client.sock.settimeout(0.2)
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            client.sock.sendall(burst)
    except OSError:
        pass    # the server stopped reading us
    return client


@needs_http2
def test_a_ping_flood_is_cut_off_and_other_clients_stay_served(h2c):
    # RFC 9113 section 10.5 (CVE-2019-9512): a flood of PINGs, each answered,
    # would keep the event loop parsing and buffering ACKs; past its budget the
    # client gets GOAWAY(ENHANCE_YOUR_CALM) and the worker serves others at once.
    flooder = _unread_ping_flood(h2c.port, 1.5)
    try:
        other = h2_support.H2Client(h2c.port, timeout=8)
        started = time.monotonic()
        sid = other.get("/")
        assert other.response(sid, timeout=8)[0] == "200"
        assert time.monotonic() - started < 2.5  # 4 s and more before the limit
        other.close()
    finally:
        flooder.close()


@needs_http2
def test_a_request_sent_with_goaway_is_still_answered(h2c):
    # RFC 9113 section 6.8: the client's GOAWAY ends new streams, not the open
    # ones; its request (sent in the same write) gets its whole answer.
    import socket

    import h2.config
    import h2.connection

    sock = socket.create_connection(("127.0.0.1", h2c.port), timeout=5)
    client = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    client.initiate_connection()
    client.send_headers(1, [(":method", "GET"), (":path", "/sleepy-stream"), (":scheme", "http"),
                            (":authority", "127.0.0.1")], end_stream=True)
    client.close_connection()
    sock.sendall(client.data_to_send())
    received = b""
    deadline = time.monotonic() + 5
    try:
        while time.monotonic() < deadline and b"end" not in received:
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
    finally:
        sock.close()
    assert b"part3;" in received and b"end" in received


@needs_http2
def test_scope_headers_in_upstreams_order_and_the_priority_extension(h2c):
    client = h2_support.H2Client(h2c.port)
    try:
        sid = client.h2.get_next_available_stream_id()
        client.h2.send_headers(sid, [(":method", "GET"), (":path", "/stream-scope"),
                                     (":scheme", "http"), (":authority", "auth"), ("x-a", "1"),
                                     ("cookie", "a=1"), ("x-b", "2"), ("cookie", "b=2")],
                               end_stream=True, priority_weight=200, priority_depends_on=0)
        client.flush()
        info = json.loads(client.response(sid)[2])
    finally:
        client.close()
    assert info["headers"] == [["x-a", "1"], ["x-b", "2"], ["cookie", "a=1; b=2"],
                               ["host", "auth"]]
    assert info["priority"] == {"weight": 200, "depends_on": 0}


@needs_http2
def test_reading_pauses_while_the_client_does_not_read_our_writes():
    # Frames h2 answers by itself (RST_STREAM for DATA on a closed stream, ACKs)
    # would pile up in the transport's buffer for a client that never reads.
    from types import SimpleNamespace

    from gunicorn.asgi.http2_session import HTTP2Session

    calls = []
    server = SimpleNamespace(cfg=SimpleNamespace(), log=None)
    session = HTTP2Session(server, connection_class=None)
    session.transport = SimpleNamespace(pause_reading=lambda: calls.append("pause"),
                                        resume_reading=lambda: calls.append("resume"))
    session.pause_writing()
    assert session.writing_paused and calls == ["pause"]
    session.resume_writing()
    assert not session.writing_paused and calls == ["pause", "resume"]


@needs_http2
def test_early_hint_is_a_103_headers_frame_over_h2c():
    need("curl")
    with ServerProcess("-k", "asgi", "--http-protocols", "h2,h1", "--http2-cleartext",
                       "prior-knowledge", "apps.audit_app:app", cwd=TESTS) as srv:
        out = curl("--http2-prior-knowledge", "-i", f"http://127.0.0.1:{srv.port}/early-hint")
    text = out.stdout.decode()
    assert text.startswith("HTTP/2 103"), out
    assert "link: </style.css>; rel=preload; as=style" in text
    assert "HTTP/2 200" in text and text.endswith("hinted")
