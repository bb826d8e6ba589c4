"""The asgi server's per-connection path: accepting, attaching without a Task, releasing slots."""

import asyncio
import socket
import sys
import threading

import pytest
from inprocess import InProcessServer, RecordingLog, make_cfg

from gunicorn.asgi.server import ASGIServer, _fixed_sockname

LOOPS = ["asyncio", "uvloop"]


async def scope_echo(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    body = f"{scope['server'][0]}:{scope['server'][1]} {scope['client'][0]}".encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def one_request(port, extra=b""):
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + extra + b"\r\n")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    return data


@pytest.fixture(params=LOOPS)
def loop_name(request, monkeypatch):
    if request.param == "uvloop":
        pytest.importorskip("uvloop", reason="uvloop not installed")
    monkeypatch.setenv("ASGI_TEST_LOOP", request.param)
    return request.param


def test_many_close_connections_are_served_and_released(loop_name):
    with InProcessServer(scope_echo) as srv:
        port = srv.port
        answers = [one_request(port) for _ in range(40)]
        assert all(a.startswith(b"HTTP/1.1 200") for a in answers)
        # The scope's server address is the listener's (one bound address).
        assert answers[0].endswith(f"127.0.0.1:{port} 127.0.0.1".encode())
        server = srv.server
        deadline = 50
        while (server._open or server.connections) and deadline:
            threading.Event().wait(0.05)
            deadline -= 1
        assert server._open == 0 and not server.connections
        assert server.requests_served == 40


def test_concurrent_bursts_beyond_one_accept_batch(loop_name):
    with InProcessServer(scope_echo) as srv:
        results = []

        def client():
            results.append(one_request(srv.port))

        threads = [threading.Thread(target=client) for _ in range(30)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        assert len(results) == 30
        assert all(r.startswith(b"HTTP/1.1 200") for r in results)


@pytest.mark.skipif(not sys.platform.startswith("linux"),
                    reason="only Linux copies TCP_NODELAY from the listener")
def test_nodelay_is_set_once_on_the_listener(loop_name):
    with InProcessServer(scope_echo) as srv:
        assert srv.sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        # Accepted sockets inherit it: none is set per connection.
        assert [entry[2] for entry in srv.server._listeners] == [False]
        assert one_request(srv.port).startswith(b"HTTP/1.1 200")


def test_fixed_sockname_only_for_one_bound_tcp_address(tmp_path):
    bound = socket.socket()
    wildcard = socket.socket()
    unix = socket.socket(socket.AF_UNIX)
    try:
        bound.bind(("127.0.0.1", 0))
        wildcard.bind(("0.0.0.0", 0))
        unix.bind(str(tmp_path / "s.sock"))
        assert _fixed_sockname(bound) == bound.getsockname()
        assert _fixed_sockname(wildcard) is None
        assert _fixed_sockname(unix) is None
    finally:
        for s in (bound, wildcard, unix):
            s.close()


class WildcardServer(InProcessServer):
    """InProcessServer listening on 0.0.0.0 instead of 127.0.0.1."""

    def __enter__(self):
        self.sock = socket.socket()
        self.sock.bind(("0.0.0.0", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("server did not start")
        return self


def test_wildcard_listener_reports_the_connection_address(loop_name):
    with WildcardServer(scope_echo) as srv:
        assert one_request(srv.port).endswith(f"127.0.0.1:{srv.port} 127.0.0.1".encode())


class FakeConn:
    closed = False

    def close(self):
        self.closed = True


def _server_with_loop(loop):
    server = ASGIServer(scope_echo, make_cfg(worker_connections=1), RecordingLog(), None)
    server._loop = loop
    server._listeners = []
    server._open = 1  # the slot the accept took
    return server


def test_setup_that_fails_at_once_releases_its_slot():
    class Loop:
        def connect_accepted_socket(self, factory, conn):
            async def setup():
                raise OSError("bad socket")
            return setup()

    server = _server_with_loop(Loop())
    conn = FakeConn()
    server._attach_plain(conn, None)
    assert conn.closed and server._open == 0
    assert any("connection setup failed" in m for _, m in server.log.messages)


def test_setup_finishing_without_connection_made_releases_its_slot():
    loop = asyncio.new_event_loop()
    try:
        made = loop.create_future()

        class Loop:
            def connect_accepted_socket(self, factory, conn):
                factory()  # the protocol exists but connection_made never runs

                async def setup():
                    await made
                    return None, None
                return setup()

        server = _server_with_loop(Loop())
        conn = FakeConn()
        server._attach_plain(conn, None)
        assert server._open == 1 and not conn.closed  # waiting on the future
        made.set_result(None)
        loop.run_until_complete(asyncio.sleep(0))
        assert conn.closed and server._open == 0
    finally:
        loop.close()


def test_setup_failing_after_its_await_releases_its_slot():
    loop = asyncio.new_event_loop()
    try:
        made = loop.create_future()

        class Loop:
            def connect_accepted_socket(self, factory, conn):
                async def setup():
                    await made
                return setup()

        server = _server_with_loop(Loop())
        conn = FakeConn()
        server._attach_plain(conn, None)
        made.set_exception(ConnectionResetError("gone"))
        loop.run_until_complete(asyncio.sleep(0))
        assert conn.closed and server._open == 0
    finally:
        loop.close()


def test_closed_connections_are_freed_without_the_cyclic_gc(loop_name):
    # Connection, transport and cycle point at each other until teardown breaks
    # the loop; otherwise each connection waits for a (p99-costly) GC pass.
    import gc

    from gunicorn.asgi.http_connection import HTTPConnection

    with InProcessServer(scope_echo) as srv:
        one_request(srv.port)  # warm up
        gc.collect()
        gc.disable()
        try:
            for _ in range(20):
                assert one_request(srv.port).startswith(b"HTTP/1.1 200")
            for _ in range(50):
                if not srv.server.connections and not srv.server._open:
                    break
                threading.Event().wait(0.05)
            threading.Event().wait(0.1)
            left = [o for o in gc.get_objects() if isinstance(o, HTTPConnection)]
        finally:
            gc.enable()
        assert len(left) <= 1, f"{len(left)} connections kept alive only by reference cycles"
