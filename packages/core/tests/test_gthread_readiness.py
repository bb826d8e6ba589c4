"""The gthread worker's one-shot pollers: a client reports once per arming, sources always."""

import os
import socket
import threading

import pytest

from gunicorn.workers import readiness

POLLERS = [readiness.OneShotSelector]
if readiness._EPOLL is not None:
    POLLERS.append(readiness.OneShotEpoll)


@pytest.fixture(params=POLLERS, ids=lambda cls: cls.__name__)
def poller(request):
    p = request.param()
    yield p
    p.close()


@pytest.fixture
def pair():
    a, b = socket.socketpair()
    yield a, b
    a.close()
    b.close()


def test_client_reports_once_until_rearmed(poller, pair):
    ours, peer = pair
    poller.add_client(ours.fileno())
    assert poller.poll(0) == []
    peer.sendall(b"x")
    assert poller.poll(1) == [ours.fileno()]
    # still readable, but disarmed: a pool thread may own it now
    assert poller.poll(0.05) == []
    poller.rearm(ours.fileno())
    assert poller.poll(1) == [ours.fileno()]


def test_rearm_for_writing(poller, pair):
    # A TLS handshake that must write first waits for writability instead.
    ours, peer = pair
    poller.add_client(ours.fileno())
    peer.sendall(b"x")
    assert poller.poll(1) == [ours.fileno()]
    ours.recv(1)
    poller.rearm(ours.fileno(), write=True)
    assert poller.poll(1) == [ours.fileno()]


def test_sources_stay_armed(poller):
    r, w = os.pipe()
    try:
        poller.add_source(r)
        os.write(w, b"x")
        assert poller.poll(1) == [r]
        assert poller.poll(0) == [r]
        poller.remove_source(r)
        assert poller.poll(0) == []
    finally:
        os.close(r)
        os.close(w)


def test_removed_client_never_reports(poller, pair):
    ours, peer = pair
    poller.add_client(ours.fileno())
    poller.remove_client(ours.fileno())
    poller.remove_client(ours.fileno())  # twice is harmless
    peer.sendall(b"x")
    assert poller.poll(0.05) == []


@pytest.mark.skipif(readiness._EPOLL is None, reason="epoll is Linux-only")
def test_epoll_rearm_from_another_thread_wakes_the_poll(pair):
    poller = readiness.OneShotEpoll()
    ours, peer = pair
    try:
        poller.add_client(ours.fileno())
        peer.sendall(b"x")
        assert poller.poll(1) == [ours.fileno()]
        timer = threading.Timer(0.1, poller.rearm, args=(ours.fileno(),))
        timer.start()
        assert poller.poll(2) == [ours.fileno()]
        timer.join()
    finally:
        poller.close()


def test_make_poller_prefers_epoll():
    p = readiness.make_poller()
    try:
        expected = readiness.OneShotEpoll if readiness._EPOLL else readiness.OneShotSelector
        assert isinstance(p, expected)
    finally:
        p.close()


def test_readable_now_reports_bytes_and_end_of_stream():
    pairs = [socket.socketpair() for _ in range(3)]
    try:
        (quiet, _), (sent, sender), (ended, ender) = pairs
        sender.sendall(b"GET / HTTP/1.1\r\n")
        ender.close()
        fds = [s.fileno() for s in (quiet, sent, ended)]
        assert readiness.readable_now(fds) == {sent.fileno(), ended.fileno()}
        assert readiness.readable_now([]) == set()
    finally:
        for a, b in pairs:
            a.close()
            b.close()


def _expiring_worker():
    from types import SimpleNamespace

    from gunicorn.workers.gthread import ThreadWorker
    from gunicorn.workers.threaded_client import ThreadedClient

    worker = ThreadWorker.__new__(ThreadWorker)
    worker.clients = {}
    worker._stopping = False
    closed = []
    worker._close_owned = closed.append

    def add(sock, deadline, head_started=False, handshaking=False):
        served = SimpleNamespace(conn=SimpleNamespace(proto=None))
        client = ThreadedClient(sock.fileno(), sock, served)
        client.deadline, client.head_started = deadline, head_started
        client.handshaking = handshaking
        worker.clients[client.fd] = client
        return client

    return worker, add, closed


def test_expired_keepalive_connection_with_its_next_request_waiting_is_not_closed():
    # Under load the main loop runs late: a kept-alive connection may pass its
    # deadline while its next request already sits in the socket. Closing it
    # then resets a request the client sent; the poll that follows reads it.
    pairs = [socket.socketpair() for _ in range(5)]
    try:
        worker, add, closed = _expiring_worker()
        idle = add(pairs[0][0], deadline=1.0)
        waiting = add(pairs[1][0], deadline=1.0)
        pairs[1][1].sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        # A head that started and stalled is closed even with bytes waiting (slowloris).
        stalled = add(pairs[2][0], deadline=1.0, head_started=True)
        pairs[2][1].sendall(b"X-Slow: 1\r\n")
        # A TLS handshake may be waiting to write: readable tells nothing there.
        handshake = add(pairs[3][0], deadline=1.0, handshaking=True)
        pairs[3][1].sendall(b"\x16\x03\x01")
        not_yet = add(pairs[4][0], deadline=5.0)
        worker._close_expired(2.0)
        assert closed == [idle, stalled, handshake]
        assert waiting not in closed and not_yet not in closed
    finally:
        for a, b in pairs:
            a.close()
            b.close()


def test_stopping_still_spares_a_waiting_request_and_closes_the_idle():
    pairs = [socket.socketpair() for _ in range(2)]
    try:
        worker, add, closed = _expiring_worker()
        worker._stopping = True
        idle = add(pairs[0][0], deadline=50.0)
        waiting = add(pairs[1][0], deadline=50.0)
        pairs[1][1].sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        worker._close_expired(2.0)
        assert closed == [idle]
        assert waiting not in closed
    finally:
        for a, b in pairs:
            a.close()
            b.close()
