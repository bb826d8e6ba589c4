"""The sync worker and WSGI adapter against the real server (gunicorn subprocess)."""

import os
import signal
import socket
import subprocess
import textwrap
import time

import httpx
import pytest
from gunicorn_testsupport import ServerProcess, raw_request, wait_for
from wsgi_support import parse_responses

APP = '''
import os, time

def app(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/boom":
        raise RuntimeError("secret-traceback-detail")
    if path == "/pid":
        body = str(os.getpid()).encode()
        start_response("200 OK", [("Content-Length", str(len(body)))])
        return [body]
    if path == "/stream":
        start_response("200 OK", [("Content-Type", "text/plain")])
        def gen():
            yield b"first\\n"
            time.sleep(0.8)
            yield b"second\\n"
        return gen()
    if path == "/big":
        start_response("200 OK", [])
        return (b"x" * 65536 for _ in range(400))
    if path == "/file":
        f = open(os.environ["TEST_FILE"], "rb")
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return environ["wsgi.file_wrapper"](f)
    if path == "/errors":
        environ["wsgi.errors"].write("wsgi-errors-marker")
        environ["wsgi.errors"].flush()
    if path == "/slow":
        time.sleep(1.0)
    if path == "/echo":
        body = environ["wsgi.input"].read()
        start_response("200 OK", [("Content-Length", str(len(body)))])
        return [body]
    body = ("%s %s %s" % (environ["wsgi.url_scheme"], environ["SCRIPT_NAME"], path)).encode()
    start_response("200 OK", [("Content-Length", str(len(body)))])
    return [body]
'''


@pytest.fixture
def appdir(tmp_path):
    (tmp_path / "testapp.py").write_text(APP)
    data = os.urandom(300_000)
    (tmp_path / "payload.bin").write_bytes(data)
    return tmp_path


def server(appdir, *args, **kw):
    env = {"TEST_FILE": str(appdir / "payload.bin"), "PYTHONPATH": str(appdir)}
    return ServerProcess("--chdir", str(appdir), *args, "testapp:app", cwd=appdir, env=env, **kw)


def test_app_exception_500_worker_survives(appdir):
    with server(appdir) as srv:
        pid = httpx.get(srv.url("/pid")).text
        r = httpx.get(srv.url("/boom"))
        assert r.status_code == 500
        assert "secret-traceback-detail" not in r.text
        assert httpx.get(srv.url("/pid")).text == pid
        wait_for(lambda: "secret-traceback-detail" in srv.log, message="traceback in log")
        assert "Error handling request GET /boom" in srv.log


def test_malformed_request_is_a_warning_as_upstream_logs_it(appdir):
    with server(appdir) as srv:
        reply = raw_request(srv.port, b"GARBAGE\r\n\r\n")
        assert reply.startswith(b"HTTP/1.1 400 ")
        wait_for(lambda: "[WARNING] Invalid request from ip=127.0.0.1:" in srv.log,
                 message="the warning line")


def test_client_disconnect_mid_response(appdir):
    with server(appdir) as srv:
        pid = httpx.get(srv.url("/pid")).text
        for _ in range(3):
            s = socket.create_connection(("127.0.0.1", srv.port))
            s.sendall(b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
            s.recv(10000)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00" + b"\x00" * 4)
            s.close()
        assert httpx.get(srv.url("/pid")).text == pid
        assert "Traceback" not in srv.log


def test_streaming_arrives_chunk_by_chunk(appdir):
    with server(appdir) as srv:
        with httpx.stream("GET", srv.url("/stream")) as r:
            assert r.headers["transfer-encoding"] == "chunked"
            start = time.monotonic()
            chunks = []
            for chunk in r.iter_raw():
                chunks.append((time.monotonic() - start, chunk))
        assert b"".join(c for _, c in chunks) == b"first\nsecond\n"
        assert chunks[0][1].startswith(b"first")
        assert chunks[0][0] < 0.5 and chunks[-1][0] > 0.5


@pytest.mark.parametrize("flags", [(), ("--no-sendfile",)])
def test_file_wrapper(appdir, flags):
    with server(appdir, *flags) as srv:
        r = httpx.get(srv.url("/file"))
        assert r.status_code == 200
        assert r.content == (appdir / "payload.bin").read_bytes()
        head = srv.request(b"HEAD /file HTTP/1.1\r\nHost: x\r\n\r\n")
        assert head.endswith(b"\r\n\r\n") and b"200 OK" in head


def test_post_body_and_expect_continue(appdir):
    with server(appdir) as srv:
        data = os.urandom(200_000)
        r = httpx.post(srv.url("/echo"), content=data)
        assert r.content == data
        out = subprocess.run(["curl", "-s", "-H", "Expect: 100-continue", "--data-binary",
                              "@" + str(appdir / "payload.bin"), srv.url("/echo"), "-o",
                              str(appdir / "out.bin"), "-w", "%{http_code}"],
                             capture_output=True, text=True, timeout=10)
        assert out.stdout == "200"
        assert (appdir / "out.bin").read_bytes() == (appdir / "payload.bin").read_bytes()
        chunked = srv.request(b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                              b"\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
        assert parse_responses(chunked)[0][2] == b"hello world"


def test_bad_requests_over_the_wire(appdir):
    with server(appdir) as srv:
        assert parse_responses(srv.request(b"NOT HTTP\r\n\r\n"))[0][0] == 400
        assert parse_responses(srv.request(b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\n\r\n"))[0][0] \
            == 414
        assert parse_responses(srv.request(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"))[0][0] == 200
        # As upstream's WSGI workers: an HTML page, the message escaped in it.
        code, headers, body = parse_responses(
            srv.request(b"GET / HTTP/1.1\r\nHost: x\r\nBad <b>: 1\r\n\r\n"))[0]
        assert code == 400 and headers["content-type"].startswith("text/html")
        assert b"<title>Bad Request</title>" in body and b"&lt;b&gt;" in body


def test_access_and_error_logs(appdir):
    errlog = appdir / "error.log"
    with server(appdir, "--access-logfile", "-", "--error-logfile", str(errlog)) as srv:
        assert httpx.get(srv.url("/errors?q=1")).status_code == 200
        assert parse_responses(srv.request(b"NOT HTTP\r\n\r\n"))[0][0] == 400
        wait_for(lambda: "GET /errors?q=1 HTTP/1.1\" 200" in srv.log, message="access line")
        wait_for(lambda: '" 400 ' in srv.log, message="access line of the 400")
        wait_for(lambda: "wsgi-errors-marker" in errlog.read_text(), message="wsgi.errors")
        assert "Traceback" not in errlog.read_text()


def test_script_name_raw_env(appdir):
    with server(appdir, "-e", "SCRIPT_NAME=/mnt") as srv:
        assert httpx.get(srv.url("/mnt/x")).text == "http /mnt /x"


def test_graceful_term_finishes_current_request(appdir):
    with server(appdir, "--graceful-timeout", "5") as srv:
        s = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
        s.sendall(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
        time.sleep(0.3)
        srv.signal(signal.SIGTERM)
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        s.close()
        assert parse_responses(data)[0][0] == 200
        assert srv.wait(10) == 0


def test_max_requests_recycles_worker(appdir):
    with server(appdir, "--max-requests", "2") as srv:
        pids = [httpx.get(srv.url("/pid")).text for _ in range(2)]
        assert pids[0] == pids[1]
        third = wait_for(lambda: _get_or_none(srv.url("/pid")), message="new worker")
        assert third != pids[0]
        assert "Autorestarting worker after current request." in srv.log


def _get_or_none(url):
    try:
        return httpx.get(url).text
    except httpx.HTTPError:
        return None


def test_tls_sync_worker(appdir):
    key, cert = appdir / "key.pem", appdir / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                    str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=localhost"],
                   check=True, capture_output=True, timeout=60)
    for worker in ("sync", "gthread"):
        with server(appdir, "-k", worker, "--keyfile", str(key), "--certfile", str(cert)) as srv:
            r = httpx.get("https://127.0.0.1:%d/x" % srv.port, verify=False)
            assert r.text == "https  /x"
            r = httpx.get("https://127.0.0.1:%d/file" % srv.port, verify=False)
            assert r.content == (appdir / "payload.bin").read_bytes()
            # plain HTTP on the TLS port: a warning, as upstream logs it
            raw_request(srv.port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            wait_for(lambda: "[WARNING] Invalid request from ip=127.0.0.1:" in srv.log,
                     message="the TLS warning (%s)" % worker)
            assert r"HTTP_REQUEST" in srv.log


def test_unix_socket_listener(appdir):
    path = appdir / "g.sock"
    with server(appdir, "-b", "unix:%s" % path, bind=False, wait_ready=False) as srv:
        wait_for(path.exists, message="unix socket")

        def ask():
            try:
                with socket.socket(socket.AF_UNIX) as s:
                    s.connect(str(path))
                    s.sendall(b"GET /u HTTP/1.1\r\nHost: x\r\n\r\n")
                    data = b""
                    while chunk := s.recv(4096):
                        data += chunk
                    return data
            except OSError:
                return None
        data = wait_for(ask, message="answer on unix socket")
        assert parse_responses(data)[0][2] == b"http  /u"
        assert srv.proc.poll() is None


FLASK_APP = '''
from flask import Flask, request, stream_with_context
app = Flask(__name__)

@app.route("/hello/<name>")
def hello(name):
    return {"name": name, "q": request.args.get("q"), "scheme": request.scheme}

@app.route("/upload", methods=["POST"])
def upload():
    f = request.files["f"]
    return {"size": len(f.read()), "field": request.form["field"]}

@app.route("/fail")
def fail():
    raise ValueError("flask-boom")
'''


def test_flask_app(tmp_path):
    pytest.importorskip("flask", reason="flask not installed in this venv")
    (tmp_path / "flaskapp.py").write_text(FLASK_APP)
    with ServerProcess("--chdir", str(tmp_path), "flaskapp:app", cwd=tmp_path,
                       env={"PYTHONPATH": str(tmp_path)}) as srv:
        r = httpx.get(srv.url("/hello/w%C3%B6rld?q=1"))
        assert r.json() == {"name": "wörld", "q": "1", "scheme": "http"}
        r = httpx.post(srv.url("/upload"), files={"f": ("a.bin", b"z" * 100_000)},
                       data={"field": "v"})
        assert r.json() == {"size": 100_000, "field": "v"}
        assert httpx.get(srv.url("/fail")).status_code == 500
        assert httpx.get(srv.url("/nope")).status_code == 404


DJANGO_SETTINGS = '''
SECRET_KEY = "test-only"
DEBUG = False
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "djurls"
INSTALLED_APPS = []
MIDDLEWARE = []
DATABASES = {}
USE_TZ = True
'''

DJANGO_URLS = '''
from django.http import HttpResponse, JsonResponse, StreamingHttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

def hello(request, name):
    return JsonResponse({"name": name, "path": request.path, "host": request.get_host()})

@csrf_exempt
def form(request):
    return JsonResponse({"a": request.POST.get("a"), "len": len(request.body)})

def stream(request):
    return StreamingHttpResponse(iter([b"one,", b"two"]))

urlpatterns = [
    path("hello/<str:name>", hello),
    path("form", form),
    path("stream", stream),
]
'''

DJANGO_WSGI = '''
import os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "djsettings")
from django.core.wsgi import get_wsgi_application
application = get_wsgi_application()
'''


def test_django_app(tmp_path):
    pytest.importorskip("django", reason="django not installed in this venv")
    for name, text in (("djsettings.py", DJANGO_SETTINGS), ("djurls.py", DJANGO_URLS),
                       ("djwsgi.py", DJANGO_WSGI)):
        (tmp_path / name).write_text(textwrap.dedent(text))
    with ServerProcess("--chdir", str(tmp_path), "-e", "SCRIPT_NAME=/site",
                       "djwsgi:application", cwd=tmp_path,
                       env={"PYTHONPATH": str(tmp_path)}) as srv:
        r = httpx.get(srv.url("/site/hello/x%20y"))
        assert r.json() == {"name": "x y", "path": "/site/hello/x y",
                            "host": "127.0.0.1:%d" % srv.port}
        r = httpx.post(srv.url("/site/form"), data={"a": "b"})
        assert r.json() == {"a": "b", "len": 3}
        assert httpx.get(srv.url("/site/stream")).text == "one,two"
