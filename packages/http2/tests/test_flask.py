"""A Flask application served over HTTP/2 (TLS and h2c)."""

import json

import pytest
from conftest import curl, h2_server

pytest.importorskip("flask", reason="Flask is not installed")


@pytest.fixture(scope="module")
def flask_h2c():
    with h2_server("--http2-cleartext", "prior-knowledge", app="flaskapp:app") as srv:
        yield srv


def test_flask_route_over_h2c(flask_h2c):
    out = curl("--http2-prior-knowledge", "-w", "\n%{http_version}",
               "http://127.0.0.1:%d/hello/world?x=1" % flask_h2c.port)
    body, _, version = out.stdout.rpartition(b"\n")
    assert version == b"2"
    assert json.loads(body) == {"name": "world", "protocol": "HTTP/2.0", "args": {"x": "1"}}


def test_flask_form_upload_over_h2c(flask_h2c):
    out = curl("--http2-prior-knowledge", "-d", "a=1&b=" + "z" * 100_000,
               "http://127.0.0.1:%d/upload" % flask_h2c.port)
    got = json.loads(out.stdout)
    assert got["form"]["a"] == "1" and len(got["form"]["b"]) == 100_000


def test_flask_404_over_tls(cert):
    from conftest import tls_server

    with tls_server(cert, app="flaskapp:app") as srv:
        out = curl("-k", "--http2", "-o", "/dev/null", "-w", "%{http_version} %{http_code}",
                   "https://127.0.0.1:%d/nowhere" % srv.port)
    assert out.stdout == b"2 404"
