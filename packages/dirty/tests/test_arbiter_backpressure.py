"""Backpressure: a slow stream client pauses its worker's generator, not the arbiter."""

import os
import signal
import time

import pytest
from dirty_server_support import (
    ECHO,
    all_gone,
    booted_workers,
    call,
    dirty_server,
    events,
    worker_pids,
)
from gunicorn_testsupport import wait_for

from gunicorn.dirty.client import DirtyClient
from gunicorn.dirty.errors import DirtyError

pytestmark = pytest.mark.timeout(90)

MiB = 1024 * 1024
TOTAL = 64 * MiB
CHUNK = 64 * 1024
# What the arbiter may hold beyond its start-up size while one client stalls:
# the pause threshold, the worker link's buffers, allocator slack. Without
# backpressure it takes the whole 64 MiB stream in.
RSS_ALLOWANCE = 16 * MiB


def vm_rss(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for {pid}")


def test_slow_stream_client_bounds_the_arbiter_and_others_flow(tmp_path):
    # one dirty worker with two threads: the other call shares the slow
    # stream's worker, so pausing must be per call, not per worker link;
    # a stall shorter than dirty_timeout does not time the paused stream out
    with dirty_server(tmp_path, "--dirty-threads", "2", "--dirty-timeout", "8",
                      workers=1) as srv:
        status = booted_workers(srv, 1)
        arbiter_pid = status["pid"]
        # warm up the web worker's path and the arbiter's, then take the baseline
        assert call(srv, ECHO, "echo", "warm")["result"] == "warm"
        base = vm_rss(arbiter_pid)

        client = DirtyClient(status["socket"], timeout=30)
        stream = client.stream(ECHO, "blob", TOTAL, CHUNK)
        first = next(stream)
        assert int.from_bytes(first[:8], "big") == 0

        # stall for 3 s: the arbiter's memory stays bounded meanwhile
        peak = base
        others = []
        stall_end = time.monotonic() + 3.0
        while time.monotonic() < stall_end:
            peak = max(peak, vm_rss(arbiter_pid))
            if len(others) < 3:
                start = time.monotonic()
                assert call(srv, ECHO, "echo", len(others))["result"] == len(others)
                others.append(time.monotonic() - start)
            time.sleep(0.05)
        assert peak - base < RSS_ALLOWANCE, (base, peak, srv.log)
        # the other client's calls went through promptly during the stall
        assert max(others) < 1.0, others

        # now read the rest: every byte, in order, nothing timed out
        received = len(first)
        expected_index = 1
        for chunk in stream:
            assert int.from_bytes(chunk[:8], "big") == expected_index
            expected_index += 1
            received += len(chunk)
            peak = max(peak, vm_rss(arbiter_pid)) if expected_index % 64 == 0 else peak
        assert received == TOTAL
        assert expected_index == TOTAL // CHUNK
        assert peak - base < RSS_ALLOWANCE, (base, peak)
        client.close()
        assert "timed out" not in srv.log


def test_a_paused_stream_whose_client_leaves_is_stopped(tmp_path):
    with dirty_server(tmp_path, workers=1) as srv:
        status = booted_workers(srv, 1)
        client = DirtyClient(status["socket"], timeout=30)
        stream = client.stream(ECHO, "endless_blob", CHUNK)
        next(stream)
        # let the worker run into the pause: it makes only about flow.HIGH_WATER
        # worth of chunks (plus what the sockets hold), not an endless stream
        time.sleep(1.0)
        stream.close()   # closes the stream's own connection
        line = wait_for(lambda: next((e for e in events(srv)
                                      if e.startswith("endless_blob closed")), None),
                        10, message=f"the generator was never closed\n{srv.log}")
        made = int(line.split()[3])
        assert made * CHUNK < 16 * MiB, line
        # the worker's thread is free again
        assert call(srv, ECHO, "echo", "free")["result"] == "free"


def test_a_paused_stream_finishes_on_a_worker_retired_by_hup(tmp_path):
    # the retiring worker must keep reading its link, or it never hears "resume"
    total = 16 * MiB
    with dirty_server(tmp_path, workers=1) as srv:
        status = booted_workers(srv, 1)
        old = worker_pids(status)
        client = DirtyClient(status["socket"], timeout=30)
        stream = client.stream(ECHO, "blob", total, CHUNK)
        received = len(next(stream))
        time.sleep(0.5)   # paused by now
        os.kill(status["pid"], signal.SIGHUP)
        wait_for(lambda: not set(worker_pids(booted_workers(srv, 1))) & set(old), 10,
                 message=f"a fresh worker\n{srv.log}")
        assert all_gone(old, timeout=0.5) == old   # still busy with the stream
        index = 1
        try:
            for chunk in stream:
                assert int.from_bytes(chunk[:8], "big") == index
                index += 1
                received += len(chunk)
        except DirtyError as exc:
            raise AssertionError(f"{exc} after {index} chunks\n{srv.log}")
        assert received == total
        assert all_gone(old) == []
        client.close()


def read_on_until_error(stream, limit=100000):
    """Read a cancelled stream's queued chunks; the DirtyError that ends it (None if it ends)."""
    try:
        for n, _ in enumerate(stream):
            assert n < limit, "the stream never ended"
    except DirtyError as exc:
        return exc
    return None


def _open_endless_stream(srv):
    """(worker pids, client, stream) with the stream's first chunk read and the rest left unread."""
    status = booted_workers(srv, 1)
    client = DirtyClient(status["socket"], timeout=30)
    stream = client.stream(ECHO, "endless_blob", CHUNK)
    next(stream)
    return worker_pids(status), client, stream


def test_a_stream_paused_past_dirty_timeout_is_cancelled_and_frees_its_thread(tmp_path):
    # a client that stays connected but never reads must not hold the only
    # worker thread forever: after dirty_timeout the stream is cancelled
    with dirty_server(tmp_path, "--dirty-threads", "1", "--dirty-timeout", "2",
                      workers=1) as srv:
        old, client, stream = _open_endless_stream(srv)
        start = time.monotonic()
        # the only thread is held by the paused stream: this call waits for it
        assert call(srv, ECHO, "echo", "freed")["result"] == "freed"
        waited = time.monotonic() - start
        assert 1.0 < waited < 5.0, (waited, srv.log)
        # the generator was closed (its finally ran) in the same worker, not killed
        wait_for(lambda: any(e.startswith("endless_blob closed") for e in events(srv)), 5,
                 message=f"the generator was never closed\n{srv.log}")
        assert worker_pids(booted_workers(srv, 1)) == old
        exc = read_on_until_error(stream)
        assert type(exc).__name__ == "DirtyTimeoutError", (exc, srv.log)
        client.close()


def test_a_paused_stream_does_not_keep_a_hup_retired_worker_past_graceful_timeout(tmp_path):
    # no dirty_timeout: only the graceful timeout bounds the retiring worker's wait
    with dirty_server(tmp_path, "--dirty-timeout", "0", "--dirty-graceful-timeout", "2",
                      workers=1) as srv:
        old, client, stream = _open_endless_stream(srv)
        time.sleep(0.5)   # paused by now
        hup = time.monotonic()
        srv.signal(signal.SIGHUP)
        assert all_gone(old, timeout=6.0) == [], srv.log
        assert time.monotonic() - hup < 5.0
        assert any(e.startswith("endless_blob closed") for e in events(srv)), srv.log
        exc = read_on_until_error(stream)
        assert type(exc).__name__ == "DirtyTimeoutError", (exc, srv.log)
        # the fresh worker serves
        assert call(srv, ECHO, "echo", "fresh")["result"] == "fresh"
        client.close()
