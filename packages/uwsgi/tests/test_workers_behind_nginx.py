"""The uwsgi protocol under each worker class that supports it, behind nginx (TCP)."""

import hashlib
import importlib.util

import httpx
import pytest
from stacks import Stack

pytestmark = pytest.mark.timeout(60)

# worker -> (module that must exist, distribution that ships it, app, extra args)
WORKERS = {
    "sync": ("gunicorn.workers.sync", "gunicorn", "uwsgi_app:app", []),
    "gthread": ("gunicorn.workers.gthread", "gunicorn", "uwsgi_app:app", ["--threads", "4"]),
    "gevent": ("gunicorn.workers.ggevent", "gunicorn-workers-async", "uwsgi_app:app", []),
    "asgi": ("gunicorn.workers.gasgi", "gunicorn-workers-async", "asgi_app:app", []),
}


@pytest.fixture(scope="module", params=list(WORKERS))
def stack(request):
    module, dist, app, extra = WORKERS[request.param]
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"worker {request.param!r} not installed: needs {dist} ({module})")
    with Stack("tcp", app, "-k", request.param, *extra) as running:
        running.worker = request.param
        yield running


@pytest.fixture
def client(stack):
    with httpx.Client(base_url=stack.url(), timeout=20) as session:
        yield session


def test_get_with_query(client):
    environ = client.get("/p/q", params={"a": "1"}).json()
    assert environ["PATH_INFO"] == "/p/q"
    assert environ["QUERY_STRING"] == "a=1"
    assert environ["wsgi.url_scheme"] == "http"


def test_https_variable(client):
    assert client.get("/secure/x").json()["wsgi.url_scheme"] == "https"


@pytest.mark.parametrize("size", [0, 1 << 20])
def test_post_body(client, size):
    body = b"\xa5" * size
    path = "/echo-body"
    got = client.post(path, content=body).json()
    assert got["length"] == size
    assert got["sha256"] == hashlib.sha256(body).hexdigest()


def test_streamed_response(client):
    received = client.get("/stream/40").content
    assert received == b"".join(bytes([i]) * 65536 for i in range(40))


def test_head(client):
    response = client.head("/p")
    assert response.status_code == 200 and response.content == b""


def test_client_address_is_the_real_client(stack, client):
    environ = client.get("/realip/who", headers={"X-Test-Client": "198.51.100.7"}).json()
    if stack.worker == "asgi":
        assert environ["client"][0] == "198.51.100.7"
    else:
        assert environ["REMOTE_ADDR"] == "198.51.100.7"


def test_mount_point_and_server_come_from_the_vars(stack, client):
    # The socket's own address is nginx's link; nginx names the server the client
    # addressed and the mount point (uwsgi_param SCRIPT_NAME /mount) in its vars.
    environ = client.get("/mount/sub/page").json()
    if stack.worker == "asgi":
        assert environ["root_path"] == "/mount"
        assert environ["PATH_INFO"] == "/mount/sub/page"  # ASGI: root_path not cut off
        assert environ["server"][0] == "front.test"
        assert environ["server"][1] == stack.nginx.port
    else:
        assert environ["SCRIPT_NAME"] == "/mount"
        assert environ["PATH_INFO"] == "/sub/page"
        assert environ["SERVER_NAME"] == "front.test"
        assert environ["SERVER_PORT"] == str(stack.nginx.port)


def test_body_the_app_never_reads(client):
    # An app answering without reading an upload must not make nginx see a
    # reset (reported as a 502) while it is still sending the body.
    for _ in range(2):
        response = client.post("/ignored", content=b"u" * (6 << 20))
        assert response.status_code == 200
