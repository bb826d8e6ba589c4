"""Bad packets sent straight to the server: refused, logged, connection closed, app never called."""

import socket
import struct
import time

import pytest
from gunicorn_testsupport import ServerProcess, wait_for
from stacks import APPS, UnixServerProcess

from gunicorn.uwsgi.packet import encode_packet

pytestmark = pytest.mark.timeout(60)

GOOD = encode_packet([("REQUEST_METHOD", "GET"), ("REQUEST_URI", "/good"), ("PATH_INFO", "/good")])


def exchange(port, data, half_close=False, timeout=5.0):
    """Send ``data``; return (reply bytes, whether the server closed within ``timeout``)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        chunks = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                return b"".join(chunks), False
            except ConnectionResetError:
                return b"".join(chunks), True
            if not chunk:
                return b"".join(chunks), True
            chunks.append(chunk)
        return b"".join(chunks), False


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    calls = tmp_path_factory.mktemp("calls") / "calls.txt"
    # Tight head limits bound the vars block at 4094 + 4 + 10 * 102 + 4 = 5122 bytes
    # plus 2 * 4094 + 4096 for what nginx adds (17406): room for 1001 tiny vars
    # (5005 bytes), not for a 30000-byte block.
    with ServerProcess("--protocol", "uwsgi", "--log-level", "debug",
                       "--limit-request-fields", "10", "--limit-request-field_size", "100",
                       "uwsgi_app:app", cwd=str(APPS),
                       env={"UWSGI_TEST_CALLS_FILE": str(calls)}) as proc:
        proc.calls = calls
        yield proc


def var(key: bytes, value: bytes) -> bytes:
    return struct.pack("<H", len(key)) + key + struct.pack("<H", len(value)) + value


def packet(block: bytes, modifier1=0, datasize=None) -> bytes:
    size = len(block) if datasize is None else datasize
    return struct.pack("<BHB", modifier1, size, 0) + block


BAD_INPUTS = {
    # name: (bytes, half-close after sending, status, what the log says)
    "truncated header": (b"\x00\x10", True, 400, "truncated header"),
    "truncated vars": (packet(var(b"REQUEST_METHOD", b"GET"), datasize=200), True, 400,
                       "truncated packet"),
    "datasize beyond limit": (packet(b"", datasize=30000), False, 400, "over the limit"),
    "var length overruns block": (packet(b"\x09\x00AB"), False, 400, "truncated key"),
    "value length overruns block": (packet(b"\x01\x00A\x50\x00abc") + b"body" * 30, False, 400,
                                    "truncated value"),
    "unknown modifier": (packet(var(b"REQUEST_METHOD", b"GET"), modifier1=5), False, 501,
                         "modifier1: 5"),
    "non-ascii key": (packet(var(b"K\xe9Y", b"v")), False, 400, "invalid var name"),
    "utf-8 key": (packet(var("SCHL\u00dcSSEL".encode(), b"v")), False, 400, "invalid var name"),
    "header injection": (packet(var(b"HTTP_X", b"a\r\nb: c")), False, 400, "invalid character"),
    "too many vars": (packet(var(b"K", b"") * 1001), False, 400, "more than 1000 vars"),
    "repeated host": (packet(var(b"HTTP_HOST", b"a") + var(b"HTTP_HOST", b"b")), False, 400,
                      "repeated Host"),
}


@pytest.mark.parametrize("name", list(BAD_INPUTS))
def test_bad_input_is_refused_without_calling_the_app(server, name):
    data, half_close, status, reason = BAD_INPUTS[name]
    reply, closed = exchange(server.port, data, half_close=half_close)
    assert reply.startswith(b"HTTP/1.1 %d " % status), reply[:80]
    assert b"Connection: close" in reply
    assert closed, "server kept the connection open"
    wait_for(lambda: reason in server.log, 5, message=f"{reason!r} in the log\n{server.log}")
    assert not server.calls.exists() or server.calls.read_text() == ""


def test_body_cut_short_is_not_served(server):
    data = encode_packet([("REQUEST_METHOD", "POST"), ("REQUEST_URI", "/echo-body"),
                          ("PATH_INFO", "/echo-body"), ("CONTENT_LENGTH", "100")]) + b"short"
    reply, closed = exchange(server.port, data, half_close=True)
    assert closed
    assert b"200 OK" not in reply


def test_a_good_packet_reaches_the_app(server):
    # Runs last in this module: proves the calls file would have shown a call.
    reply, _ = exchange(server.port, GOOD, half_close=True)
    assert reply.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b'"PATH_INFO": "/good"' in reply
    wait_for(lambda: server.calls.exists() and "/good" in server.calls.read_text(), 5,
             message="the app's call record")


def test_forbidden_peer(tmp_path):
    calls = tmp_path / "calls.txt"
    with ServerProcess("--protocol", "uwsgi", "--log-level", "debug",
                       "--uwsgi-allow-from", "10.11.12.13", "uwsgi_app:app", cwd=str(APPS),
                       env={"UWSGI_TEST_CALLS_FILE": str(calls)}) as proc:
        reply, closed = exchange(proc.port, GOOD)
        assert reply.startswith(b"HTTP/1.1 403 Forbidden\r\n")
        assert closed
        wait_for(lambda: "not allowed" in proc.log, 5, message=f"reason in log\n{proc.log}")
    assert not calls.exists()


def test_unix_socket_peers_ignore_the_allow_list(tmp_path):
    with UnixServerProcess("--protocol", "uwsgi", "--uwsgi-allow-from", "10.11.12.13",
                           "uwsgi_app:app", cwd=str(APPS)) as proc:
        with socket.socket(socket.AF_UNIX) as sock:
            sock.settimeout(5)
            sock.connect(proc.socket_path)
            sock.sendall(GOOD)
            sock.shutdown(socket.SHUT_WR)
            reply = b""
            while chunk := sock.recv(65536):
                reply += chunk
    assert reply.startswith(b"HTTP/1.1 200 OK\r\n")


def test_keep_alive_connection_serves_several_packets():
    # Not what nginx does (it closes after each response) but the protocol allows it.
    with ServerProcess("--protocol", "uwsgi", "--uwsgi-keepalive", "-k", "gthread",
                       "--threads", "2", "uwsgi_app:app", cwd=str(APPS)) as proc:
        with socket.create_connection(("127.0.0.1", proc.port), timeout=5) as sock:
            replies = []
            for index in range(3):
                path = f"/ka/{index}"
                sock.sendall(encode_packet([("REQUEST_METHOD", "GET"), ("REQUEST_URI", path),
                                            ("PATH_INFO", path)]))
                reply = b""
                while b'"PATH_INFO"' not in reply or not reply.endswith(b"}"):
                    chunk = sock.recv(65536)
                    assert chunk, f"closed after {index} replies: {reply!r}"
                    reply += chunk
                replies.append(reply)
    assert all(f'"/ka/{i}"'.encode() in r for i, r in enumerate(replies))


def test_connection_closes_after_the_response_by_default():
    with ServerProcess("--protocol", "uwsgi", "-k", "gthread", "--threads", "2",
                       "uwsgi_app:app", cwd=str(APPS)) as proc:
        with socket.create_connection(("127.0.0.1", proc.port), timeout=5) as sock:
            sock.sendall(GOOD)
            reply = b""
            # No shutdown from our side: the server must close by itself.
            while chunk := sock.recv(65536):
                reply += chunk
    assert reply.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"\r\nConnection: close\r\n" in reply
