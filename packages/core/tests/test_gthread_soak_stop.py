"""gthread under stops and restarts: a request a client already sent is answered, never cut off."""

import queue
import signal
import socket
import time
import types

import pytest
from test_gthread import APP, booted_workers, connect, read_response, server

from gunicorn.http.events import NEED_DATA
from gunicorn.workers.gthread import STOP_IDLE_SECONDS, ThreadWorker

pytestmark = pytest.mark.timeout(30)

GET = b"GET /again HTTP/1.1\r\nHost: x\r\n\r\n"


@pytest.fixture
def appdir(tmp_path):
    (tmp_path / "gtapp.py").write_text(APP)
    return tmp_path


def _sent_during_the_stop_is_answered(srv, sock):
    """TERM, then a request on ``sock`` within the stop's grace: answered, clean exit."""
    srv.signal(signal.SIGTERM)
    time.sleep(STOP_IDLE_SECONDS * 0.6)
    sock.sendall(GET)
    _answered(sock)
    assert srv.wait(10) == 0
    sock.close()


def _answered(sock):
    # (Normally with "Connection: close"; on a loaded machine the TERM may
    # reach the worker after the request did, and then it need not close.)
    sock.settimeout(5)
    head, body = read_response(sock)
    assert head.startswith(b"HTTP/1.1 200"), head
    assert body.startswith(b"/again ")


def test_request_on_an_idle_keep_alive_connection_during_a_graceful_stop(appdir):
    # A client that got a keep-alive answer may send its next request just as
    # the worker starts to stop (TERM, HUP, max_requests): closing the idle
    # connection at once resets that request; it is answered instead.
    with server(appdir, "--keep-alive", "30", "--graceful-timeout", "10") as srv:
        booted_workers(srv)
        idle = connect(srv.port)
        idle.sendall(b"GET /first HTTP/1.1\r\nHost: x\r\n\r\n")
        read_response(idle)
        _sent_during_the_stop_is_answered(srv, idle)


def test_request_on_a_fresh_connection_during_a_graceful_stop(appdir):
    # Accepted just before the stop, its request still on the way (a HUP
    # under load with --keep-alive 0 reset such requests).
    with server(appdir, "--keep-alive", "0", "--graceful-timeout", "10") as srv:
        booted_workers(srv)
        fresh = connect(srv.port)
        time.sleep(0.3)  # accepted by the worker
        _sent_during_the_stop_is_answered(srv, fresh)


def test_idle_connections_still_close_soon_after_a_stop(appdir):
    with server(appdir, "--keep-alive", "30", "--graceful-timeout", "10") as srv:
        booted_workers(srv)
        idle = connect(srv.port)
        idle.sendall(b"GET /first HTTP/1.1\r\nHost: x\r\n\r\n")
        read_response(idle)
        started = time.monotonic()
        srv.signal(signal.SIGTERM)
        assert srv.wait(10) == 0
        assert time.monotonic() - started < STOP_IDLE_SECONDS + 2.0
        idle.close()


class _Served:
    """A request whose answer promised keep-alive while another thread stopped the worker."""

    def __init__(self, worker):
        self.worker = worker
        self.keepalive = None

    def handle(self, req):
        self.worker.alive = False  # e.g. another pool thread reached max_requests
        return True


def test_a_promised_keep_alive_connection_is_handed_back_not_closed():
    worker = ThreadWorker.__new__(ThreadWorker)
    worker.alive = True
    worker._quitting = False
    worker._stopping = False
    worker._keepalive = 2
    worker.max_keepalived = 10
    worker.nr_conns = 1
    worker.worker_connections = 100
    worker._queue = queue.SimpleQueue()
    handed, closed = [], []
    worker._hand_back = handed.append
    worker._close_lent = closed.append
    client = types.SimpleNamespace(
        served=None, req=object(), tls=False, sock=None,
        proto=types.SimpleNamespace(next_event=lambda: NEED_DATA))
    client.served = _Served(worker)
    # Not a Request nor a ParseError: _serve hands it straight to handle().
    worker._serve(client)
    assert handed == [client] and closed == []


def test_new_clients_are_refused_during_a_graceful_stop(appdir):
    # Queued behind a listener nobody accepts from any more, a client would
    # send its request and be reset when the worker exits; refused is clean.
    with server(appdir, "--graceful-timeout", "10") as srv:
        booted_workers(srv)
        busy = connect(srv.port)
        busy.sendall(b"GET /slow?1.5 HTTP/1.1\r\nHost: x\r\n\r\n")
        time.sleep(0.3)  # the slow request is in the app
        srv.signal(signal.SIGTERM)
        time.sleep(0.5)
        with pytest.raises(ConnectionRefusedError):
            connect(srv.port, timeout=2).close()
        busy.settimeout(5)
        head, _ = read_response(busy)
        assert head.startswith(b"HTTP/1.1 200")
        assert srv.wait(10) == 0
        busy.close()


def test_clients_already_queued_are_accepted_before_the_listener_closes():
    listener = socket.create_server(("127.0.0.1", 0))
    listener.setblocking(False)
    queued = [socket.create_connection(listener.getsockname(), timeout=5) for _ in range(3)]
    worker = ThreadWorker.__new__(ThreadWorker)
    worker.nr_conns = 0
    worker.worker_connections = 2
    worker.clients = {}
    worker._acceptors = {}
    worker._accepting = False
    worker._first_byte_seconds = 5.0
    worker._listener_fds = {listener.fileno(): listener}
    accepted = []

    def new_client(sock, _listener, _addr):
        accepted.append(sock)
        return types.SimpleNamespace(fd=sock.fileno(), deadline=0.0)

    worker._new_client = new_client
    worker._on_readable = lambda client: None
    try:
        worker._release_listeners()
        # Up to the connection cap, then our copy of the listener is closed.
        assert len(accepted) == 2 and worker.nr_conns == 2
        assert listener.fileno() == -1 and worker._listener_fds == {}
    finally:
        for sock in queued + accepted:
            sock.close()
        listener.close()
