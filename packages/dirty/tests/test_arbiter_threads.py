"""A dirty worker's thread pool (dirty_threads), and actions written as coroutines."""

import threading
import time

import pytest
from dirty_server_support import ECHO, booted_workers, call, dirty_server

pytestmark = pytest.mark.timeout(60)


def _concurrent_sleeps(srv, count, seconds):
    results = []
    threads = [threading.Thread(target=lambda: results.append(call(srv, ECHO, "sleep", seconds)))
               for _ in range(count)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    return time.monotonic() - started, results


@pytest.mark.parametrize("threads, overlap", [(2, True), (1, False)])
def test_dirty_threads_run_calls_of_one_worker_side_by_side(tmp_path, threads, overlap):
    with dirty_server(tmp_path, "--dirty-threads", str(threads), workers=1,
                      web_workers=2) as srv:
        booted_workers(srv, 1)
        elapsed, results = _concurrent_sleeps(srv, 2, 1.0)
        assert [r.get("result") for r in results] == [1.0, 1.0], results
        if overlap:
            assert elapsed < 1.8, elapsed
        else:
            assert elapsed >= 1.9, elapsed


def test_coroutine_and_async_generator_actions(tmp_path):
    with dirty_server(tmp_path, workers=1) as srv:
        booted_workers(srv, 1)
        assert call(srv, ECHO, "async_echo", {"a": [1]})["result"] == {"a": [1]}
        assert call(srv, ECHO, "async_count", 3, path="/stream")["items"] == [0, 1, 2]
