"""A real nginx uwsgi_passes to our server over TCP and a Unix socket; clients talk to nginx."""

import hashlib
import json
import shutil
import subprocess
import time

import httpx
import pytest
from gunicorn_testsupport import wait_for
from stacks import Stack

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module", params=["tcp", "unix"])
def stack(request):
    with Stack(request.param, "uwsgi_app:app", "--workers", "2",
               "--access-logfile", "-") as running:
        yield running


@pytest.fixture
def client(stack):
    with httpx.Client(base_url=stack.url(), timeout=20) as session:
        yield session


def curl(*args):
    if shutil.which("curl") is None:
        pytest.skip("curl not installed: apt-get install curl")
    done = subprocess.run(["curl", "-sS", "--max-time", "20", *args], capture_output=True,
                          timeout=30)
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout


def test_get_with_query(stack, client):
    response = client.get("/a%20b/c", params={"x": "1", "y": "/ &"},
                          headers={"X-Custom": "yes"})
    assert response.status_code == 200
    environ = response.json()
    assert environ["REQUEST_METHOD"] == "GET"
    assert environ["PATH_INFO"] == "/a b/c"
    assert environ["QUERY_STRING"] == "x=1&y=%2F+%26"
    assert environ["RAW_URI"] == environ["REQUEST_URI"] == "/a%20b/c?x=1&y=%2F+%26"
    assert environ["SERVER_PROTOCOL"] == "HTTP/1.1"
    assert environ["SERVER_NAME"] == "front.test"
    assert environ["SERVER_PORT"] == str(stack.nginx.port)
    assert environ["REMOTE_ADDR"] == "127.0.0.1"
    assert environ["REMOTE_PORT"].isdigit()
    assert environ["wsgi.url_scheme"] == "http"
    assert environ["APP_MARK"] == "plain"
    assert environ["headers"]["HTTP_X_CUSTOM"] == "yes"
    assert environ["headers"]["HTTP_HOST"] == f"127.0.0.1:{stack.nginx.port}"
    assert "HTTPS" not in environ


@pytest.mark.parametrize("size", [0, 1, 65536, 1 << 20])
def test_post_bodies(client, size):
    body = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
    response = client.post("/echo-body", content=body,
                           headers={"Content-Type": "application/octet-stream"})
    assert response.status_code == 200
    got = response.json()
    assert got["length"] == size
    assert got["sha256"] == hashlib.sha256(body).hexdigest()
    assert got["content_length"] == str(size)


def test_chunked_upload_with_curl(stack, tmp_path):
    # curl sends the body chunked; nginx de-chunks it and sends CONTENT_LENGTH.
    body = bytes(range(256)) * 4096 + b"tail"
    upload = tmp_path / "upload.bin"
    upload.write_bytes(body)
    out = json.loads(curl("-H", "Transfer-Encoding: chunked", "--data-binary", f"@{upload}",
                          stack.url("/echo-body")))
    assert out["length"] == len(body)
    assert out["sha256"] == hashlib.sha256(body).hexdigest()
    assert out["content_length"] == str(len(body))


def test_chunked_upload_with_httpx(client):
    parts = [b"alpha-" * 1000, b"beta-" * 3000, b"gamma"]
    response = client.post("/echo-body", content=iter(parts))  # a generator: sent chunked
    body = b"".join(parts)
    assert response.json()["length"] == len(body)
    assert response.json()["sha256"] == hashlib.sha256(body).hexdigest()


def test_head(stack, client):
    response = client.head("/stream/4")
    assert response.status_code == 200
    assert response.content == b""
    headers = curl("-I", stack.url("/hello")).decode("latin-1")
    assert headers.startswith("HTTP/1.1 200")
    assert "content-type: application/json" in headers.lower()


@pytest.mark.parametrize("chunks", [1, 64, 160])
def test_large_streamed_response(client, chunks):
    expected = b"".join(bytes([i % 256]) * 65536 for i in range(chunks))
    with client.stream("GET", f"/stream/{chunks}") as response:
        assert response.status_code == 200
        assert "transfer-encoding" in response.headers or "content-length" in response.headers
        received = b"".join(response.iter_bytes())
    assert len(received) == len(expected)
    assert received == expected


def test_a_response_the_app_cuts_short_reaches_the_client_as_cut(stack, client):
    # A uwsgi response has no length: only a reset tells nginx the body broke
    # off; after a plain close nginx would end the client's response as complete.
    if stack.transport == "unix":
        pytest.skip("a Unix stream socket has no reset: a body delimited by the "
                    "close cannot be marked as cut there (uWSGI cannot either)")
    with client.stream("GET", "/fail-mid-stream") as response:
        assert response.status_code == 200
        with pytest.raises(httpx.RemoteProtocolError):
            b"".join(response.iter_bytes())


def test_streamed_response_to_an_http10_client(stack):
    raw = curl("--http1.0", "-i", stack.url("/stream/3"))
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    assert body == b"".join(bytes([i]) * 65536 for i in range(3))


def test_streaming_is_not_held_back(stack):
    # /slow is served with uwsgi_buffering off: the first chunk must arrive before
    # the app has finished (it sleeps 1.5 s between chunks).
    start = time.monotonic()
    with httpx.stream("GET", stack.url("/slow"), timeout=20) as response:
        chunks = response.iter_raw()
        first = next(chunks)
        first_at = time.monotonic() - start
        rest = b"".join(chunks)
    assert first.startswith(b"first\n")
    assert first_at < 1.2, f"first chunk after {first_at:.2f}s"
    assert (first + rest) == b"first\nsecond\n"


def test_repeated_header_names(client):
    response = client.get("/", headers=[("X-Dup", "one"), ("X-Dup", "two")])
    assert response.json()["headers"]["HTTP_X_DUP"] == "one,two"
    cookies = client.get("/cookies").headers.get_list("set-cookie")
    assert cookies == ["a=1", "b=2"]


def test_https_variables(client):
    environ = client.get("/secure/page").json()
    assert environ["HTTPS"] == "on"
    assert environ["wsgi.url_scheme"] == "https"
    assert environ["REQUEST_SCHEME"] == "http"


def test_remote_addr_comes_from_the_vars(client):
    environ = client.get("/realip/x", headers={"X-Test-Client": "198.51.100.7"}).json()
    assert environ["REMOTE_ADDR"] == "198.51.100.7"


def test_script_name_from_nginx(client):
    environ = client.get("/mount/sub/page", params={"a": "b"}).json()
    assert environ["SCRIPT_NAME"] == "/mount"
    assert environ["PATH_INFO"] == "/sub/page"
    assert environ["RAW_URI"] == "/mount/sub/page?a=b"


def test_legacy_modifier1_30_mount(client):
    # nginx `uwsgi_modifier1 30;` with `uwsgi_param SCRIPT_NAME`: uWSGI serves it,
    # and so do we (was 501 for every request).
    response = client.get("/legacy/sub", params={"a": "b"})
    assert response.status_code == 200
    environ = response.json()
    assert (environ["SCRIPT_NAME"], environ["PATH_INFO"]) == ("/legacy", "/sub")


def test_empty_body_vars_reach_the_environ(client):
    # nginx sends CONTENT_TYPE and CONTENT_LENGTH empty for a GET: kept, as upstream
    # gunicorn and uWSGI keep them, for apps reading environ["CONTENT_TYPE"].
    environ = client.get("/plain").json()
    assert (environ["CONTENT_TYPE"], environ["CONTENT_LENGTH"]) == ("", "")


def test_long_target_within_tight_head_limits():
    # A 3000-byte target fits limit_request_line (4094), and HTTP/1 takes it under
    # these settings; nginx repeats it in REQUEST_URI, PATH_INFO and QUERY_STRING
    # and adds its CGI vars, which must not push the packet over the bound.
    path = "/long/" + "p" * 1500
    query = "q=" + "v" * 1500
    with Stack("tcp", "uwsgi_app:app", "--limit-request-fields", "10",
               "--limit-request-field_size", "100") as limited, \
            httpx.Client(base_url=limited.url(), timeout=20) as session:
        response = session.get(f"{path}?{query}")
        assert response.status_code == 200, limited.server.log
        assert response.json()["PATH_INFO"] == path


def test_repeated_cookie_headers_reach_the_app_as_one_cookie_string(client):
    # An HTTP/1.1 client sending two Cookie lines: nginx passes two HTTP_COOKIE vars.
    # Joined with "," the app's cookie parser would see one cookie "a" = "1,b=2".
    environ = client.get("/c", headers=[("Cookie", "a=1"), ("Cookie", "b=2")]).json()
    assert environ["headers"]["HTTP_COOKIE"] == "a=1; b=2"


def test_script_name_from_gunicorn_env():
    with Stack("tcp", "uwsgi_app:app", "-e", "SCRIPT_NAME=/mount") as mounted, \
            httpx.Client(base_url=mounted.url(), timeout=20) as session:
        environ = session.get("/mount/x").json()
    assert (environ["SCRIPT_NAME"], environ["PATH_INFO"]) == ("/mount", "/x")


def test_many_requests_in_a_row(client):
    for index in range(30):
        response = client.get(f"/n/{index}")
        assert response.json()["PATH_INFO"] == f"/n/{index}"


def test_access_log_names_the_client_request(stack, client):
    client.get("/logged?q=1", headers={"User-Agent": "uwsgi-test-agent"})
    line = wait_for(lambda: next((line for line in stack.server.log.splitlines()
                                  if "uwsgi-test-agent" in line), None),
                    5, message="access log line")
    # h is the client (REMOTE_ADDR from nginx), even when nginx talks over a Unix socket.
    assert line.startswith("127.0.0.1 ")
    assert '"GET /logged?q=1 HTTP/1.1" 200' in line


@pytest.mark.parametrize("size", [5 << 20, 16 << 20])
def test_body_the_app_never_reads(client, size):
    # An app answering without reading an upload (a 401 or 413 page, say): the
    # unread body must not turn into a reset that nginx reports as a 502.
    for _ in range(3):
        response = client.post("/ignored", content=b"u" * size)
        assert response.status_code == 200
        assert response.json()["PATH_INFO"] == "/ignored"
