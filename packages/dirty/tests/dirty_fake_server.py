"""A stand-in dirty arbiter for client tests: a unix socket served by a thread, speaking the wire."""

import os
import socket
import threading

from gunicorn.dirty import wire
from gunicorn.dirty.errors import DirtyError


class CloseConnection(Exception):
    """Raised by a handler to hang up on the client."""


class FakeArbiter:
    """Calls ``handler(msg, reply)`` for each message; ``reply(type, payload=None, request_id=None)``.

    Every received message is kept in ``received``; ``connections`` counts accepted sockets.
    """

    def __init__(self, path, handler):
        self.path = path
        self.handler = handler
        self.received = []
        self.connections = 0
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(path)
        self._listener.listen(16)
        self._listener.settimeout(0.02)
        self._stopping = threading.Event()
        self._socks = []
        self._thread = threading.Thread(target=self._accept_loop, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc_info):
        self.stop()

    def stop(self):
        self._stopping.set()
        self._thread.join(5)
        self._listener.close()
        for sock in list(self._socks):
            try:
                # as a process that dies: the peer sees its end closed at once
                # (a bare close() waits for the thread blocked reading it)
                sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            except OSError:
                pass
        if os.path.exists(self.path):
            os.unlink(self.path)

    def _accept_loop(self):
        while not self._stopping.is_set():
            try:
                sock, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            self._socks.append(sock)
            threading.Thread(target=self._serve, args=(sock,), daemon=True).start()

    def _serve(self, sock):
        sock.settimeout(None)
        lock = threading.Lock()

        def reply(msg_type, payload=None, request_id=None):
            with lock:
                wire.send_message(sock, msg_type, request_id, payload)

        try:
            while not self._stopping.is_set():
                try:
                    msg = wire.recv_message(sock)
                except (DirtyError, OSError):
                    return
                self.received.append(msg)

                def bound_reply(msg_type, payload=None, request_id=None, _msg=msg):
                    reply(msg_type, payload, _msg.request_id if request_id is None else request_id)

                try:
                    self.handler(msg, bound_reply)
                except (CloseConnection, OSError):  # asked to hang up, or the client left
                    return
        finally:
            try:
                sock.close()
            except OSError:
                pass


def echo_handler(msg, reply):
    """RESPONSE {"result": [action, args, kwargs]} for every request."""
    payload = msg.payload
    reply(wire.RESPONSE, {"result": [payload["action"], payload["args"], payload["kwargs"]]})


def short_socket_dir():
    """A fresh directory short enough for a unix socket path (108 bytes at most)."""
    import tempfile

    return tempfile.mkdtemp(prefix="dty", dir="/tmp")
