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
    async def main():
        limits = httpx.Limits(max_connections=n + 10, max_keepalive_connections=0)
        async with httpx.AsyncClient(limits=limits, timeout=30) as client:
            url = f"http://127.0.0.1:{port}/slow?t={seconds}"
            return await asyncio.gather(*(client.get(url) for _ in range(n)))
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
    with ServerProcess("-k", worker, "-w", "1", "--backlog", "2048",
                       "apps.flask_app:app", cwd=TESTS) as srv:
        started = time.monotonic()
        responses = concurrent_slow_requests(srv.port, CONCURRENCY, 1)
        elapsed = time.monotonic() - started
    assert all(r.status_code == 200 for r in responses)
    assert len({r.text for r in responses}) == 1  # one worker served them all
    # Serially this would take 500 s; concurrently about one sleep plus overhead.
    assert elapsed < 15, elapsed
