"""HTTP/2 connections across the worker's life: idle expiry, TERM, max_requests, few threads."""

import signal
import threading
import time

import h2.events
import pytest
from conftest import curl, h2c_server, tls_server
from hyperframe.frame import GoAwayFrame
from raw_client import RawH2Client


def test_idle_connection_gets_goaway_and_closes_after_keepalive():
    with h2c_server("--keep-alive", "1") as srv, RawH2Client(srv.port) as c:
        assert c.response(c.request("/sized"))[0] == 200
        started = time.monotonic()
        c.sock.settimeout(5)
        assert c.read_until(lambda: c.closed)
        waited = time.monotonic() - started
        assert c.goaway() is not None and c.goaway().error_code == 0
        assert waited < 3.5, waited


def test_term_finishes_the_stream_in_flight_after_goaway(tmp_path):
    srv = h2c_server()
    mark = tmp_path / "started"
    with srv, RawH2Client(srv.port) as c:
        sid = c.request("/marked-slow?%s" % mark)
        deadline = time.monotonic() + 10
        while not mark.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        srv.signal(signal.SIGTERM)    # the app is sleeping now
        status, _, body, _ = c.response(sid)
        assert status == 200 and body == b"slept"
        assert c.read_until(lambda: c.goaway() is not None)
        assert c.goaway().error_code == 0 and c.goaway().last_stream_id == sid
        assert srv.wait(10) == 0


def test_term_closes_an_idle_connection_with_goaway():
    srv = h2c_server()
    with srv, RawH2Client(srv.port) as c:
        assert c.response(c.request("/sized"))[0] == 200
        srv.signal(signal.SIGTERM)
        c.sock.settimeout(5)
        assert c.read_until(lambda: c.closed)
        assert c.goaway() is not None and c.goaway().error_code == 0
        assert srv.wait(10) == 0


def test_max_requests_restarts_the_worker_after_goaway():
    with h2c_server("--max-requests", "3") as srv:
        first = srv.worker_pids()
        with RawH2Client(srv.port) as c:
            for _ in range(3):
                assert c.response(c.request("/sized"))[0] == 200
            assert c.read_until(lambda: c.goaway() is not None)
        deadline = time.monotonic() + 10
        while srv.worker_pids() == first and time.monotonic() < deadline:
            time.sleep(0.1)
        assert srv.worker_pids() != first
        assert curl("--http2-prior-knowledge", "-o", "/dev/null", "-w", "%{http_code}",
                    "http://127.0.0.1:%d/" % srv.port).stdout == b"200"


def test_an_idle_http2_connection_does_not_hold_the_only_thread():
    with h2c_server(threads="1") as srv, RawH2Client(srv.port) as idle:
        assert idle.response(idle.request("/sized"))[0] == 200
        # ``idle`` stays open; another connection is still served at once.
        with RawH2Client(srv.port) as other:
            assert other.response(other.request("/sized"))[0] == 200
        # And the idle one can carry on afterwards.
        assert idle.response(idle.request("/sized"))[0] == 200


def test_busy_http2_connections_do_not_hold_the_http1_threads():
    # Two HTTP/2 connections with a slow stream each: their apps run on the two
    # stream threads; their socket I/O must not take both request threads too.
    with h2c_server(threads="2") as srv, RawH2Client(srv.port) as a, \
            RawH2Client(srv.port) as b:
        slow = [(c, c.request("/slow?2")) for c in (a, b)]
        time.sleep(0.3)
        started = time.monotonic()
        got = curl("-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:%d/sized" % srv.port)
        assert got.stdout == b"200"
        assert time.monotonic() - started < 1.2
        assert all(c.response(sid)[0] == 200 for c, sid in slow)


def test_concurrent_connections_with_uploads():
    with h2c_server(threads="2") as srv:
        errors = []

        def client(n):
            try:
                data = bytes([n]) * 150_000
                with RawH2Client(srv.port) as c:
                    for _ in range(3):
                        status, _, body, _ = c.response(c.request("/echo", method="POST",
                                                                  body=data))
                        assert status == 200 and body == data
            except Exception as exc:          # reported below, with its thread
                errors.append((n, exc))

        threads = [threading.Thread(target=client, args=(n,)) for n in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert not errors


def test_peer_goaway_ends_the_connection_cleanly():
    with h2c_server() as srv:
        with RawH2Client(srv.port) as c:
            sid = c.request("/sized")
            assert c.response(sid)[0] == 200
            before = srv.worker_pids()
            c.request("/slow?0.3")
            frame = GoAwayFrame(0)
            frame.last_stream_id = 0
            c.sock.sendall(frame.serialize())
            c.sock.settimeout(5)
            assert c.read_until(lambda: c.closed)
        assert curl("--http2-prior-knowledge", "-o", "/dev/null", "-w", "%{http_code}",
                    "http://127.0.0.1:%d/" % srv.port).stdout == b"200"
        assert srv.worker_pids() == before


@pytest.mark.parametrize("keepalive", ["0"])
def test_keepalive_zero_closes_after_the_streams(keepalive):
    with h2c_server("--keep-alive", keepalive) as srv, RawH2Client(srv.port) as c:
        assert c.response(c.request("/sized"))[0] == 200
        c.sock.settimeout(5)
        assert c.read_until(lambda: c.closed)
        assert isinstance(c.goaway(), h2.events.ConnectionTerminated)


def test_a_silent_tls_h2_client_does_not_hold_the_only_thread(cert):
    import socket
    import ssl

    with tls_server(cert, threads="1") as srv:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.set_alpn_protocols(["h2"])
        raw = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
        with ctx.wrap_socket(raw, server_hostname="localhost") as silent:
            assert silent.selected_alpn_protocol() == "h2"
            # It never sends its preface; another client is still served at once.
            started = time.monotonic()
            with RawH2Client(srv.port, tls=True) as other:
                assert other.response(other.request("/sized"))[0] == 200
            assert time.monotonic() - started < 3


def test_streams_of_one_connection_run_concurrently_up_to_threads():
    with h2c_server(threads="4") as srv, RawH2Client(srv.port) as c:
        assert c.response(c.request("/sized"))[0] == 200
        started = time.monotonic()
        sids = [c.request("/slow?0.6") for _ in range(4)]
        assert all(c.response(sid)[0] == 200 for sid in sids)
        # One after another this would take 2.4 s.
        assert time.monotonic() - started < 1.8


def test_one_thread_runs_one_stream_at_a_time():
    with h2c_server(threads="1") as srv, RawH2Client(srv.port) as c:
        assert c.response(c.request("/sized"))[0] == 200
        started = time.monotonic()
        sids = [c.request("/slow?0.3") for _ in range(3)]
        assert all(c.response(sid)[0] == 200 for sid in sids)
        assert time.monotonic() - started >= 0.85
