"""A blocking client for the control socket: send a command line, get the reply."""

import itertools
import socket

from gunicorn.ctl.framing import FrameDecoder, FramingError, encode_frame, make_request

READ_SIZE = 65536


class ControlClientError(Exception):
    """No server, a broken connection, or a reply that is not a frame."""


class ControlClient:
    """One connection to a control socket; usable as a context manager."""

    def __init__(self, path, timeout=30.0):
        self.path = path
        self.timeout = timeout
        self._sock = None
        self._decoder = FrameDecoder()
        self._ids = itertools.count(1)

    def connect(self):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self.path)
        except OSError as exc:
            sock.close()
            raise ControlClientError(f"cannot connect to {self.path}: {exc.strerror or exc}")
        self._sock = sock
        self._decoder = FrameDecoder()  # a new connection starts a new stream
        return self

    def close(self):
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def __enter__(self):
        return self.connect()

    def __exit__(self, *exc):
        self.close()

    def request(self, text):
        """Send the command line ``text``; return the whole reply dict."""
        if self._sock is None:
            self.connect()
        request = make_request(next(self._ids), text)
        try:
            self._sock.sendall(encode_frame(request))
            return self._receive()
        except OSError as exc:
            self.close()
            raise ControlClientError(f"connection to {self.path} failed: {exc}")

    def _receive(self):
        while True:
            data = self._sock.recv(READ_SIZE)
            if not data:
                self.close()
                raise ControlClientError("the server closed the connection")
            try:
                messages = self._decoder.feed(data)
            except FramingError as exc:
                self.close()
                raise ControlClientError(f"bad reply: {exc}")
            if messages:
                # one request at a time: the first message answers it
                return messages[0]
