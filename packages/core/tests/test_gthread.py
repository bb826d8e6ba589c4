"""The gthread worker against the real server: keep-alive, pipelining, slow clients, limits, stops."""

import os
import signal
import socket
import struct
import subprocess
import threading
import time

import httpx
import pytest
from gunicorn_testsupport import ServerProcess, wait_for
from wsgi_support import parse_responses

APP = '''
import os, time

def app(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/boom":
        raise RuntimeError("secret-traceback-detail")
    if path == "/slow":
        time.sleep(float(environ.get("QUERY_STRING") or "1"))
    if path == "/big":
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return (b"x" * 65536 for _ in range(2000))
    if path == "/echo":
        body = environ["wsgi.input"].read()
        start_response("200 OK", [("Content-Length", str(len(body)))])
        return [body]
    body = ("%s %s %s %s" % (path, environ["REMOTE_PORT"], os.getpid(),
                             environ["wsgi.multithread"])).encode()
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]
'''


@pytest.fixture
def appdir(tmp_path):
    (tmp_path / "gtapp.py").write_text(APP)
    return tmp_path


def server(appdir, *args, threads="4", **kw):
    return ServerProcess("-k", "gthread", "--threads", threads, "--chdir", str(appdir),
                         *args, "gtapp:app", cwd=appdir,
                         env={"PYTHONPATH": str(appdir)}, **kw)


def fields(text):
    path, port, pid, multithread = text.split()
    return path, int(port), int(pid), multithread


def booted_workers(srv):
    # the master accepts on its socket before its worker has forked
    return wait_for(srv.worker_pids, message="a worker")


def connect(port, timeout=5.0):
    return socket.create_connection(("127.0.0.1", port), timeout=timeout)


def read_response(sock):
    """One response with a Content-Length body: (head bytes, body bytes)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, "closed before a response head: %r" % data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        chunk = sock.recv(65536)
        assert chunk, "closed mid-body"
        body += chunk
    return head, body


def closed_by_peer(sock, timeout):
    """Whether the server closes ``sock`` within ``timeout`` seconds."""
    sock.settimeout(timeout)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def test_keep_alive_reuses_one_connection(appdir):
    with server(appdir) as srv, httpx.Client(timeout=5) as client:
        seen = [fields(client.get(srv.url("/k%d" % i)).text) for i in range(20)]
    assert [s[0] for s in seen] == ["/k%d" % i for i in range(20)]
    assert len({s[1] for s in seen}) == 1, "the server saw more than one peer port"
    assert {s[3] for s in seen} == {"True"}


def test_sync_with_threads_runs_gthread(appdir):
    with ServerProcess("--threads", "3", "--chdir", str(appdir), "gtapp:app", cwd=appdir,
                       env={"PYTHONPATH": str(appdir)}) as srv, httpx.Client() as client:
        first = fields(client.get(srv.url("/a")).text)
        second = fields(client.get(srv.url("/b")).text)
        log = srv.log
    assert "Using worker: gthread" in log
    assert first[1] == second[1], "the sync worker would have closed the connection"


def test_pipelined_requests_answered_in_order(appdir):
    with server(appdir) as srv, connect(srv.port) as sock:
        sock.sendall(b"GET /one HTTP/1.1\r\nHost: x\r\n\r\n"
                     b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
                     b"GET /three HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    responses = parse_responses(data)
    assert [r[0] for r in responses] == [200, 200, 200]
    bodies = [r[2] for r in responses]
    assert bodies[0].startswith(b"/one ")
    assert bodies[1] == b"hello"
    assert bodies[2].startswith(b"/three ")


def test_slowloris_headers_do_not_occupy_threads(appdir):
    with server(appdir, threads="2") as srv:
        drips = [connect(srv.port) for _ in range(20)]
        stop = threading.Event()
        head = b"GET /drip HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 50

        def drip():
            # one byte per second on every connection, never finishing the head
            for index in range(len(head)):
                for sock in drips:
                    try:
                        sock.send(head[index:index + 1])
                    except OSError:
                        pass
                if stop.wait(1.0):
                    return

        dripper = threading.Thread(target=drip, daemon=True)
        dripper.start()
        try:
            time.sleep(1.5)  # the drippers have started their heads
            started = time.monotonic()
            for i in range(4):
                r = httpx.get(srv.url("/normal%d" % i), timeout=5)
                assert r.status_code == 200
            elapsed = time.monotonic() - started
        finally:
            stop.set()
            dripper.join(5)
            for sock in drips:
                sock.close()
    assert elapsed < 1.0, "normal clients waited %.2fs behind slow headers" % elapsed


def test_slow_body_is_read_by_a_pool_thread(appdir):
    with server(appdir) as srv, connect(srv.port) as sock:
        sock.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\n\r\nab")
        time.sleep(0.3)
        sock.sendall(b"cd")
        time.sleep(0.3)
        sock.sendall(b"ef")
        head, body = read_response(sock)
    assert head.startswith(b"HTTP/1.1 200")
    assert body == b"abcdef"


def test_worker_connections_cap(appdir):
    with server(appdir, "--worker-connections", "4", "--threads", "2",
                "--keep-alive", "30") as srv:
        pid = booted_workers(srv)
        idle = [connect(srv.port) for _ in range(7)]
        time.sleep(0.3)
        # At the cap: a new client's request waits in the backlog, unanswered.
        waiting = connect(srv.port)
        waiting.sendall(b"GET /waiting HTTP/1.1\r\nHost: x\r\n\r\n")
        waiting.settimeout(0.5)
        with pytest.raises(TimeoutError):
            waiting.recv(1)
        for sock in idle:
            sock.close()
        waiting.settimeout(5)
        head, body = read_response(waiting)
        waiting.close()
        assert head.startswith(b"HTTP/1.1 200") and body.startswith(b"/waiting ")
        with httpx.Client(timeout=5) as client:
            for i in range(10):
                assert client.get(srv.url("/after%d" % i)).status_code == 200
        assert srv.worker_pids() == pid
        assert "Traceback" not in srv.log


def test_keepalive_timeout_closes_idle_connections(appdir):
    with server(appdir, "--keep-alive", "1") as srv, connect(srv.port) as sock:
        sock.sendall(b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n")
        read_response(sock)
        started = time.monotonic()
        assert closed_by_peer(sock, 4.0)
        waited = time.monotonic() - started
    assert 0.8 <= waited <= 2.5, waited


def test_keepalive_zero_closes_after_each_response(appdir):
    with server(appdir, "--keep-alive", "0") as srv, connect(srv.port) as sock:
        sock.sendall(b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n")
        head, _ = read_response(sock)
        assert b"Connection: close" in head
        assert closed_by_peer(sock, 2.0)


def test_silent_connection_is_closed_after_the_first_byte_wait(appdir):
    with server(appdir, "--keep-alive", "1") as srv, connect(srv.port) as sock:
        started = time.monotonic()
        assert closed_by_peer(sock, 10.0)
        # FIRST_BYTE_SECONDS (5) bounds it, plus one housekeeping tick
        assert 4.5 <= time.monotonic() - started <= 7.0


def test_graceful_term_closes_idle_and_finishes_in_flight(appdir):
    with server(appdir, "--keep-alive", "30", "--graceful-timeout", "10") as srv:
        idle = connect(srv.port)
        idle.sendall(b"GET /first HTTP/1.1\r\nHost: x\r\n\r\n")
        read_response(idle)
        busy = connect(srv.port)
        busy.sendall(b"GET /slow?1.5 HTTP/1.1\r\nHost: x\r\n\r\n")
        time.sleep(0.3)  # the slow request is in the app
        srv.signal(signal.SIGTERM)
        started = time.monotonic()
        assert closed_by_peer(idle, 1.0), "idle keep-alive connection was not closed at once"
        assert time.monotonic() - started < 1.0
        busy.settimeout(5)
        head, body = read_response(busy)
        assert head.startswith(b"HTTP/1.1 200")
        assert b"Connection: close" in head
        assert body.startswith(b"/slow ")
        assert srv.wait(10) == 0
        idle.close()
        busy.close()


def test_quit_does_not_wait_for_a_slow_request(appdir):
    with server(appdir, "--graceful-timeout", "20") as srv:
        busy = connect(srv.port)
        busy.sendall(b"GET /slow?10 HTTP/1.1\r\nHost: x\r\n\r\n")
        time.sleep(0.3)
        started = time.monotonic()
        srv.signal(signal.SIGQUIT)
        srv.wait(8)
        assert time.monotonic() - started < 5
        busy.close()


def test_max_requests_restarts_the_worker_over_keep_alive(appdir):
    with server(appdir, "--max-requests", "5") as srv:
        first = booted_workers(srv)
        with httpx.Client(timeout=5) as client:
            answers = [client.get(srv.url("/m%d" % i)) for i in range(5)]
        assert len({fields(r.text)[1] for r in answers}) == 1, "keep-alive was not used"
        assert answers[-1].headers["connection"] == "close"
        assert len({fields(r.text)[2] for r in answers}) == 1
        wait_for(lambda: srv.worker_pids() and srv.worker_pids() != first,
                 message="a new worker")
        again = httpx.get(srv.url("/after"), timeout=5)
        assert fields(again.text)[2] not in first
        assert "Autorestarting worker after current request." in srv.log


def test_app_exception_gives_500_and_the_worker_goes_on(appdir):
    with server(appdir) as srv, httpx.Client(timeout=5) as client:
        pids = booted_workers(srv)
        r = client.get(srv.url("/boom"))
        assert r.status_code == 500
        assert b"secret-traceback-detail" not in r.content
        for i in range(5):
            assert client.get(srv.url("/ok%d" % i)).status_code == 200
        assert srv.worker_pids() == pids
        assert "secret-traceback-detail" in srv.log


def test_client_reset_mid_response(appdir):
    with server(appdir) as srv:
        pids = booted_workers(srv)
        for _ in range(3):
            sock = connect(srv.port)
            sock.sendall(b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
            assert sock.recv(65536)
            # RST instead of FIN: SO_LINGER on, zero seconds
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close()
        with httpx.Client(timeout=5) as client:
            for i in range(8):
                assert client.get(srv.url("/after%d" % i)).status_code == 200
        assert srv.worker_pids() == pids
        log = srv.log
    assert "Error serving a connection" not in log
    assert "Traceback" not in log


def test_bad_request_is_answered_and_closed(appdir):
    with server(appdir) as srv, connect(srv.port) as sock:
        sock.sendall(b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nBROKEN\r\n\r\n")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
        assert data.startswith(b"HTTP/1.1 200")
        assert b"HTTP/1.1 400" in data
        assert httpx.get(srv.url("/still"), timeout=5).status_code == 200


def test_client_closing_half_way_through_a_head(appdir):
    with server(appdir) as srv:
        for _ in range(5):
            with connect(srv.port) as sock:
                sock.sendall(b"GET /partial HTTP/1.1\r\nHo")
        assert httpx.get(srv.url("/still"), timeout=5).status_code == 200
        assert "Traceback" not in srv.log


def test_many_concurrent_keep_alive_clients(appdir):
    with server(appdir, "--threads", "3") as srv:
        errors = []

        def client_loop(n):
            try:
                with httpx.Client(timeout=10) as client:
                    for i in range(15):
                        r = client.get(srv.url("/c%d-%d" % (n, i)))
                        assert r.text.startswith("/c%d-%d " % (n, i))
            except Exception as exc:  # collected for the main thread
                errors.append(exc)

        workers = [threading.Thread(target=client_loop, args=(n,)) for n in range(12)]
        for t in workers:
            t.start()
        for t in workers:
            t.join(30)
    assert not errors


def test_tls(appdir):
    key, cert = appdir / "key.pem", appdir / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                    str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=localhost"],
                   check=True, capture_output=True, timeout=60)
    with server(appdir, "--keyfile", str(key), "--certfile", str(cert)) as srv, \
            httpx.Client(verify=False, timeout=5) as client:
        base = "https://127.0.0.1:%d" % srv.port
        seen = [fields(client.get(base + "/t%d" % i).text) for i in range(5)]
        r = client.post(base + "/echo", content=os.urandom(200_000))
        assert r.status_code == 200 and len(r.content) == 200_000
    assert len({s[1] for s in seen}) == 1


def test_stalled_body_times_out_and_frees_the_thread(appdir):
    # --timeout bounds each socket wait of a pool thread (and the heartbeat).
    with server(appdir, "--timeout", "2", "--threads", "1", "--log-level", "debug") as srv:
        stalled = connect(srv.port)
        stalled.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nab")
        started = time.monotonic()
        assert closed_by_peer(stalled, 6.0)
        assert 1.5 <= time.monotonic() - started <= 4.5
        stalled.close()
        # the only pool thread is free again
        assert httpx.get(srv.url("/next"), timeout=5).status_code == 200
        log = srv.log
    assert "Ignoring socket timeout" in log
    assert "Traceback" not in log


def test_expect_continue_is_answered_by_the_pool_thread(appdir):
    with server(appdir) as srv, connect(srv.port) as sock:
        sock.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n"
                     b"Expect: 100-continue\r\n\r\n")
        interim = sock.recv(65536)
        assert interim.startswith(b"HTTP/1.1 100 Continue\r\n")
        sock.sendall(b"body")
        head, body = read_response(sock)
        assert head.startswith(b"HTTP/1.1 200") and body == b"body"


def test_http10_keep_alive_and_close(appdir):
    with server(appdir) as srv, connect(srv.port) as sock:
        sock.sendall(b"GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        head, body = read_response(sock)
        assert body.startswith(b"/a ")
        sock.sendall(b"GET /b HTTP/1.0\r\n\r\n")
        head, body = read_response(sock)
        assert body.startswith(b"/b ")
        assert closed_by_peer(sock, 2.0)


def test_graceful_timeout_bounds_the_stop(appdir):
    with server(appdir, "--graceful-timeout", "1") as srv:
        busy = connect(srv.port)
        busy.sendall(b"GET /slow?10 HTTP/1.1\r\nHost: x\r\n\r\n")
        time.sleep(0.3)
        started = time.monotonic()
        srv.signal(signal.SIGTERM)
        srv.wait(8)
        assert time.monotonic() - started < 4
        busy.close()
