"""``gunicorn -k asgi`` as a real server: lifespan, graceful TERM, limits, WebSocket close."""

import asyncio
import importlib.util
import signal
import socket
import time
from pathlib import Path

import httpx
import pytest
import websockets
from gunicorn_testsupport import ServerProcess, raw_request, wait_for

TESTS = Path(__file__).parent


def events(path):
    return path.read_text().split("\n") if path.exists() else []


@pytest.fixture
def events_file(tmp_path):
    return tmp_path / "events.txt"


def serve(events_file, *args, **kw):
    return ServerProcess("-k", "asgi", *args, "apps.starlette_app:app", cwd=TESTS,
                         env={"ASGI_TEST_EVENTS": str(events_file)}, **kw)


def test_http_websocket_and_lifespan(events_file):
    with serve(events_file, "--access-logfile", "-") as srv:
        assert httpx.get(srv.url("/state")).text == "hello from lifespan"
        # asgi_loop=auto takes uvloop exactly when it is installed
        expected = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
        assert expected in httpx.get(srv.url("/loop")).text

        async def talk():
            async with websockets.connect(f"ws://127.0.0.1:{srv.port}/ws") as ws:
                await ws.send("over the real server")
                return await ws.recv()
        assert asyncio.run(talk()) == "over the real server"
        srv.stop()
        assert srv.proc.returncode == 0
        log = srv.log
    assert '"GET /state HTTP/1.1" 200' in log
    assert events(events_file)[:1] == ["startup"]
    assert "shutdown" in events(events_file)


def test_malformed_request_is_answered_and_logged_at_debug_only(events_file):
    # Upstream's asgi worker logs nothing for these: a public port must not
    # fill the log at the default level.
    with serve(events_file, "--log-level", "debug") as srv:
        reply = raw_request(srv.port, b"GET / HTTP/1.1\r\nBad Header\r\n\r\n")
        assert reply.startswith(b"HTTP/1.1 400 ")
        wait_for(lambda: "[DEBUG] Invalid request from ip=127.0.0.1:" in srv.log,
                 message="the debug line")
        assert "[WARNING] Invalid request" not in srv.log


def test_asyncio_loop_setting(events_file):
    with serve(events_file, "--asgi-loop", "asyncio") as srv:
        assert httpx.get(srv.url("/loop")).text.startswith("asyncio.")


def test_graceful_term_finishes_in_flight_request(events_file):
    with serve(events_file, "--graceful-timeout", "10") as srv:
        assert httpx.get(srv.url("/")).status_code == 200  # the worker has booted
        result = {}

        def slow_request():
            result["r"] = httpx.get(srv.url("/slow?t=1.5"), timeout=10)

        import threading
        t = threading.Thread(target=slow_request)
        t.start()
        wait_for(lambda: srv.worker_pids(), message="worker")
        time.sleep(0.5)
        srv.signal(signal.SIGTERM)
        # New connections are refused or not served once the stop began.
        t.join(10)
        assert result["r"].status_code == 200 and result["r"].text == "slow done"
        assert srv.wait(10) == 0
    assert events(events_file)[:3] == ["startup", "slow-done", "shutdown"]


def test_graceful_timeout_cuts_long_request(events_file):
    with serve(events_file, "--graceful-timeout", "1") as srv:
        assert httpx.get(srv.url("/")).status_code == 200  # the worker has booted
        import threading
        result = {}

        def slow_request():
            try:
                result["r"] = httpx.get(srv.url("/slow?t=30"), timeout=10)
            except httpx.HTTPError as exc:
                result["e"] = exc
        t = threading.Thread(target=slow_request)
        t.start()
        time.sleep(0.5)
        started = time.monotonic()
        srv.signal(signal.SIGTERM)
        srv.wait(10)
        t.join(10)
        assert time.monotonic() - started < 5
    assert "e" in result or result["r"].status_code >= 500


def test_term_closes_websocket_with_1001(events_file):
    with serve(events_file) as srv:
        async def main():
            async with websockets.connect(f"ws://127.0.0.1:{srv.port}/ws") as ws:
                await ws.send("hi")
                await ws.recv()
                srv.signal(signal.SIGTERM)
                with pytest.raises(websockets.ConnectionClosed) as info:
                    await asyncio.wait_for(ws.recv(), 10)
                return info.value.rcvd.code
        assert asyncio.run(main()) == 1001
        assert srv.wait(10) == 0


def test_lifespan_startup_failure_halts_the_server(tmp_path):
    srv = ServerProcess("-k", "asgi", "apps.failing_lifespan:app", cwd=TESTS, wait_ready=False)
    with srv:
        code = srv.wait(15)
        log = srv.log
    # As upstream: the worker exits WORKER_BOOT_ERROR and the arbiter halts with 3.
    assert code == 3, log
    assert "Worker failed to boot." in log
    assert "database unreachable" in log
    assert "Traceback" not in log


def test_lifespan_on_requires_support(tmp_path):
    srv = ServerProcess("-k", "asgi", "--asgi-lifespan", "on", "apps.bare_app:app",
                        cwd=TESTS, wait_ready=False)
    with srv:
        assert srv.wait(15) == 3


def test_lifespan_off_serves_without_it(events_file):
    with serve(events_file, "--asgi-lifespan", "off") as srv:
        assert httpx.get(srv.url("/")).text == "hello"
    assert "startup" not in events(events_file)


def test_max_requests_recycles_the_worker(events_file):
    with serve(events_file, "--max-requests", "2") as srv:
        pids = set()
        for _ in range(6):
            r = httpx.get(srv.url("/loop"), headers={"Connection": "close"}, timeout=5)
            pids.add(r.text.split()[-1])
            time.sleep(0.2)
        assert len(pids) >= 2


def test_worker_connections_caps_open_connections(events_file):
    with serve(events_file, "--worker-connections", "2", "--keep-alive", "30") as srv:
        held = []
        for _ in range(2):
            s = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            assert s.recv(65536).startswith(b"HTTP/1.1 200")
            held.append(s)
        third = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
        third.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        third.settimeout(0.7)
        with pytest.raises(TimeoutError):
            third.recv(65536)
        held[0].close()
        third.settimeout(5)
        assert third.recv(65536).startswith(b"HTTP/1.1 200")
        for s in [third] + held[1:]:
            s.close()


def test_server_hooks_run(events_file):
    with serve(events_file, "-c", str(TESTS / "apps" / "hooks_conf.py")) as srv:
        httpx.get(srv.url("/"))
        wait_for(lambda: "post_request / 200 OK GET" in events(events_file), 5,
                 message="post_request hook")
    lines = events(events_file)
    assert "post_worker_init ASGIWorker" in lines
    assert "pre_request GET /" in lines


def test_wsgi_app_refused_with_clear_error():
    srv = ServerProcess("-k", "asgi", "apps.flask_app:app", cwd=TESTS, wait_ready=False)
    with srv:
        code = srv.wait(15)
        log = srv.log
    assert code == 4, log
    assert "WSGI callable" in log


def test_sigquit_stops_at_once(events_file):
    with serve(events_file, "--graceful-timeout", "30") as srv:
        assert httpx.get(srv.url("/")).status_code == 200  # the worker has booted
        import threading
        t = threading.Thread(target=lambda: _swallow(lambda: httpx.get(srv.url("/slow?t=30"),
                                                                        timeout=10)))
        t.start()
        time.sleep(0.5)
        started = time.monotonic()
        srv.signal(signal.SIGQUIT)
        srv.wait(10)
        assert time.monotonic() - started < 5
        t.join(10)


def _swallow(fn):
    try:
        fn()
    except httpx.HTTPError:
        pass


def test_blocked_loop_is_aborted_by_the_heartbeat_timeout(events_file):
    with serve(events_file, "--timeout", "2", "-c", str(TESTS / "apps" / "hooks_conf.py")) as srv:
        first = wait_for(lambda: _try_get(srv.url("/loop")), 15, message="worker").split()[-1]
        with pytest.raises(httpx.HTTPError):
            httpx.get(srv.url("/block?t=20"), timeout=15)
        wait_for(lambda: "worker_abort ASGIWorker" in events(events_file), 10,
                 message="worker_abort hook")
        second = wait_for(lambda: _try_get(srv.url("/loop")), 15, message="new worker")
        assert second.split()[-1] != first


def _try_get(url):
    try:
        return httpx.get(url, timeout=2).text
    except httpx.HTTPError:
        return None


def test_unix_socket_listener(events_file, tmp_path):
    sock_path = tmp_path / "asgi.sock"
    srv = ServerProcess("-k", "asgi", "-b", f"unix:{sock_path}", "apps.starlette_app:app",
                        cwd=TESTS, bind=False, env={"ASGI_TEST_EVENTS": str(events_file)})
    with srv:
        wait_for(sock_path.exists, 15, message="unix socket")
        transport = httpx.HTTPTransport(uds=str(sock_path))

        def get():
            try:
                with httpx.Client(transport=transport) as client:
                    return client.get("http://local/info/u").json()
            except httpx.HTTPError:
                return None
        data = wait_for(get, 15, message="response over the unix socket")
        assert data["path"] == "/info/u" and data["client"] is None


def test_slow_lifespan_startup_keeps_the_heartbeat(tmp_path):
    with ServerProcess("-k", "asgi", "--timeout", "2", "apps.slow_lifespan:app",
                       cwd=TESTS) as srv:
        r = wait_for(lambda: _try_get(srv.url("/")), 15, message="app after slow startup")
        assert r == "started slowly"
        assert "WORKER TIMEOUT" not in srv.log.upper()


def test_500_concurrent_slow_requests_on_one_worker(events_file):
    from test_greenlet_workers import concurrent_slow_requests

    with serve(events_file, "-w", "1", "--backlog", "2048") as srv:
        started = time.monotonic()
        responses = concurrent_slow_requests(srv.port, 500, 1)
        elapsed = time.monotonic() - started
    assert [status for status, _ in responses] == [200] * 500
    assert elapsed < 15, elapsed


@pytest.mark.parametrize("delay", [0.02, 0.1, 0.2])
def test_term_while_the_worker_boots_is_not_lost(events_file, delay):
    # uvloop drops a signal that reaches a loop handler before the loop runs;
    # the worker must still stop (not wait for the master's SIGKILL).
    with serve(events_file) as srv:
        time.sleep(delay)
        srv.signal(signal.SIGTERM)
        assert srv.wait(8) == 0


def test_reload_picks_up_a_changed_app(tmp_path):
    module = tmp_path / "reloadable_app.py"
    source = '''
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"VERSION"})
'''
    module.write_text(source.replace("VERSION", "one"))
    with ServerProcess("-k", "asgi", "--reload", "reloadable_app:app", cwd=tmp_path) as srv:
        assert wait_for(lambda: _try_get(srv.url("/")), 15, message="first version") == "one"
        time.sleep(1.1)  # a distinct mtime for the poll reloader
        module.write_text(source.replace("VERSION", "two"))
        wait_for(lambda: _try_get(srv.url("/")) == "two", 20, message="reloaded version")


def test_proxy_protocol_client_in_scope(events_file):
    with serve(events_file, "--proxy-protocol", "v1") as srv:
        out = srv.request(b"PROXY TCP4 203.0.113.9 10.0.0.1 4444 80\r\n"
                          b"GET /info/p HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 200 ")
    assert b'"client":["203.0.113.9",4444]' in out


def test_root_path_setting(events_file):
    with serve(events_file, "--root-path", "/api") as srv:
        data = httpx.get(srv.url("/info/x")).json()
    # As upstream: root_path is reported, not prepended to path (Starlette strips
    # a root_path that path starts with, so /api/... from a proxy works too).
    assert data["root_path"] == "/api" and data["path"] == "/info/x"


# -- differences from upstream 27.0.1's asgi worker (the audit's regressions) ----------

def _audit(*args):
    return ServerProcess("-k", "asgi", *args, "apps.audit_app:app", cwd=TESTS)


def _get(srv, path, version=b"HTTP/1.1", extra=b""):
    return srv.request(b"GET " + path + b" " + version + b"\r\nHost: x\r\n" + extra
                       + b"Connection: close\r\n\r\n")


def test_early_hint_and_informational_send_103_before_the_response():
    with _audit() as srv:
        hinted = _get(srv, b"/early-hint")
        informed = _get(srv, b"/informational")
        old_client = _get(srv, b"/early-hint", b"HTTP/1.0")
    assert hinted.startswith(b"HTTP/1.1 103 Early Hints\r\n")
    assert b"\r\nlink: </style.css>; rel=preload; as=style\r\n\r\nHTTP/1.1 200 OK\r\n" in hinted
    assert hinted.endswith(b"hinted")
    assert informed.startswith(b"HTTP/1.1 103 Early Hints\r\nlink: </app.js>; rel=preload\r\n\r\n")
    assert informed.endswith(b"informed")
    # RFC 9110 section 15.2: no 1xx to an HTTP/1.0 client.
    assert old_client.startswith(b"HTTP/1.0 200 OK\r\n") and b"103" not in old_client


def test_str_response_headers_are_accepted_as_upstream_does():
    with _audit() as srv:
        resp = httpx.get(srv.url("/str-headers"))
    assert resp.status_code == 200 and resp.text == "str"
    assert resp.headers["x-str"] == "yes"


def test_websocket_upgrade_on_post_or_http10_is_plain_http():
    ws = (b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
          b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n")
    with _audit() as srv:
        post = srv.request(b"POST /p HTTP/1.1\r\nHost: x\r\n" + ws
                           + b"Content-Length: 0\r\nConnection: close\r\n\r\n")
        old = srv.request(b"GET /o HTTP/1.0\r\nHost: x\r\n" + ws + b"\r\n")
    # RFC 9110 section 7.8: the Upgrade is ignored (a MUST for HTTP/1.0).
    assert post.startswith(b"HTTP/1.1 200 OK\r\n") and b'"type": "http"' in post
    assert old.startswith(b"HTTP/1.0 200 OK\r\n") and b'"path": "/o"' in old


def test_grace_period_cancellation_is_not_a_warning():
    # A client that leaves mid-request is routine: upstream logs the cancellation
    # at debug level once asgi_disconnect_grace_period runs out.
    with _audit("--asgi-disconnect-grace-period", "0", "--log-level", "debug") as srv:
        with socket.create_connection(("127.0.0.1", srv.port)) as sock:
            sock.sendall(b"GET /sleep HTTP/1.1\r\nHost: x\r\n\r\n")
            time.sleep(0.3)
        wait_for(lambda: "request cancelled (client disconnected)" in srv.log, 10,
                 message="debug cancellation line")
        log = srv.log
    assert "[WARNING] request cancelled" not in log


def test_messages_after_a_complete_response_are_ignored():
    # ASGI (more_body): once complete, further messages on the channel are ignored.
    with _audit() as srv:
        with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as sock:
            sock.sendall(b"GET /after-end HTTP/1.1\r\nHost: x\r\n\r\n"
                         b"GET /str-headers HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            out = b""
            while chunk := sock.recv(65536):
                out += chunk
        time.sleep(0.2)
        log = srv.log
    first, _, second = out.partition(b"HTTP/1.1 200 OK\r\n")[2].partition(b"HTTP/1.1 ")
    assert first.endswith(b"\r\n\r\none") and second.startswith(b"200 OK") and out.endswith(b"str")
    assert "Error handling request" not in log and "Traceback" not in log


def test_websocket_accept_takes_str_headers_as_upstream_does():
    async def talk(port):
        async with websockets.connect(f"ws://127.0.0.1:{port}/ws-str-headers") as ws:
            return ws.response.headers.get("x-str")

    with _audit() as srv:
        assert asyncio.run(talk(srv.port)) == "yes"
