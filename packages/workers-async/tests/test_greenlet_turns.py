"""gevent (both workers) and eventlet: a client that keeps the worker busy cannot starve the other connections.

Greenlets switch only when one waits. A keep-alive client whose next request is
already in the socket (pipelining, or a fast client on loopback) never makes the
server wait on recv(), so without turns its greenlet would run until the client
stops, and every other connection, accept() included, would wait behind it.
"""

import socket
import threading
import time
from pathlib import Path

import pytest
from gunicorn_testsupport import ServerProcess

TESTS = Path(__file__).parent
PIPELINED = 3000
REQUEST = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"


def _read_responses(sock, count, first_seen, done):
    """Read ``count`` responses to GET / off ``sock``; note when the first and last arrive."""
    buffer = b""
    seen = 0
    marker = b"hello from flask"
    while seen < count:
        data = sock.recv(65536)
        if not data:
            break
        buffer += data
        found = buffer.count(marker)
        if found:
            seen += found
            buffer = buffer[buffer.rfind(marker) + len(marker):]
            first_seen.set()
    done["count"] = seen
    done["at"] = time.monotonic()


@pytest.mark.timeout(60)
@pytest.mark.parametrize("worker", ["gevent", "gevent_pywsgi", "eventlet"])
def test_a_pipelining_client_does_not_starve_a_new_connection(worker):
    pytest.importorskip(worker.split("_")[0], reason=f"{worker} is not installed")
    with ServerProcess("-k", worker, "-w", "1", "apps.flask_app:app", cwd=TESTS) as srv:
        busy = socket.create_connection(("127.0.0.1", srv.port), timeout=30)
        first_seen, done = threading.Event(), {}
        reader = threading.Thread(target=_read_responses,
                                  args=(busy, PIPELINED, first_seen, done), daemon=True)
        reader.start()
        busy.sendall(REQUEST * PIPELINED)
        assert first_seen.wait(20), srv.log
        # The busy connection now has thousands of requests queued in its socket.
        with socket.create_connection(("127.0.0.1", srv.port), timeout=30) as other:
            other.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            reply = b""
            while chunk := other.recv(65536):
                reply += chunk
            answered = time.monotonic()
        reader.join(30)
        busy.close()
    assert reply.startswith(b"HTTP/1.1 200"), reply
    assert done.get("count") == PIPELINED, done
    # Answered in a turn of its own, not after the busy client's backlog.
    assert answered < done["at"], (answered, done["at"])
