"""The tornado worker with a native Application and with a WSGI (Flask) app."""

import signal
import threading
import time
from pathlib import Path

import httpx
import pytest
from gunicorn_testsupport import ServerProcess

pytest.importorskip("tornado", reason="tornado is not installed")

TESTS = Path(__file__).parent


def test_native_application():
    with ServerProcess("-k", "tornado", "apps.tornado_app:app", cwd=TESTS) as srv:
        assert httpx.get(srv.url("/")).text == "hello from tornado"
        srv.stop()
        assert srv.proc.returncode == 0, srv.log


def test_wsgi_application():
    with ServerProcess("-k", "tornado", "apps.flask_app:app", cwd=TESTS) as srv:
        assert httpx.get(srv.url("/")).text == "hello from flask"
        assert httpx.post(srv.url("/echo"), content=b"abc").content == b"abc"


def test_graceful_term_finishes_in_flight_request():
    with ServerProcess("-k", "tornado", "apps.tornado_app:app", cwd=TESTS) as srv:
        assert httpx.get(srv.url("/")).status_code == 200  # the worker has booted
        result = {}
        t = threading.Thread(target=lambda: result.update(r=httpx.get(srv.url("/slow?t=1.5"),
                                                                      timeout=10)))
        t.start()
        time.sleep(0.5)
        srv.signal(signal.SIGTERM)
        t.join(10)
        assert result["r"].status_code == 200
        assert srv.wait(10) == 0


def test_max_requests_recycles():
    with ServerProcess("-k", "tornado", "--max-requests", "2", "apps.tornado_app:app",
                       cwd=TESTS) as srv:
        pids = set()
        for _ in range(6):
            r = httpx.get(srv.url("/slow?t=0"), headers={"Connection": "close"}, timeout=5)
            pids.add(r.text)
            time.sleep(0.3)
        assert len(pids) >= 2
