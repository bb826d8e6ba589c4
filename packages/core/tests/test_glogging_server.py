"""The logger inside the real server: access log file, USR1 rotation, statsd packets."""

import signal
import socket

import pytest
from gunicorn_testsupport import ServerProcess
from gunicorn_testsupport.server import wait_for

APP = '''
def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("X-Out", "out-value")])
    return [b"hello"]
'''


@pytest.fixture
def app_dir(tmp_path):
    (tmp_path / "logapp.py").write_text(APP)
    return tmp_path


def get(server, path, extra=""):
    request = "GET %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n%s\r\n" % (path, extra)
    return server.request(request.encode())


def test_access_log_file_and_usr1_rotation(app_dir):
    access = app_dir / "access.log"
    fmt = '%(h)s "%(r)s" %(s)s %(b)s "%(a)s" %({x-out}o)s %({x-in}i)s'
    with ServerProcess("-w", "1", "--access-logfile", str(access),
                       "--access-logformat", fmt, "logapp:app", cwd=app_dir) as server:
        assert b"hello" in get(server, "/one?x=1", 'User-Agent: a"b\r\nX-In: in-value\r\n')
        wait_for(lambda: access.exists() and access.read_text(), message="first access line")
        assert access.read_text() == (
            '127.0.0.1 "GET /one?x=1 HTTP/1.1" 200 5 "a\\"b" out-value in-value\n')

        access.rename(app_dir / "access.log.1")
        server.signal(signal.SIGUSR1)
        # The worker reopens on its own USR1: probe until a new file appears.
        wait_for(lambda: get(server, "/probe") and access.exists(),
                 timeout=10, message="access log reopened\n" + server.log)
        get(server, "/two")
        wait_for(lambda: "/two" in access.read_text(), message="/two logged")
        assert "/two" not in (app_dir / "access.log.1").read_text()

def test_statsd_metrics_from_server(app_dir):
    listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    listener.bind(("127.0.0.1", 0))
    listener.settimeout(10)
    try:
        host = "127.0.0.1:%d" % listener.getsockname()[1]
        with ServerProcess("-w", "1", "--statsd-host", host, "--statsd-prefix", "it",
                           "logapp:app", cwd=app_dir) as server:
            assert b"hello" in get(server, "/")
            seen = set()
            wanted = {"it.gunicorn.requests", "it.gunicorn.request.status.200",
                      "it.gunicorn.request.duration"}
            for _ in range(50):  # bounded: a few startup metrics arrive first
                if wanted <= seen:
                    break
                seen.add(listener.recv(4096).split(b":", 1)[0].decode())
            assert wanted <= seen, seen
    finally:
        listener.close()
