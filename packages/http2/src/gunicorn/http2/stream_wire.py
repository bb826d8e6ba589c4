"""One stream seen as core's ``ClientConnection``: the facade core's WSGI adapter talks to.

``gunicorn.wsgi.serve.ServedConnection.handle(req)`` reads the body through
``next_event()`` and writes the response through ``send(event)``; this class
turns those into HTTP/2 frames for one stream of a ``BlockingHTTP2Server``.
Writes return once the flow-control window took the bytes, waiting for the
peer's WINDOW_UPDATEs while it is closed.
"""

from gunicorn.http.errors import NoMoreData
from gunicorn.http.events import (
    ConnectionClosed,
    Data,
    EndOfMessage,
    InformationalResponse,
    Response,
)
from gunicorn.http2.errors import INTERNAL_ERROR, StreamClosed

# Held-back body bytes go out once they reach this size.
HOLD_LIMIT = 65536


class StreamInbox:
    """What arrived for one stream's request: body pieces, end, trailers, reset (guarded by the server's lock)."""

    __slots__ = ("pieces", "ended", "trailers", "reset")

    def __init__(self):
        self.pieces = []        # StreamData events not yet read by the app
        self.ended = False
        self.trailers = []
        self.reset = False


class StreamWire:
    """``ClientConnection`` stand-in for one HTTP/2 stream (and its protocol facade)."""

    # ServedConnection asks the protocol these; an HTTP/2 stream is never reused.
    keep_alive = False
    whole_sender = None
    response_framing = "none"

    def __init__(self, server, stream_id, inbox, req):
        self.server = server
        self.stream_id = stream_id
        self.inbox = inbox
        self.req = req
        self.proto = self
        self.sock = StreamSocket(self)
        self.peer_closed = False
        self.broken = False
        self.wrote = False
        self.head = None            # the Response held until the first body bytes
        self.head_sent = False
        self.ended = False
        self.trailers = None        # set through gunicorn.http2.send_trailers
        # Body bytes written with flush=False (a list response), held so that
        # they leave with what follows: HEADERS + DATA(END_STREAM) in one write.
        self.held = b""

    # -- the request body ----------------------------------------------------
    def next_event(self):
        """The next piece of the request body: ``Data``, ``EndOfMessage`` or ``ConnectionClosed``."""
        event = self.server.next_body_event(self.stream_id, self.inbox)
        if type(event) is ConnectionClosed:
            # The stream was reset (or the connection lost) before END_STREAM: the
            # body is incomplete (RFC 9110 section 8.6), never a short complete one.
            # Core's adapter logs NoMoreData from the app at debug level, as a
            # client gone mid-request.
            self.peer_closed = True
            raise NoMoreData(b"", self.req)
        return event

    def receive_more(self):
        """Bytes arrive through the connection's I/O thread, never through a stream."""
        return False

    # -- the response --------------------------------------------------------
    def send(self, event, flush=True):
        kind = type(event)
        if kind is Data:
            data = event.data
            if self.held:
                data = self.held + data
                self.held = b""
            if not flush and len(data) < HOLD_LIMIT:
                self.held = data
                return b""
            self._send_head()
            self.server.send_body(self.stream_id, data)
            self.wrote = True
        elif kind is EndOfMessage:
            self.end()
        elif kind is Response:
            self.head = event
        elif kind is InformationalResponse:
            if event.status_code != 100 or not self.head_sent:
                self.server.send_informational(self.stream_id, event.status_code,
                                               event.headers)
        else:
            raise TypeError("cannot send %r on an HTTP/2 stream" % (event,))
        return b""

    def _send_head(self, end_stream=False):
        if self.head_sent:
            return
        head = self.head
        if head is None:
            raise StreamClosed(self.stream_id, "body before the response head")
        self.head_sent = True
        self.server.send_head(self.stream_id, head.status_code, head.headers, end_stream)
        self.wrote = True

    def end(self):
        """End the response (with trailers if the app set some)."""
        if self.ended:
            return
        held = self.held
        self.held = b""
        if not self.head_sent and not self.trailers and not held:
            self._send_head(end_stream=True)
        else:
            self._send_head()
            self.server.end_body(self.stream_id, self.trailers, held)
        self.wrote = True
        self.ended = True

    def set_trailers(self, trailers):
        """``gunicorn.http2.send_trailers``: fields sent after the body, ending the stream."""
        pairs = []
        for name, value in trailers:
            if not isinstance(name, str) or not isinstance(value, str):
                raise TypeError("trailers must be (str, str) pairs")
            pairs.append((name, value))
        if self.ended:
            raise RuntimeError("the response already ended; trailers cannot follow")
        self.trailers = (self.trailers or []) + pairs

    def flush(self):
        return False

    def discard_pending(self):
        # A head held back is replaced by the error page.
        self.held = b""
        if not self.head_sent:
            self.head = None

    def sendall(self, data):
        self.sock.sendall(data)

    def start_next_cycle(self):
        """Never called: ``keep_alive`` is False."""


class StreamSocket:
    """What ``ServedConnection`` writes error pages to: HTTP/1 bytes become HTTP/2 frames."""

    def __init__(self, wire):
        self.wire = wire

    def sendall(self, page):
        wire = self.wire
        if wire.head_sent:
            # Too late for another head: only a reset tells the client.
            wire.server.reset(wire.stream_id, INTERNAL_ERROR)
            wire.ended = True
            return
        head, _, body = bytes(page).partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = []
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if sep:
                headers.append((name.strip(), value.strip()))
        wire.head = Response(status, "", headers)
        if body:
            wire.send(Data(body))
        wire.end()

    def gettimeout(self):
        return None

    def settimeout(self, value):
        pass

    def shutdown(self, how):
        pass

    def close(self):
        pass
