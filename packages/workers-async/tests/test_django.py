"""Django's ASGI handler on the asgi worker (it has no lifespan support: auto mode copes)."""

from pathlib import Path

import httpx
import pytest
from gunicorn_testsupport import ServerProcess

pytest.importorskip("django", reason="django is not installed")
TESTS = Path(__file__).parent


def test_django_asgi_views():
    with ServerProcess("-k", "asgi", "apps.django_asgi:app", cwd=TESTS) as srv:
        assert httpx.get(srv.url("/")).text == "hello from django"
        r = httpx.post(srv.url("/echo/?q=x"), content=b"payload")
        assert r.json() == {"method": "POST", "body": "payload", "path": "/echo/", "q": "x"}
        srv.stop()
        assert srv.proc.returncode == 0
        assert "Traceback" not in srv.log
