"""One HTTP/2 stream as ``HTTPCycle`` sees it: its connection and its protocol in one object.

``HTTPCycle`` (the ASGI ``receive``/``send`` of the HTTP/1 path) writes a
response as core's events through ``conn.proto.send(event)`` followed by
``conn.write(bytes)``.  ``StreamPort`` stands in for both: events become
``HTTP2Connection`` calls on one stream, and ``write()`` is where body bytes
held back are committed, so a whole response leaves as HEADERS + DATA with
END_STREAM on its last frame.  ``drain()`` waits for the peer's flow-control
window (RFC 9113 section 6.9) instead of a socket's buffer.
"""

from __future__ import annotations

import asyncio

from gunicorn.asgi.http_cycle import ClientDisconnected, HTTPCycle
from gunicorn.http.events import Data, EndOfMessage, InformationalResponse, Response

# RFC 9110 section 6.4.1: these responses never carry content.
_NO_BODY_STATUS = frozenset((204, 304))
# RST_STREAM codes (RFC 9113 section 7): kept here so this module needs no h2 import.
NO_ERROR = 0x0
INTERNAL_ERROR = 0x2


class HTTP2Cycle(HTTPCycle):
    """``HTTPCycle`` whose request body reopens the peer's window as the app reads it."""

    __slots__ = ("_unacknowledged",)

    def __init__(self, conn, request, scope, started_at=0.0):
        HTTPCycle.__init__(self, conn, request, scope, started_at)
        self._unacknowledged = 0  # flow-controlled bytes queued for the app, not yet returned

    def feed_stream_data(self, data, flow_length) -> None:
        """Body bytes of a DATA frame (``flow_length`` counts padding too)."""
        if data:
            self._unacknowledged += flow_length
            self.feed_body(data)
        elif flow_length:
            # Padding only: nothing for the app, give the window back at once.
            self.conn.acknowledge(flow_length)

    async def receive(self) -> dict:
        message = await HTTPCycle.receive(self)
        # receive() returns every queued chunk at once and without awaiting
        # after it took them: all bytes counted so far are now the app's.
        if self._unacknowledged:
            self.conn.acknowledge(self._unacknowledged)
            self._unacknowledged = 0
        return message


class StreamPort:
    """``HTTPCycle``'s ``conn`` (and ``conn.proto``) for one stream of an ``HTTP2Session``."""

    # HTTPCycle writes head, body and end through proto.send() then write().
    send_whole = None

    def __init__(self, session, stream_id, request):
        self.session = session
        self.server = session.server
        self.log = session.log
        self.proto = self
        self.stream_id = stream_id
        self.request = request
        self.cycle = None
        self.closed = False         # reset by the peer, or the connection is gone
        self.must_close = False     # HTTPCycle's error page sets it: a stream is never reused
        self.window = asyncio.Event()  # set by the session whenever flow control may have moved
        self.grace_timer = None
        self._head = None           # the Response held until the body or the end
        self._pending = None        # body bytes held until write() or the end
        self._bodyless = request.method == "HEAD"
        self._declared = None       # the app's Content-Length, if any
        self._body_sent = 0
        self._ended = False

    # -- core's protocol calls (HTTPCycle: conn.proto.send) -------------------------

    def send(self, event) -> bytes:
        if self.closed:
            raise ClientDisconnected("stream reset")
        kind = type(event)
        if kind is Data:
            self._add_body(event.data)
        elif kind is EndOfMessage:
            self._end(event.trailers)
        elif kind is Response:
            self._hold_head(event)
        elif kind is InformationalResponse:
            self._call(self.session.conn.send_informational, self.stream_id,
                       event.status_code, list(event.headers or ()))
            self.session.schedule_flush()
        else:
            raise TypeError(f"cannot send {event!r} on an HTTP/2 stream")
        return b""

    def _hold_head(self, event) -> None:
        self._head = event
        status = event.status_code
        if status < 200 or status in _NO_BODY_STATUS:
            self._bodyless = True
        for name, value in event.headers:
            if name.lower() == "content-length":
                try:
                    self._declared = int(value)
                except ValueError:
                    self._declared = None

    def _add_body(self, data) -> None:
        if self._bodyless or not data:
            return
        if self._declared is not None and self._body_sent + len(data) > self._declared:
            # As the HTTP/1 writer does: bytes beyond Content-Length are cut off.
            data = data[:max(self._declared - self._body_sent, 0)]
            if not data:
                return
        self._body_sent += len(data)
        if self._pending is None:
            self._pending = data
        else:
            self._pending = bytes(self._pending) + bytes(data)

    def _send_head(self, end_stream) -> None:
        head = self._head
        if head is None:
            return
        self._head = None
        self._call(self.session.conn.send_response, self.stream_id, head.status_code,
                   head.headers, end_stream)

    def _commit(self) -> None:
        """Hand held head and body to the connection (no END_STREAM)."""
        self._send_head(False)
        pending = self._pending
        if pending is not None:
            self._pending = None
            self._call(self.session.conn.send_data, self.stream_id, pending)
        self.session.schedule_flush()

    def _end(self, trailers) -> None:
        if self._ended:
            return
        self._ended = True
        conn = self.session.conn
        short = (self._declared is not None and not self._bodyless
                 and self._body_sent < self._declared)
        if short:
            # Fewer bytes than the app's Content-Length: only a reset tells the
            # client the response is incomplete (RFC 9113 section 8.1.1).
            self._commit()
            self.abort()
            return
        pending = self._pending
        if self._head is not None and pending is None and not trailers:
            self._send_head(True)
        else:
            self._send_head(False)
            self._pending = None
            if pending is not None and not trailers:
                self._call(conn.send_data, self.stream_id, pending, True)
            else:
                if pending is not None:
                    self._call(conn.send_data, self.stream_id, pending)
                self._call(conn.end_stream, self.stream_id, list(trailers) if trailers else None)
        self.session.schedule_flush()

    def _call(self, method, *args) -> None:
        try:
            method(*args)
        except ConnectionResetError as exc:  # gunicorn.http2.errors.StreamClosed
            self.closed = True
            raise ClientDisconnected(str(exc)) from None

    # -- the connection side of HTTPCycle -------------------------------------------

    def write(self, data) -> None:
        if not self.closed and (self._pending is not None or self._head is not None):
            self._commit()

    def write_parts(self, parts) -> None:
        self.write(b"")

    async def drain(self) -> None:
        """Wait until the stream's queued body is on the wire (RFC 9113 section 6.9)."""
        session = self.session
        conn = session.conn
        sid = self.stream_id
        while True:
            if self.closed:
                raise ClientDisconnected("stream reset")
            if not conn.queued_bytes(sid) and not session.writing_paused:
                return
            self.window.clear()
            session.waiting.add(self)
            try:
                await self.window.wait()
            finally:
                session.waiting.discard(self)

    def acknowledge(self, flow_length) -> None:
        self.session.acknowledge(self.stream_id, flow_length)

    def pause_reading(self) -> None:
        """Flow control bounds what a stream may send: the socket keeps being read."""

    def resume_reading(self) -> None:
        """See pause_reading."""

    def abort(self) -> None:
        """Part of the response went out and the rest never will: RST_STREAM."""
        if not self.closed:
            self.closed = True
            self.session.reset_stream(self.stream_id, INTERNAL_ERROR)

    # An HTTP/2 stream shows a cut by RST_STREAM, whatever its framing.
    abort_cut_response = abort

    def close(self) -> None:
        self.abort()

    def response_complete(self, cycle) -> None:
        self.session.stream_answered(self, cycle)

    def cycle_finished(self, cycle) -> None:
        if self.grace_timer is not None:
            self.grace_timer.cancel()
            self.grace_timer = None
        if not cycle.response_complete:
            # Cut short (a reset stream, the app failed mid-body): logged, hooked
            # and counted all the same, as stream_answered() does for the rest.
            session = self.session
            session.server.request_done(cycle, session.peer, session.sockname)
            if not self.closed:
                # The app returned or failed mid-response (HTTPCycle logged it).
                self.abort()
        self.session.stream_finished(self)

    # -- events from the session ----------------------------------------------------

    def disconnect(self, grace) -> None:
        """The peer reset the stream or the connection is gone: the app hears http.disconnect."""
        self.closed = True
        self.window.set()
        cycle = self.cycle
        if cycle is None or cycle.response_complete:
            return
        cycle.disconnect()
        task = cycle.task
        if task is not None and not task.done() and self.grace_timer is None:
            # asgi_disconnect_grace_period: how long the app may go on once the client left.
            loop = asyncio.get_running_loop()
            self.grace_timer = loop.call_later(max(grace, 0), task.cancel)
