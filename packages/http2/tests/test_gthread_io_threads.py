"""gthread's HTTP/2 I/O threads: at most --threads of them, ended once idle."""

import threading
import time

import pytest
from conftest import h2c_server
from raw_client import RawH2Client

from gunicorn.workers.connection_threads import ConnectionThreads

BURST = 12


def _threads(pid):
    with open("/proc/%d/status" % pid) as status:
        for line in status:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    raise AssertionError("no Threads line for %d" % pid)


def _wait_threads(pid, done, seconds):
    deadline = time.monotonic() + seconds
    count = _threads(pid)
    while not done(count) and time.monotonic() < deadline:
        time.sleep(0.1)
        count = _threads(pid)
    return count


def test_a_burst_of_busy_connections_takes_at_most_threads_io_threads():
    # One I/O thread per busy connection would have hundreds of threads fight
    # the main thread for the GIL; the worker stays within --threads of them
    # (plus --threads stream threads), serves every connection in turn, and
    # ends the idle ones afterwards.
    with h2c_server("--keep-alive", "1", threads="2") as srv:
        with RawH2Client(srv.port) as warm:
            assert warm.response(warm.request("/sized"))[0] == 200
        [pid] = srv.worker_pids()
        baseline = _wait_threads(pid, lambda n: False, 0.3)
        clients = [RawH2Client(srv.port) for _ in range(BURST)]
        try:
            sids = [c.request("/slow?0.3") for c in clients]
            peak = _wait_threads(pid, lambda n: n > baseline + 4, 2)
            assert all(c.response(sid)[0] == 200 for c, sid in zip(clients, sids, strict=True))
        finally:
            for c in clients:
                c.close()
        assert peak <= baseline + 4, (baseline, peak)
        settled = _wait_threads(pid, lambda n: n <= baseline + 1, 12)
        assert settled <= baseline + 1, (baseline, peak, settled)
        # Served as before once the threads are gone.
        with RawH2Client(srv.port) as again:
            assert again.response(again.request("/sized"))[0] == 200


def _wait(predicate, seconds=5.0):
    deadline = time.monotonic() + seconds
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.01)
    return predicate()


def test_each_job_gets_a_thread_at_once_up_to_the_limit():
    pool = ConnectionThreads(3, "t", idle_seconds=5)
    gate = threading.Event()
    started = []
    try:
        for n in range(4):
            pool.submit(lambda n=n: (started.append(n), gate.wait(5)))
        assert _wait(lambda: len(started) == 3)
        time.sleep(0.05)
        assert sorted(started) == [0, 1, 2] and pool.threads() == 3
        gate.set()
        # The one past the limit waited for a thread, then ran on it.
        assert _wait(lambda: len(started) == 4)
    finally:
        gate.set()
        pool.shutdown()


def test_a_parked_thread_is_reused_then_ends_when_idle():
    pool = ConnectionThreads(4, "t", idle_seconds=0.3)
    names = []
    pool.submit(lambda: names.append(threading.current_thread().name))
    assert _wait(lambda: len(names) == 1)
    time.sleep(0.05)
    pool.submit(lambda: names.append(threading.current_thread().name))
    assert _wait(lambda: len(names) == 2)
    assert names[0] == names[1] and pool.threads() == 1
    assert _wait(lambda: pool.threads() == 0, 3)
    pool.submit(lambda: names.append(threading.current_thread().name))
    assert _wait(lambda: len(names) == 3)
    pool.shutdown()


def test_shutdown_ends_parked_threads_and_refuses_jobs():
    pool = ConnectionThreads(4, "t", idle_seconds=30)
    done = threading.Event()
    pool.submit(done.set)
    assert done.wait(5)
    assert _wait(lambda: len(pool._parked) == 1)
    pool.shutdown()
    assert _wait(lambda: pool.threads() == 0, 3)
    with pytest.raises(RuntimeError):
        pool.submit(done.set)
