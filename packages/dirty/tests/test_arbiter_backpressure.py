"""Backpressure: a slow stream client pauses its worker's generator, not the arbiter."""

import time

import pytest
from dirty_server_support import ECHO, booted_workers, call, dirty_server, events
from gunicorn_testsupport import wait_for

from gunicorn.dirty.client import DirtyClient

pytestmark = pytest.mark.timeout(90)

MiB = 1024 * 1024
TOTAL = 64 * MiB
CHUNK = 64 * 1024
# What the arbiter may hold beyond its start-up size while one client stalls:
# the pause threshold, the worker link's buffers, allocator slack. Without
# backpressure it takes the whole 64 MiB stream in.
RSS_ALLOWANCE = 24 * MiB


def vm_rss(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for {pid}")


def test_slow_stream_client_bounds_the_arbiter_and_others_flow(tmp_path):
    # one dirty worker with two threads: the other call shares the slow
    # stream's worker, so pausing must be per call, not per worker link;
    # dirty_timeout 2 < the stall: a paused stream is not timed out
    with dirty_server(tmp_path, "--dirty-threads", "2", "--dirty-timeout", "2",
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
