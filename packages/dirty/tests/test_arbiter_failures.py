"""Dirty calls that go wrong: a timeout, a crashing worker; the arbiter replaces the worker."""

import asyncio
import os
import signal
import threading
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

pytestmark = pytest.mark.timeout(60)


def test_timeout_answers_the_client_and_replaces_the_worker(tmp_path):
    # gthread: the two calls reach the dirty arbiter at once
    with dirty_server(tmp_path, "--dirty-timeout", "1", "-k", "gthread", "--threads", "4",
                      workers=1) as srv:
        before = worker_pids(booted_workers(srv, 1))
        # a second call queued behind the one that times out is not lost with
        # the killed worker: the replacement answers it
        behind = {}
        second = threading.Thread(target=lambda: (time.sleep(0.3), behind.update(
            call(srv, ECHO, "echo", "behind"))))
        second.start()
        started = time.monotonic()
        reply = call(srv, ECHO, "sleep", 5)
        elapsed = time.monotonic() - started
        assert reply["error_type"] == "DirtyTimeoutError", reply
        assert 0.9 <= elapsed < 3.5, elapsed
        second.join(20)
        assert behind.get("result") == "behind", behind
        # the worker that was still busy is gone; a fresh one answers, and no
        # late "5" from the old one ever reaches a client
        assert all_gone(before) == []
        after = worker_pids(booted_workers(srv, 1))
        assert set(after).isdisjoint(before)
        assert call(srv, ECHO, "echo", "next")["result"] == "next"
        assert "timed out after 1s" in srv.log
        assert f"[CRITICAL] DIRTY WORKER TIMEOUT (pid:{before[0]})" in srv.log


def test_timeout_restarts_with_each_chunk_so_a_slow_stream_is_not_cut(tmp_path):
    # every chunk comes within the 1 s timeout; the whole stream takes 2 s
    with dirty_server(tmp_path, "--dirty-timeout", "1", workers=1) as srv:
        booted_workers(srv, 1)
        started = time.monotonic()
        reply = call(srv, ECHO, "slow_count", 5, 0.4, path="/stream")
        assert reply.get("items") == [0, 1, 2, 3, 4], reply
        assert time.monotonic() - started >= 1.9
        # a chunk that comes too late still times out
        reply = call(srv, ECHO, "slow_count", 2, 1.5, path="/stream")
        assert reply["error_type"] == "DirtyTimeoutError", reply


def test_crash_fails_the_call_and_the_worker_is_replaced(tmp_path):
    with dirty_server(tmp_path, workers=2) as srv:
        before = worker_pids(booted_workers(srv, 2))
        reply = call(srv, ECHO, "crash")
        assert reply["error_type"] == "DirtyWorkerError", reply
        after = worker_pids(booted_workers(srv, 2))
        assert len(set(before) - set(after)) == 1, (before, after)
        assert "died unexpectedly (exit code 13)" in srv.log
        # both workers, the new one included, serve
        seen = {call(srv, ECHO, "whoami")["result"] for _ in range(6)}
        assert seen == set(after)


def test_killed_worker_is_replaced(tmp_path):
    with dirty_server(tmp_path, workers=2) as srv:
        before = worker_pids(booted_workers(srv, 2))
        os.kill(before[0], signal.SIGKILL)
        assert all_gone([before[0]]) == []
        after = worker_pids(booted_workers(srv, 2))
        assert before[0] not in after and before[1] in after
        assert call(srv, ECHO, "echo", "ok")["result"] == "ok"


def test_app_whose_init_raises_is_retried_once_a_second_not_in_a_loop(tmp_path):
    with dirty_server(tmp_path, workers=1, apps=(ECHO, "dirty_test_apps:Broken")) as srv:
        started = time.monotonic()
        wait_for(lambda: "Dirty arbiter listening" in srv.log, 10, message=srv.log)
        # no worker can boot: a call fails at once, not after the client's timeout
        reply = call(srv, ECHO, "echo", 1, timeout=8)
        assert reply["error_type"] == "DirtyNoWorkersAvailableError", reply
        assert time.monotonic() - started < 4
        time.sleep(max(0.0, 3.0 - (time.monotonic() - started)))
        spawned = srv.log.count("Spawned dirty worker")
        assert "cannot load the model" in srv.log
        # one at start, then about one a second
        assert 2 <= spawned <= 5, srv.log


def test_client_leaving_mid_stream_stops_the_generator_and_frees_the_worker(tmp_path):
    with dirty_server(tmp_path, workers=1) as srv:
        status = booted_workers(srv, 1)
        closed = f"endless closed {status['workers'][0]['pid']}"
        client = DirtyClient(status["socket"], timeout=10)
        stream = client.stream(ECHO, "endless", 0.05)
        assert [next(stream), next(stream)] == [0, 1]
        stream.close()          # leaves early: the stream's connection is dropped
        # the one worker thread is free again (an endless stream would hold it forever)
        reply = call(srv, ECHO, "echo", "free", timeout=5)
        assert reply.get("result") == "free", reply
        wait_for(lambda: events(srv).count(closed) == 1, 5, message="the generator's finally")

        # asyncio: the connection is shared and stays open; aclose() sends END instead
        async def scenario():
            client = DirtyClient(status["socket"], timeout=5)
            stream = client.stream_async(ECHO, "endless", 0.05)
            got = [await stream.__anext__(), await stream.__anext__()]
            await stream.aclose()
            after = await client.execute_async(ECHO, "echo", "free")
            await client.close_async()
            return got, after

        assert asyncio.run(scenario()) == ([0, 1], "free")
        wait_for(lambda: events(srv).count(closed) == 2, 5, message="the generator's finally")
