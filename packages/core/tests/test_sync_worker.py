"""SyncWorker driven in-process (a thread stands in for the forked child)."""

import os
import socket
import threading
import time

import pytest
from wsgi_support import RecordingLog, make_cfg, parse_responses

from gunicorn.workers.sync import SyncWorker


class App:
    def __init__(self, app):
        self.callable = app

    def wsgi(self):
        return self.callable


def app(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/boom":
        raise RuntimeError("boom")
    if path == "/big":
        start_response("200 OK", [])
        return (b"x" * 65536 for _ in range(200))
    body = path.encode()
    start_response("200 OK", [("Content-Length", str(len(body)))])
    return [body]


class Running:
    def __init__(self, app, nlisteners=1, cfg=None, ppid=None):
        self.listeners = []
        for _ in range(nlisteners):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            s.listen(16)
            self.listeners.append(s)
        self.log = RecordingLog()
        self.worker = w = SyncWorker(1, ppid or os.getppid(), self.listeners, App(app), 0.2,
                                     cfg or make_cfg(), self.log)
        w.PIPE = os.pipe()
        for fd in w.PIPE:
            os.set_blocking(fd, False)
        w.wait_fds = w.sockets + [w.PIPE[0]]
        w.load_wsgi()
        self.thread = threading.Thread(target=w.run, daemon=True)

    def port(self, i=0):
        return self.listeners[i].getsockname()[1]

    def __enter__(self):
        self.thread.start()
        return self

    def stop(self):
        self.worker.alive = False
        os.write(self.worker.PIPE[1], b"x")
        self.thread.join(5)

    def __exit__(self, *exc):
        self.stop()
        assert not self.thread.is_alive()
        for s in self.listeners:
            s.close()
        for fd in self.worker.PIPE:
            os.close(fd)
        self.worker.tmp.close()


def get(port, path="/", extra=b""):
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"GET %s HTTP/1.1\r\nHost: h\r\n%s\r\n" % (path.encode(), extra))
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return data
            data += chunk


def test_serves_one_request_per_connection_on_every_listener():
    with Running(app, nlisteners=2) as r:
        for i in (0, 1, 0):
            code, headers, body = parse_responses(get(r.port(i), "/hi"))[0]
            assert (code, body, headers["connection"]) == (200, b"/hi", "close")
        assert r.worker.nr == 3


def test_app_exception_gives_500_and_worker_keeps_serving():
    with Running(app) as r:
        assert parse_responses(get(r.port(), "/boom"))[0][0] == 500
        assert parse_responses(get(r.port(), "/ok"))[0][2] == b"/ok"
        assert r.thread.is_alive()
        assert any("Error handling request GET /boom" in m
                   for m in r.log.levels("exception"))


def test_client_disconnect_mid_response_does_not_kill_worker():
    with Running(app) as r:
        s = socket.create_connection(("127.0.0.1", r.port()))
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.sendall(b"GET /big HTTP/1.1\r\nHost: h\r\n\r\n")
        s.recv(1000)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        s.close()
        time.sleep(0.2)
        assert parse_responses(get(r.port(), "/after"))[0][2] == b"/after"
        assert r.thread.is_alive()
        assert not [m for m in r.log.levels("exception")]


def test_max_requests_ends_the_loop():
    with Running(app) as r:
        r.worker.max_requests = 2
        get(r.port(), "/1")
        get(r.port(), "/2")
        r.thread.join(3)
        assert not r.thread.is_alive()
        assert "Autorestarting worker after current request." in r.log.levels("info")


def test_parent_change_stops_worker():
    with Running(app, ppid=1) as r:
        r.thread.join(3)
        assert not r.thread.is_alive()
        assert any("Parent changed" in m for m in r.log.levels("info"))


def test_heartbeat_is_notified_while_idle():
    with Running(app) as r:
        first = r.worker.tmp.last_update()
        time.sleep(0.5)
        assert r.worker.tmp.last_update() > first


@pytest.mark.parametrize("extra", [b"X: " + b"y" * 10000 + b"\r\n"])
def test_bad_request_then_good(extra):
    with Running(app) as r:
        code = parse_responses(get(r.port(), "/", extra))[0][0]
        assert code in (400, 431)
        assert parse_responses(get(r.port(), "/ok"))[0][0] == 200


def test_h2_requested_falls_back_to_http11_with_warning():
    cfg = make_cfg(http_protocols="h2,h1")
    with Running(app, cfg=cfg) as r:
        assert parse_responses(get(r.port(), "/x"))[0][2] == b"/x"
        assert any("HTTP/2 is not supported by the sync worker" in m
                   for m in r.log.levels("warning"))


def test_unknown_protocol_fails_the_boot(monkeypatch):
    from gunicorn.wsgi import serve

    monkeypatch.setattr(serve, "_protocol_classes", {})
    cfg = make_cfg(protocol="no-such-protocol")
    worker = SyncWorker(1, os.getppid(), [], App(app), 1, cfg, RecordingLog())
    ran = []
    monkeypatch.setattr(worker, "run", lambda: ran.append(True))
    with pytest.raises(RuntimeError, match="no-such-protocol"):
        worker.init_process()
    assert ran == [] and worker.booted is False
    worker.tmp.close()
