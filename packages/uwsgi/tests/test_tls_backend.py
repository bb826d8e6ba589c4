"""gunicorn serving uwsgi over TLS (nginx `uwsgi_pass suwsgi://`): the scheme is https."""

import shutil
import subprocess

import httpx
import pytest
from stacks import Stack

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    if shutil.which("openssl") is None:
        pytest.skip("openssl not installed: apt-get install openssl")
    where = tmp_path_factory.mktemp("tls")
    cert, key = where / "cert.pem", where / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec",
                    "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
                    "-subj", "/CN=localhost", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    return cert, key


def test_tls_listener_means_https(certificate):
    with Stack("tcp", "uwsgi_app:app", tls=certificate) as stack, \
            httpx.Client(base_url=stack.url(), timeout=20) as client:
        environ = client.get("/tls", params={"q": "1"}).json()
        body = b"z" * 300_000
        echoed = client.post("/echo-body", content=body).json()
    # nginx says REQUEST_SCHEME=http (its client spoke http) and sends no HTTPS var:
    # the https comes from gunicorn's own TLS listener.
    assert environ["REQUEST_SCHEME"] == "http"
    assert "HTTPS" not in environ
    assert environ["wsgi.url_scheme"] == "https"
    assert environ["QUERY_STRING"] == "q=1"
    assert echoed["length"] == len(body)
