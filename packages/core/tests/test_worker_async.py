"""AsyncWorker.handle: the keep-alive loop greenlet workers run per connection."""

import contextlib
import os
import socket
import threading

from wsgi_support import RecordingLog, make_cfg, parse_responses

from gunicorn.workers.base_async import ALREADY_HANDLED, AsyncWorker


class App:
    def __init__(self, app):
        self.callable = app

    def wsgi(self):
        return self.callable


def hello(environ, start_response):
    if environ["PATH_INFO"] == "/taken":
        environ["gunicorn.socket"].sendall(b"RAW")
        return ALREADY_HANDLED
    body = environ["PATH_INFO"].encode()
    start_response("200 OK", [("Content-Length", str(len(body)))])
    return [body]


class ThreadAsyncWorker(AsyncWorker):
    timeouts = 0

    def timeout_ctx(self):
        self.timeouts += 1
        return contextlib.nullcontext()


def make_worker(**settings):
    w = ThreadAsyncWorker(1, os.getppid(), [], App(hello), 15, make_cfg(**settings),
                          RecordingLog())
    w.load_wsgi()
    return w


def converse(worker, payload, idle=0.5):
    server, client = socket.socketpair()
    server.settimeout(idle)  # stands in for the keep-alive timeout of timeout_ctx
    listener = socket.socket()
    t = threading.Thread(target=worker.handle, args=(listener, server, ("127.0.0.1", 1)))
    t.start()
    client.sendall(payload)
    client.settimeout(5)
    data = b""
    while True:
        chunk = client.recv(65536)
        if not chunk:
            break
        data += chunk
    t.join(5)
    assert not t.is_alive()
    client.close()
    listener.close()
    return data


def test_worker_connections_stored():
    w = make_worker(worker_connections=77)
    assert w.worker_connections == 77
    w.tmp.close()


def test_keepalive_loop_serves_several_requests():
    w = make_worker(keepalive=2)
    data = converse(w, b"".join(b"GET /%d HTTP/1.1\r\nHost: h\r\n\r\n" % i for i in range(3)))
    responses = parse_responses(data)
    assert [r[2] for r in responses] == [b"/0", b"/1", b"/2"]
    assert responses[0][1]["connection"] == "keep-alive"
    assert w.timeouts >= 3
    assert w.nr == 3
    w.tmp.close()


def test_connection_close_ends_loop():
    w = make_worker(keepalive=2)
    data = converse(w, b"GET /a HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"
                       b"GET /b HTTP/1.1\r\nHost: h\r\n\r\n")
    assert [r[2] for r in parse_responses(data)] == [b"/a"]
    w.tmp.close()


def test_no_keepalive_setting_serves_one():
    w = make_worker(keepalive=0)
    data = converse(w, b"GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n")
    responses = parse_responses(data)
    assert [r[2] for r in responses] == [b"/a"]
    assert responses[0][1]["connection"] == "close"
    assert w.timeouts == 0
    w.tmp.close()


def test_already_handled_writes_nothing_more():
    w = make_worker(keepalive=2)
    data = converse(w, b"GET /taken HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n")
    assert data == b"RAW"
    assert w.is_already_handled(ALREADY_HANDLED)
    assert not w.is_already_handled([b"x"])
    w.tmp.close()


def test_parse_error_answered():
    w = make_worker(keepalive=2)
    data = converse(w, b"BROKEN\r\n\r\n")
    assert parse_responses(data)[0][0] == 400
    w.tmp.close()


def test_handle_request_signature():
    w = make_worker(keepalive=2)
    from gunicorn.http.protocol import HTTP1Protocol
    from gunicorn.wsgi.serve import ServedConnection

    server, client = socket.socketpair()
    proto = HTTP1Protocol(w.cfg, ("127.0.0.1", 1), ("127.0.0.1", 2))
    session = ServedConnection(w, server, None, ("127.0.0.1", 1), proto=proto, keepalive=True)
    client.sendall(b"GET /x HTTP/1.1\r\nHost: h\r\n\r\n")
    req = session.next_request()
    assert w.handle_request(session.listener_name, req, server, ("127.0.0.1", 1),
                            session=session) is True
    assert client.recv(4096).endswith(b"/x")
    server.close()
    client.close()
    w.tmp.close()


def test_already_handled_signalled_by_stop_iteration():
    class Eventletish(ThreadAsyncWorker):
        def is_already_handled(self, respiter):
            if respiter == "taken-over":
                raise StopIteration()
            return super().is_already_handled(respiter)

    def app(environ, start_response):
        environ["gunicorn.socket"].sendall(b"WS")
        return "taken-over"
    w = Eventletish(1, os.getppid(), [], App(app), 15, make_cfg(keepalive=2), RecordingLog())
    w.load_wsgi()
    assert converse(w, b"GET / HTTP/1.1\r\nHost: h\r\n\r\n") == b"WS"
    assert not w.log.levels("exception")
    w.tmp.close()
