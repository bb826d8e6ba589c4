"""An asyncio Protocol driving gunicorn-http2's sans-I/O ``HTTP2Connection``: each stream its own ASGI task.

Bytes read go to ``HTTP2Connection.receive_data``; a ``StreamRequest``
starts an ``HTTP2Cycle`` task (the HTTP/1 path's ASGI cycle over a
``StreamPort``), so streams of one connection run concurrently.  Request
body is acknowledged as the app reads it; response body beyond the peer's
window waits in the connection and the stream's ``drain()`` waits for the
WINDOW_UPDATE that frees it.  This module never imports ``h2``: the
connection class comes from the ``gunicorn.protocols`` entry point ``h2``.
"""

from __future__ import annotations

import asyncio
import time

from gunicorn.asgi.http2_stream import NO_ERROR, HTTP2Cycle, StreamPort
from gunicorn.asgi.scope import address, build_http_scope
from gunicorn.asgi.tls_extension import tls_extension
from gunicorn.http2 import events as ev

# Above this many unsent bytes in the transport, streams wait before writing more.
WRITE_HIGH_WATER = 64 * 1024
# gunicorn.http2.errors.INTERNAL_ERROR (RFC 9113 section 7), without importing h2 here.
_INTERNAL_ERROR = 0x2
# gunicorn.http2.request_head's environ keys for the stream priority.
_PRIORITY_WEIGHT = "gunicorn.http2.priority_weight"
_PRIORITY_DEPENDS_ON = "gunicorn.http2.priority_depends_on"


class HTTP2Session(asyncio.Protocol):
    """One HTTP/2 connection of the asgi worker (TLS with ALPN h2, or h2c prior knowledge)."""

    def __init__(self, server, connection_class, sockname=None, initial=b"", upgrade=None):
        self.server = server
        self.cfg = server.cfg
        self.log = server.log
        self.connection_class = connection_class
        self.sockname = sockname
        self.initial = initial          # bytes the HTTP/1 side read before telling h2c apart
        self.upgrade = upgrade          # (HTTP/1.1 request, HTTP2-Settings) of an h2c upgrade
        self.transport = None
        self.conn = None
        self.peer = None
        self.tls = None
        self.streams: dict = {}         # stream id -> StreamPort whose app task has not ended
        self.waiting: set = set()       # StreamPorts in drain(), woken as windows move
        self.unread_uploads: set = set()  # stream ids answered before their body ended
        self.writing_paused = False
        self.closed = False
        self.closing = False            # transport.close() called: nothing more is written
        self.draining = False           # GOAWAY sent: finish the streams we have, then close
        self.served = 0
        self._client = None
        self._server = None
        self._loop = None
        self._flush_handle = None
        self._idle_timer = None
        self._grace = getattr(self.cfg, "asgi_disconnect_grace_period", 3)

    # -- asyncio.Protocol --------------------------------------------------------

    def connection_made(self, transport) -> None:
        self.transport = transport
        self._loop = asyncio.get_running_loop()
        self.peer = transport.get_extra_info("peername")
        if self.sockname is None:
            self.sockname = transport.get_extra_info("sockname")
        self._client = address(self.peer)
        self._server = address(self.sockname)
        ssl_object = transport.get_extra_info("ssl_object")
        is_ssl = ssl_object is not None
        self.tls = tls_extension(ssl_object) if is_ssl else None
        self.conn = self.connection_class(self.cfg, self.peer, self.sockname, is_ssl)
        transport.set_write_buffer_limits(high=WRITE_HIGH_WATER)
        self.server.connection_opened(self)
        upgrade, self.upgrade = self.upgrade, None
        if upgrade is None:
            # RFC 9113 section 3.4: our SETTINGS open the server's side of the connection.
            self.conn.initiate()
            self._arm_idle_timer()
        else:
            self._start_upgraded(*upgrade)
        initial, self.initial = self.initial, b""
        if initial:
            self.data_received(initial)
        else:
            self.flush()

    def data_received(self, data: bytes) -> None:
        if self.closed or self.closing:
            return
        for event in self.conn.receive_data(data):
            kind = type(event)
            if kind is ev.StreamData:
                self._on_data(event)
            elif kind is ev.StreamRequest:
                self._on_request(event)
            elif kind is ev.StreamEnded:
                port = self.streams.get(event.stream_id)
                if port is not None:
                    port.cycle.end_body()
            elif kind is ev.StreamReset:
                port = self.streams.get(event.stream_id)
                if port is not None:
                    port.disconnect(self._grace)
            elif kind is ev.ConnectionEnded:
                self._on_connection_ended(event)
        self._window_moved()
        self.flush()

    def eof_received(self):
        self.data_received(b"")
        # Nothing more comes and every stream was told: let the transport close.
        return False

    def connection_lost(self, exc) -> None:
        self.closed = True
        self._stop_idle_timer()
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        for port in list(self.streams.values()):
            port.disconnect(self._grace)
        self._window_moved()
        self.server.connection_closed(self)

    def pause_writing(self) -> None:
        self.writing_paused = True
        # A peer that reads nothing must not have us buffer an answer (RST_STREAM,
        # PING or SETTINGS ACK) to each frame it sends: stop reading it meanwhile.
        if not (self.closed or self.closing):
            self.transport.pause_reading()

    def resume_writing(self) -> None:
        self.writing_paused = False
        if not (self.closed or self.closing):
            self.transport.resume_reading()
        self._window_moved()

    def _start_upgraded(self, request, settings) -> None:
        # RFC 7540 section 3.2: 101, then our SETTINGS; the HTTP/1.1 request,
        # complete and bodyless, becomes stream 1 and is answered over HTTP/2.
        from gunicorn.http2.upgrade import SWITCHING, as_stream_one

        self.transport.write(SWITCHING)
        self.conn.initiate_upgrade(settings)
        self._on_request(ev.StreamRequest(1, as_stream_one(request), True))

    # -- incoming events ---------------------------------------------------------

    def _on_request(self, event) -> None:
        self._stop_idle_timer()
        server = self.server
        request = event.request
        port = StreamPort(self, event.stream_id, request)
        scope = build_http_scope(request, self._client, self._server, server.root_path,
                                 server.state, upgrade=True)
        if self.tls is not None:
            scope["extensions"]["tls"] = self.tls
        # The stream's priority (RFC 7540 section 5.3), under upstream 27.0.1's name.
        extra = request.extra_environ
        scope["extensions"]["http.response.priority"] = {
            "weight": extra.get(_PRIORITY_WEIGHT, 16),
            "depends_on": extra.get(_PRIORITY_DEPENDS_ON, 0)}
        cycle = HTTP2Cycle(port, request, scope,
                           time.monotonic() if server.reports_requests else 0.0)
        port.cycle = cycle
        self.streams[event.stream_id] = port
        if event.ended:
            cycle.end_body()
        if server.has_pre_request:
            server.pre_request(request)
        cycle.task = server.spawn_cycle(cycle)

    def _on_data(self, event) -> None:
        port = self.streams.get(event.stream_id)
        cycle = None if port is None else port.cycle
        if cycle is None or cycle.response_complete or port.closed:
            # Nobody will read it: give the window back now.
            self.conn.acknowledge(event.stream_id, event.flow_length)
            return
        cycle.feed_stream_data(event.data, event.flow_length)

    def _on_connection_ended(self, event) -> None:
        self.draining = True
        if event.by_peer and not event.error_code and event.reason != "peer closed":
            # A graceful GOAWAY from the client (RFC 9113 section 6.8): the
            # streams it already opened are still answered.
            if not self.streams:
                self._close_soon()
            return
        if not event.by_peer:
            self.log.debug("HTTP/2 protocol error from %s: %s", self.peer, event.reason)
        for port in list(self.streams.values()):
            port.disconnect(self._grace)
        self._close_soon()

    def _window_moved(self) -> None:
        """WINDOW_UPDATE, SETTINGS or a drained transport: streams in drain() look again."""
        if self.waiting:
            for port in list(self.waiting):
                port.window.set()
        if self.unread_uploads:
            conn = self.conn
            for sid in [sid for sid in self.unread_uploads if conn.is_answered(sid)]:
                self.unread_uploads.discard(sid)
                self.reset_stream(sid, NO_ERROR)
        if self.draining and self._all_sent():
            self._close_soon()

    def _all_sent(self) -> bool:
        """No app task left and no response body waiting for the peer's window."""
        return not self.streams and not self.conn.active_streams

    # -- used by streams ---------------------------------------------------------

    def schedule_flush(self) -> None:
        """Write what streams produced once this loop pass ends: one write for many frames."""
        if self._flush_handle is None and not self.closed:
            self._flush_handle = self._loop.call_soon(self.flush)

    def flush(self) -> None:
        self._flush_handle = None
        if self.closed or self.closing:
            return
        data = self.conn.data_to_send()
        if data:
            self.transport.write(data)

    def acknowledge(self, stream_id, flow_length) -> None:
        if not self.closed:
            self.conn.acknowledge(stream_id, flow_length)
            self.schedule_flush()

    def reset_stream(self, stream_id, error_code=_INTERNAL_ERROR) -> None:
        if not self.closed:
            self.conn.reset_stream(stream_id, error_code)
            self.schedule_flush()

    def stream_answered(self, port, cycle) -> None:
        """The whole response was handed to the connection: access log, hooks, counting."""
        self.served += 1
        self.server.request_done(cycle, self.peer, self.sockname)
        if not cycle.body_complete and not port.closed:
            # RFC 9113 section 8.1: a complete response may end an upload the
            # app did not read; NO_ERROR once our END_STREAM is out.
            if self.conn.is_answered(port.stream_id):
                self.reset_stream(port.stream_id, NO_ERROR)
            else:
                self.unread_uploads.add(port.stream_id)

    def stream_finished(self, port) -> None:
        """The app's task for ``port`` ended."""
        self.streams.pop(port.stream_id, None)
        self.waiting.discard(port)
        if self.streams or self.closed:
            return
        if self.draining:
            if self._all_sent():
                self._close_soon()
        else:
            self._arm_idle_timer()

    # -- timers and shutdown -----------------------------------------------------

    def _arm_idle_timer(self) -> None:
        # A fresh connection waits up to the worker timeout for its first
        # request, an idle one ``keepalive`` seconds, as on HTTP/1.
        server = self.server
        self._stop_idle_timer()
        keepalive = server.keepalive
        if self.served and (not keepalive or keepalive <= 0):
            # Keep-alive off: no request after the ones served (GOAWAY now).
            if not self.draining:
                self.shutdown()
            delay = server.first_request_wait
        else:
            delay = keepalive if self.served else server.first_request_wait
        if not (self.closed or self.closing) and delay and delay > 0:
            self._idle_timer = self._loop.call_later(delay, self._idle_timeout)

    def _stop_idle_timer(self) -> None:
        if self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = None

    def _idle_timeout(self) -> None:
        self._idle_timer = None
        if self.streams or self.closed:
            return
        if not self.conn.active_streams:
            self.shutdown()
        # A response still waiting for the peer's window is not idleness: look again later.
        if not (self.closed or self.closing):
            self._arm_idle_timer()

    def _close_soon(self) -> None:
        """Close once what is written (GOAWAY, last frames) has been flushed."""
        if self.closed or self.closing:
            return
        self.flush()
        self.closing = True
        self.transport.close()

    def shutdown(self) -> None:
        """Graceful stop: GOAWAY now, close once the streams already received are answered."""
        if self.closed or self.closing:
            return
        self.draining = True
        self.conn.start_shutdown()
        self.flush()
        if self._all_sent():
            self._close_soon()

    def abort(self) -> None:
        if not self.closed:
            self.transport.abort()

    def close(self) -> None:
        self._close_soon()
