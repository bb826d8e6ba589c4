"""An asyncio Protocol that feeds core's sans-I/O HTTP/1.1 protocol and runs ASGI cycles."""

from __future__ import annotations

import asyncio
import time

from gunicorn.asgi.http_cycle import ClientDisconnected, HTTPCycle
from gunicorn.asgi.scope import address, build_http_scope
from gunicorn.asgi.tls_extension import tls_extension
from gunicorn.asgi.websocket_handshake import is_websocket_upgrade
from gunicorn.connection_reset import reset_on_close
from gunicorn.http.connection import HTTP1Connection, whole_response_sender
from gunicorn.http.error_response import peer_ip
from gunicorn.http.errors import NoMoreData, ParseError
from gunicorn.http.events import NEED_DATA, PAUSED, ConnectionClosed, Data, EndOfMessage, Request

# Above this many unsent response bytes, send() waits for the client to read.
WRITE_HIGH_WATER = 64 * 1024
# Lingering close: how long and how much unread request body we swallow after
# answering early, so the client reads our response instead of a reset.
LINGER_SECONDS = 2.0
LINGER_MAX_BYTES = 4 * 1024 * 1024


def _alpn_chose_h2(transport) -> bool:
    ssl_object = transport.get_extra_info("ssl_object")
    return ssl_object is not None and ssl_object.selected_alpn_protocol() == "h2"


class HTTPConnection(asyncio.Protocol):
    """One client connection of the asgi worker.

    Bytes go in through ``data_received`` to the protocol object; request
    events start ``HTTPCycle`` tasks; a WebSocket upgrade hands the transport
    to a ``WebSocketSession``. Reading pauses while the app has not taken the
    request body it was sent, writing waits (``drain``) while the client is slow.
    """

    def __init__(self, server, sockname=None):
        self.server = server
        self.cfg = server.cfg
        self.log = server.log
        self.transport = None
        self.proto = None
        self.send_whole = None
        self.peer = None
        # Known in advance for a listener bound to one address (saves a syscall).
        self.sockname = sockname
        self.cycle: HTTPCycle | None = None
        self.websocket = None
        self.tls = None
        self.closed = False
        self.must_close = False
        self._reading_paused = False
        self._writing_paused = False
        self._drain_waiters: list = []
        self._idle_timer = None  # one TimerHandle, moved only when a deadline comes sooner
        self._idle_deadline = None  # loop time after which an idle connection closes
        self._grace_timer = None
        self._loop = None
        self._bodyless_done = False
        self._client = None  # ASGI address pairs, computed once per connection
        self._server = None
        self._served = 0
        self._lingering = False
        self._lingered = 0
        self._h2c_seen = None  # first bytes kept while telling an h2c preface apart
        self._next_after_drain = False  # a kept-alive connection waits for the client to read
        self._stall_timer = None  # while writing is paused: the client must read within timeout

    # -- asyncio.Protocol --------------------------------------------------------

    def connection_made(self, transport) -> None:
        server = self.server
        if server.http2 is not None and server.ssl_context is not None \
                and _alpn_chose_h2(transport):
            self._become_http2(transport, b"")
            return
        self.transport = transport
        self._loop = asyncio.get_running_loop()
        self.peer = transport.get_extra_info("peername")
        if server.h2c_prior and server.h2c_allowed(self.peer):
            self._h2c_seen = b""
        if self.sockname is None:
            self.sockname = transport.get_extra_info("sockname")
        self._client = address(self.peer)
        self._server = address(self.sockname)
        is_ssl = self.server.ssl_context is not None
        self.tls = tls_extension(transport.get_extra_info("ssl_object")) if is_ssl else None
        self.proto = self.server.protocol_class(self.cfg, self.peer, self.sockname, is_ssl)
        # Core's HTTP/1 machine finishes a body-less request by itself in
        # start_next_cycle(): no need to pull its EndOfMessage event.
        self._bodyless_done = isinstance(self.proto, HTTP1Connection)
        # Head, body and end of a response in one call, when the protocol offers it.
        self.send_whole = whole_response_sender(self.proto)
        transport.set_write_buffer_limits(high=WRITE_HIGH_WATER)
        self.server.connection_opened(self)
        self._arm_idle_timer()

    def data_received(self, data: bytes) -> None:
        if self._h2c_seen is not None:
            data = self._sniff_h2c(data)
            if data is None:
                return
        if self._lingering:
            self._lingered += len(data)
            if self._lingered > LINGER_MAX_BYTES:
                self.abort()
            return
        if self.websocket is not None:
            self.websocket.data_received(data)
            return
        self.proto.receive_data(data)
        if self.cycle is not None and self.cycle.body_complete:
            # A pipelined request: keep it in the protocol, read no more until we answer.
            self.pause_reading()
            return
        self._pump()

    def eof_received(self):
        if self._h2c_seen:
            # A short first read, then EOF: what came is HTTP/1 after all.
            data, self._h2c_seen = self._h2c_seen, None
            self.data_received(data)
        self._h2c_seen = None
        if self._lingering:
            return False
        if self.websocket is not None:
            return self.websocket.eof_received()
        self.proto.receive_data(b"")
        cycle = self.cycle
        if cycle is None or not cycle.body_complete:
            self._pump()
        elif not cycle.response_complete:
            # The client closed its side: most likely gone. The app hears
            # http.disconnect and has the grace period, while a half-closing
            # client can still read a response written meanwhile.
            cycle.peer_closed()
            self._start_grace_timer()
        # Keep the transport open so a response in progress can still be written.
        return True

    def connection_lost(self, exc) -> None:
        self.closed = True
        self._stop_idle_timer()
        if self._stall_timer is not None:
            self._stall_timer.cancel()
        if self.cycle is not None and not self.cycle.response_complete:
            self.cycle.disconnect()
            self._start_grace_timer()
        if self.websocket is not None:
            self.websocket.connection_lost(exc)
        for waiter in self._drain_waiters:
            if not waiter.done():
                waiter.set_result(None)
        self._drain_waiters.clear()
        self.server.connection_closed(self)
        cycle = self.cycle
        if cycle is None or cycle.task is None or cycle.task.done():
            self._drop_references()

    # -- HTTP/2 (gunicorn-http2 installed and h2 in http_protocols) ----------------

    def _sniff_h2c(self, data):
        """The bytes to serve as HTTP/1, or None when they were (or may yet be) h2c."""
        seen = self._h2c_seen + data if self._h2c_seen else data
        http2 = self.server.http2
        if len(seen) < 3 and http2.preface.startswith(seen):
            # Too short to tell (RFC 9113 section 3.4: "PRI" decides): wait for more.
            self._h2c_seen = seen
            return None
        self._h2c_seen = None
        if self._served == 0 and http2.starts_with_preface(seen):
            # h2c prior knowledge (RFC 9113 section 3.3) from a trusted peer.
            self._stop_idle_timer()
            self.server.connections.discard(self)
            self._become_http2(self.transport, seen)
            self.transport = None
            return None
        return seen

    def _upgrade_to_h2c(self, request) -> bool:
        """``Upgrade: h2c`` (RFC 7540 section 3.2) from a trusted peer: 101, then HTTP/2.

        Requests with a body, or whose HTTP2-Settings is unusable, stay HTTP/1.1.
        """
        server = self.server
        settings = server.http2.upgrade_settings(request)
        if settings is None or not server.h2c_allowed(self.peer):
            return False
        self._stop_idle_timer()
        server.connections.discard(self)
        leftover, _closed = self.proto.trailing_data
        self._become_http2(self.transport, leftover, upgrade=(request, settings))
        # This HTTP/1 side is done: nothing may read or write through it any more.
        self.transport = None
        self.closed = True
        return True

    def _become_http2(self, transport, initial, upgrade=None) -> None:
        """Hand the transport to an ``HTTP2Session`` (ALPN h2, an h2c preface or upgrade)."""
        from gunicorn.asgi.http2_session import HTTP2Session

        server = self.server
        session = HTTP2Session(server, server.http2.connection_class, self.sockname, initial,
                               upgrade=upgrade)
        transport.set_protocol(session)
        session.connection_made(transport)

    def _drop_references(self) -> None:
        # Connection, transport and cycle point at each other: left alone they
        # wait for the cyclic GC, whose full passes cost long pauses (p99) when
        # every request is a new connection. Nothing writes once closed.
        self.transport = None
        self.cycle = None

    def pause_writing(self) -> None:
        self._writing_paused = True
        # Whoever waits for the drain (an app's send(), a websocket, the next
        # pipelined request) waits at most the worker timeout for this client.
        self._stall_timer = self._loop.call_later(self.server.first_request_wait,
                                                  self._write_stalled)

    def resume_writing(self) -> None:
        self._writing_paused = False
        if self._stall_timer is not None:
            self._stall_timer.cancel()
            self._stall_timer = None
        for waiter in self._drain_waiters:
            if not waiter.done():
                waiter.set_result(None)
        self._drain_waiters.clear()
        if self._next_after_drain:
            self._next_after_drain = False
            if not self.closed and self.cycle is None:
                self._arm_idle_timer()
                self.resume_reading()
                self._pump()

    # -- used by cycles and sessions ---------------------------------------------

    def write(self, data: bytes) -> None:
        if data and not self.closed:
            self.transport.write(data)

    def write_parts(self, parts: list) -> None:
        """Write several buffers with one call and no joined copy (big bodies)."""
        if not self.closed:
            self.transport.writelines(parts)

    async def drain(self) -> None:
        """Wait while the transport holds more than WRITE_HIGH_WATER unsent bytes."""
        if self.closed:
            raise ClientDisconnected("client disconnected")
        if not self._writing_paused:
            return
        waiter = self._loop.create_future()
        self._drain_waiters.append(waiter)
        await waiter
        if self.closed:
            raise ClientDisconnected("client disconnected")

    def _write_stalled(self) -> None:
        # The client read nothing for the worker timeout. Closing would wait
        # for the unsent bytes it never reads: abort.
        self._stall_timer = None
        if self._writing_paused and not self.closed:
            self.transport.abort()

    def pause_reading(self) -> None:
        if not self._reading_paused and not self.closed:
            self._reading_paused = True
            self.transport.pause_reading()

    def resume_reading(self) -> None:
        if self._reading_paused and not self.closed:
            self._reading_paused = False
            self.transport.resume_reading()

    def _linger(self) -> None:
        """Half-close, then discard what the client still sends for a short while.

        Closing with unread request bytes makes the kernel send a reset, which
        can destroy the response before the client reads it.
        """
        if self.closed:
            return
        if not self.transport.can_write_eof():
            self.close()
            return
        self._lingering = True
        self.transport.write_eof()
        self.resume_reading()
        asyncio.get_running_loop().call_later(LINGER_SECONDS, self.close)

    def abort(self) -> None:
        if not self.closed:
            self.transport.abort()

    def abort_cut_response(self) -> None:
        """Abort a connection whose response broke off after its head.

        A body delimited by the close would look complete after a plain close
        (RFC 9112 section 8): the connection is reset instead.
        """
        if self.closed:
            return
        if getattr(self.proto, "response_framing", None) == "close":
            sock = self.transport.get_extra_info("socket")
            if sock is not None:
                reset_on_close(sock)
        self.transport.abort()

    def close(self) -> None:
        if not self.closed:
            self.transport.close()

    # -- request flow ------------------------------------------------------------

    def _pump(self) -> None:
        """Turn buffered bytes into events until the protocol needs more or we must wait."""
        while not self.closed and self.websocket is None:
            if self.cycle is not None and self.cycle.body_complete:
                return
            try:
                event = self.proto.next_event()
            except NoMoreData:
                # The peer closed mid-message: nothing to answer.
                if self.cycle is not None:
                    self.cycle.disconnect()
                self.close()
                return
            except ParseError as exc:
                self._reject(exc)
                return
            if event is NEED_DATA or event is PAUSED:
                return
            if isinstance(event, Request):
                self._on_request(event)
                if self._bodyless_done and self.cycle is not None \
                        and not event.chunked and not event.content_length:
                    self.cycle.end_body()
                    return
            elif isinstance(event, Data):
                if self.cycle.feed_body(event.data):
                    self.pause_reading()
            elif isinstance(event, EndOfMessage):
                self.cycle.end_body()
            elif isinstance(event, ConnectionClosed):
                if self.cycle is not None and not self.cycle.response_complete:
                    self.cycle.disconnect()
                self.close()
                return

    def _on_request(self, request) -> None:
        self._idle_deadline = None  # a request is in progress (the timer may stay armed)
        server = self.server
        scope = build_http_scope(request, self._client, self._server, server.root_path,
                                 server.state)
        if scope is None:
            # An Upgrade field: a WebSocket, or an upgrade answered as plain HTTP.
            # RFC 9110 section 7.8: an Upgrade in an HTTP/1.0 request is ignored, and
            # a server may ignore one; a non-GET "Upgrade: websocket" (no handshake,
            # RFC 6455 section 4.1) is served as plain HTTP, as upstream does.
            if request.method == "GET" and tuple(request.version) >= (1, 1) \
                    and is_websocket_upgrade(request.headers):
                from gunicorn.asgi.websocket_session import WebSocketSession

                self.websocket = WebSocketSession(self, request)
                self.websocket.start()
                return
            if server.h2c_upgrade and self._upgrade_to_h2c(request):
                return
            scope = build_http_scope(request, self._client, self._server, server.root_path,
                                     server.state, upgrade=True)
        if self.tls is not None:
            scope["extensions"]["tls"] = self.tls
        self.cycle = cycle = HTTPCycle(
            self, request, scope, time.monotonic() if server.reports_requests else 0.0)
        if server.has_pre_request:
            server.pre_request(request)
        cycle.task = server.spawn_cycle(cycle)

    def _reject(self, exc: ParseError) -> None:
        """Answer a malformed request with core's error page and close."""
        # Debug, not warning: upstream's asgi worker does not log these at all.
        self.log.debug("Invalid request from ip=%s: %s", peer_ip(self.peer), exc)
        cycle = self.cycle
        if cycle is not None:
            # The body went bad under a running app: it sees a disconnect.
            started = cycle.response_started and cycle._head is None
            cycle.disconnect()
            if started:
                self.abort()
                return
        self.write(self.proto.send_error(exc))
        self.server.log_rejected(exc, exc.status_code, self.peer, self.sockname)
        self._linger()

    def response_complete(self, cycle: HTTPCycle) -> None:
        """The response is on the wire: log it and make the connection ready for the next."""
        self._served += 1
        server = self.server
        server.request_done(cycle, self.peer, self.sockname)
        if self.closed:
            return
        proto = self.proto
        keepalive = server.keepalive
        reusable = (
            cycle.body_complete
            and not self.must_close
            and not cycle.request.must_close
            and proto.keep_alive
            and keepalive > 0
            and not server.closing
        )
        if not reusable:
            cycle.check_declared_length()
            if cycle.body_complete:
                self.close()
            else:
                self._linger()
            return
        self.cycle = None
        proto.start_next_cycle()
        if self._writing_paused:
            # The client is not reading our answers: take no further (pipelined)
            # request and read no more until it does, or its requests and our
            # responses pile up in memory. The keep-alive wait starts after the drain;
            # a client that reads nothing for the worker timeout is let go (_write_stalled).
            self._idle_deadline = None
            self.pause_reading()
            self._next_after_drain = True
            return
        # _arm_idle_timer() for a kept-alive connection, spelled out on this hot path.
        deadline = self._idle_deadline = self._loop.time() + keepalive
        timer = self._idle_timer
        if timer is None or timer.when() > deadline:
            if timer is not None:
                timer.cancel()
            self._idle_timer = self._loop.call_at(deadline, self._idle_check)
        if self._reading_paused:
            self.resume_reading()
        self._pump()

    def cycle_finished(self, cycle: HTTPCycle) -> None:
        """The app's coroutine returned (maybe after the response completed)."""
        if not cycle.response_complete:
            # Cut short (the client left, the app failed mid-body): logged, hooked
            # and counted all the same, as response_complete() does for the rest.
            self.server.request_done(cycle, self.peer, self.sockname)
        if self._grace_timer is not None:
            self._grace_timer.cancel()
            self._grace_timer = None
        if self.cycle is cycle and not cycle.response_complete:
            self.close()
        if self.closed and self.websocket is None:
            self._drop_references()

    # -- timers and shutdown -----------------------------------------------------

    def _arm_idle_timer(self) -> None:
        # A fresh connection gets the worker timeout for its first request head;
        # a kept-alive one only ``keepalive`` seconds (upstream's keep-alive wait).
        server = self.server
        delay = server.keepalive if self._served else server.first_request_wait
        if not delay or delay <= 0:
            self._idle_deadline = None
            return
        loop = self._loop
        deadline = loop.time() + delay
        self._idle_deadline = deadline
        timer = self._idle_timer
        # Reuse the armed timer (it re-checks the deadline when it fires)
        # unless it would fire too late.
        if timer is None or timer.when() > deadline:
            if timer is not None:
                timer.cancel()
            self._idle_timer = loop.call_at(deadline, self._idle_check)

    def _stop_idle_timer(self) -> None:
        self._idle_deadline = None
        if self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = None

    def _idle_check(self) -> None:
        self._idle_timer = None
        deadline = self._idle_deadline
        if deadline is None or self.closed:
            return
        loop = self._loop
        if loop.time() < deadline - 0.005:
            self._idle_timer = loop.call_at(deadline, self._idle_check)
            return
        self._idle_timeout()

    def _idle_timeout(self) -> None:
        self._idle_deadline = None
        if self.cycle is None and self.websocket is None:
            self.close()

    def _start_grace_timer(self) -> None:
        # asgi_disconnect_grace_period: how long the app may run once the client is gone.
        grace = getattr(self.cfg, "asgi_disconnect_grace_period", 3)
        task = self.cycle.task
        if task is None or task.done() or self._grace_timer is not None:
            return
        loop = asyncio.get_running_loop()
        self._grace_timer = loop.call_later(max(grace, 0), task.cancel)

    def shutdown(self) -> None:
        """Graceful stop: idle connections close now, busy ones after their response."""
        if self.websocket is not None:
            self.websocket.server_shutdown()
        elif self.cycle is None:
            self.close()
