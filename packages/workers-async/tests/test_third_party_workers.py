"""Third-party workers built on core's ``Worker`` base class run on this core."""

from pathlib import Path

import httpx
import pytest
from gunicorn_testsupport import ServerProcess

TESTS = Path(__file__).parent


def test_uvicorn_worker_serves_starlette():
    pytest.importorskip("uvicorn_worker", reason="uvicorn-worker is not installed")
    with ServerProcess("-k", "uvicorn_worker.UvicornWorker", "apps.starlette_app:app",
                       cwd=TESTS) as srv:
        assert httpx.get(srv.url("/state")).text == "hello from lifespan"
        srv.stop()
        assert srv.proc.returncode == 0, srv.log


def test_aiohttp_worker_serves_an_app():
    pytest.importorskip("aiohttp", reason="aiohttp is not installed")
    with ServerProcess("-k", "aiohttp.worker.GunicornWebWorker", "apps.aiohttp_app:app",
                       cwd=TESTS) as srv:
        assert httpx.get(srv.url("/")).text == "hello from aiohttp"
        srv.stop()
        assert srv.proc.returncode == 0, srv.log
