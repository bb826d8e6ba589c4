"""A dirty worker's thread pool: dirty_threads calls run side by side in one worker."""

import threading

import pytest
from dirty_server_support import ECHO, booted_workers, call, dirty_server

pytestmark = pytest.mark.timeout(60)


def _concurrent_sleeps(srv, count, seconds):
    """Run ``count`` sleeps at once; the [start, end] each one ran in the dirty worker."""
    results = []
    threads = [threading.Thread(
        target=lambda: results.append(call(srv, ECHO, "timed_sleep", seconds)))
        for _ in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results


@pytest.mark.parametrize("threads, overlap", [(2, True), (1, False)])
def test_dirty_threads_run_calls_of_one_worker_side_by_side(tmp_path, threads, overlap):
    with dirty_server(tmp_path, "--dirty-threads", str(threads), workers=1,
                      web_workers=2) as srv:
        booted_workers(srv, 1)
        for _ in range(4):   # both web workers have their dirty client connected
            call(srv, ECHO, "echo", 0)
        results = _concurrent_sleeps(srv, 2, 1.5)
        spans = sorted(r["result"] for r in results)
        assert len(spans) == 2, results
        (_, first_end), (second_start, _) = spans
        # in the worker itself: the second call started before the first ended
        assert (second_start < first_end) is overlap, spans
