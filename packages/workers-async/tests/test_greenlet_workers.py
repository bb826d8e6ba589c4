"""gevent and eventlet workers: a Flask app, many concurrent slow requests on one worker."""

import asyncio
import time
from pathlib import Path

import httpx
import pytest
from gunicorn_testsupport import ServerProcess

TESTS = Path(__file__).parent
CONCURRENCY = 500


def concurrent_slow_requests(port, n, seconds):
    """``n`` simultaneous GET /slow over raw asyncio streams; returns (status, body) pairs."""
    request = f"GET /slow?t={seconds} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"

    async def one():
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(request.encode())
        data = await asyncio.wait_for(reader.read(), 30)
        writer.close()
        head, _, body = data.partition(b"\r\n\r\n")
        return int(head.split()[1]), body

    async def main():
        return await asyncio.gather(*(one() for _ in range(n)))
    return asyncio.run(main())


WORKERS = ["gevent", "gevent_pywsgi", "eventlet"]


@pytest.mark.parametrize("worker", WORKERS)
def test_basic_requests(worker):
    pytest.importorskip(worker.split("_")[0], reason=f"{worker} is not installed")
    with ServerProcess("-k", worker, "apps.flask_app:app", cwd=TESTS) as srv:
        assert httpx.get(srv.url("/")).text == "hello from flask"
        body = b"z" * 200000
        assert httpx.post(srv.url("/echo"), content=body).content == body
        srv.stop()
        assert srv.proc.returncode == 0, srv.log


@pytest.mark.timeout(60)
@pytest.mark.parametrize("worker", WORKERS)
def test_500_concurrent_slow_requests_on_one_worker(worker):
    pytest.importorskip(worker.split("_")[0], reason=f"{worker} is not installed")
    # --keep-alive 10: the first read of a connection is bounded by keepalive, and
    # 500 connections arriving at once may wait a while for their green thread.
    with ServerProcess("-k", worker, "-w", "1", "--backlog", "2048", "--keep-alive", "10",
                       "apps.flask_app:app", cwd=TESTS) as srv:
        started = time.monotonic()
        responses = concurrent_slow_requests(srv.port, CONCURRENCY, 1)
        elapsed = time.monotonic() - started
    assert [status for status, _ in responses] == [200] * CONCURRENCY
    assert len({body for _, body in responses}) == 1  # one worker served them all
    # Serially this would take 500 s; concurrently about one sleep plus overhead.
    assert elapsed < 15, elapsed


@pytest.mark.parametrize("worker", WORKERS)
def test_graceful_term_finishes_in_flight_request(worker):
    pytest.importorskip(worker.split("_")[0], reason=f"{worker} is not installed")
    import signal
    import threading

    with ServerProcess("-k", worker, "apps.flask_app:app", cwd=TESTS) as srv:
        assert httpx.get(srv.url("/")).status_code == 200  # the worker has booted
        result = {}
        t = threading.Thread(target=lambda: result.update(
            r=httpx.get(srv.url("/slow?t=1.5"), timeout=10)))
        t.start()
        time.sleep(0.5)
        srv.signal(signal.SIGTERM)
        t.join(10)
        assert result["r"].status_code == 200
        assert srv.wait(10) == 0
