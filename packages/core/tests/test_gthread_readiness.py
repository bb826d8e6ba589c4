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
