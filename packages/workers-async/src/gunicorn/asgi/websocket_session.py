"""One ASGI ``websocket`` connection: handshake, message flow and closing handshake."""

from __future__ import annotations

import asyncio
import os
import time
from collections import deque

from gunicorn import SERVER
from gunicorn.asgi import websocket_frames as frames
from gunicorn.asgi.access import ResponseSummary, reason_phrase
from gunicorn.asgi.http_cycle import ClientDisconnected, field_bytes, header_pairs
from gunicorn.asgi.scope import websocket_scope
from gunicorn.asgi.websocket_deflate import negotiate
from gunicorn.asgi.websocket_handshake import (
    HandshakeError,
    accept_response,
    extension_offers,
    validate,
)
from gunicorn.http.events import Data, EndOfMessage, Response

# Defaults of the websocket_* settings (gunicorn/asgi/settings.py), for cfg objects without them.
MAX_MESSAGE_SIZE = 16 * 1024 * 1024
PING_INTERVAL = 20
PING_TIMEOUT = 20
# Received messages queued for the app before the connection stops reading.
INBOX_HIGH_WATER = 32
# Seconds to wait for the peer's close frame after sending ours (RFC 6455 section 7.1.1).
CLOSE_TIMEOUT = 5.0

CONNECTING, OPEN, RESPONDING, CLOSING, CLOSED = "connecting", "open", "responding", "closing", "closed"


class WebSocketSession:
    """Speaks RFC 6455 on the transport of an upgraded ``HTTPConnection``."""

    def __init__(self, conn, request):
        self.conn = conn
        self.request = request
        self.log = conn.log
        server = conn.server
        self.scope = websocket_scope(request, conn.peer, conn.sockname, server.root_path,
                                     server.state)
        if conn.tls is not None:
            self.scope["extensions"]["tls"] = conn.tls
        self.state = CONNECTING
        self.task = None
        self.reader = None
        self.deflater = None
        self.close_sent = False
        self._inbox: deque = deque()
        self._waiter = None
        self._disconnect_queued = False
        self._disconnect_message = None
        self._early = bytearray()  # client bytes that arrived before accept
        self._close_timer = None
        self._key = None
        self._offers = []
        self._started_at = time.monotonic()
        self._logged = False
        cfg = conn.cfg
        self.max_size = getattr(cfg, "websocket_max_message_size", MAX_MESSAGE_SIZE) \
            or MAX_MESSAGE_SIZE
        self.ping_interval = getattr(cfg, "websocket_ping_interval", PING_INTERVAL)
        self.ping_timeout = getattr(cfg, "websocket_ping_timeout", PING_TIMEOUT)
        self.deflate_allowed = getattr(cfg, "websocket_per_message_deflate", True)
        self._ping_timer = None
        self._ping_payload = None

    # -- start -------------------------------------------------------------------

    def start(self) -> None:
        if self.conn.server.closing:
            # A WebSocket opened now would only be closed with 1001 again.
            self.state = CLOSED
            self._http_response(503, [], b"Service Unavailable")
            self.conn.close()
            return
        try:
            self._key = validate(self.request)
        except HandshakeError as exc:
            self.log.debug("WebSocket handshake refused: %s", exc.message)
            self.state = CLOSED
            self._http_response(exc.status, exc.headers, exc.message.encode("utf-8"))
            self.conn.close()
            return
        self._offers = extension_offers(self.request.headers)
        self._inbox.append({"type": "websocket.connect"})
        self.task = self.conn.server.spawn(self.run(self.conn.server.app))

    async def run(self, app) -> None:
        try:
            await app(self.scope, self.receive, self.send)
        except ClientDisconnected:
            pass
        except asyncio.CancelledError:
            self._abandon(frames.CLOSE_GOING_AWAY)
            raise
        except Exception:
            self.log.exception("Exception in ASGI websocket application")
            self._abandon(frames.CLOSE_INTERNAL_ERROR)
        else:
            if self.state == CONNECTING:
                # Returned without accepting: refuse like a close before accept.
                self._http_response(403, [], b"")
                self._closed()
            elif self.state == RESPONDING:
                self.log.error("ASGI websocket denial response left incomplete")
                self.conn.abort()
            elif self.state == OPEN:
                self._send_close(frames.CLOSE_NORMAL, "")

    def _abandon(self, code: int) -> None:
        if self.state == CONNECTING:
            self._http_response(500, [], b"Internal Server Error")
            self._closed()
        elif self.state == OPEN:
            self._send_close(code, "")
        elif self.state == RESPONDING:
            self.conn.abort()

    def _http_response(self, status: int, headers, body: bytes) -> None:
        proto = self.conn.proto
        headers = list(headers) + [("Content-Length", str(len(body))), ("Connection", "close")]
        out = proto.send(Response(status, reason_phrase(status), headers))
        if body:
            out += proto.send(Data(body))
        out += proto.send(EndOfMessage())
        self.conn.write(out)
        self._log_exchange(status, headers, len(body))

    def _log_exchange(self, status: int, headers, sent: int) -> None:
        """One access-log line per handshake: 101, a denial, or a refusal."""
        if self._logged:
            return
        self._logged = True
        summary = ResponseSummary()
        summary.start(status, headers)
        summary.sent = sent
        conn = self.conn
        conn.server.exchange_done(self.request, summary, self._started_at, conn.peer,
                                  conn.sockname)

    def _closed(self) -> None:
        self.state = CLOSED
        self._queue_disconnect(frames.CLOSE_ABNORMAL, "")
        self.conn.close()

    # -- the application's side --------------------------------------------------

    async def receive(self) -> dict:
        while not self._inbox:
            if self.state == CLOSED and self._disconnect_queued:
                # Asked again: the same close the app already heard, not a new code.
                return dict(self._disconnect_message)
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        message = self._inbox.popleft()
        if len(self._inbox) < INBOX_HIGH_WATER // 2:
            self.conn.resume_reading()
        return message

    async def send(self, message: dict) -> None:
        kind = message["type"]
        if self.state == CONNECTING:
            if kind == "websocket.accept":
                self._accept(message)
            elif kind == "websocket.close":
                # ASGI: close before accept is an HTTP 403 to the client.
                self._http_response(403, [], b"")
                self._closed()
            elif kind == "websocket.http.response.start":
                self.state = RESPONDING
                headers = header_pairs(message.get("headers", ()))
                status = int(message["status"])
                self._log_exchange(status, headers, 0)
                self.conn.write(self.conn.proto.send(Response(status, reason_phrase(status),
                                                              headers)))
            else:
                raise RuntimeError(f"unexpected ASGI message {kind!r} before websocket.accept")
            return
        if self.state == RESPONDING:
            if kind != "websocket.http.response.body":
                raise RuntimeError(f"unexpected ASGI message {kind!r} in a denial response")
            proto = self.conn.proto
            body = message.get("body", b"")
            out = proto.send(Data(body)) if body else b""
            if not message.get("more_body", False):
                out += proto.send(EndOfMessage())
                self.conn.write(out)
                self._closed()
                return
            self.conn.write(out)
            await self.conn.drain()
            return
        if self.state != OPEN:
            raise ClientDisconnected("websocket is closed")
        if kind == "websocket.send":
            text = message.get("text")
            data = text if text is not None else message.get("bytes")
            if data is None:
                raise RuntimeError("websocket.send needs 'text' or 'bytes'")
            self.conn.write(frames.encode_message(data, self.deflater))
            await self.conn.drain()
        elif kind == "websocket.close":
            self._send_close(int(message.get("code") or frames.CLOSE_NORMAL),
                             message.get("reason") or "")
        else:
            raise RuntimeError(f"unexpected ASGI message {kind!r} on an open websocket")

    def _accept(self, message: dict) -> None:
        extension = None
        offer = negotiate(self._offers) if self._offers and self.deflate_allowed else None
        inflater = None
        if offer is not None:
            extension, inflater, self.deflater = offer
        extra = [(field_bytes(k), field_bytes(v)) for k, v in message.get("headers", ())]
        self.conn.write(accept_response(self._key, message.get("subprotocol"), extension,
                                        extra, SERVER))
        self._log_exchange(101, [], 0)
        self.state = OPEN
        self.reader = frames.MessageReader(self.max_size, inflater)
        self._schedule_ping()
        # Bytes the HTTP protocol read past the request head belong to the WebSocket.
        trailing = getattr(self.conn.proto, "trailing_data", b"")
        if isinstance(trailing, tuple):
            trailing = trailing[0]
        early = bytes(trailing or b"") + bytes(self._early)
        self._early.clear()
        if early:
            self.data_received(early)

    # -- the client's side -------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        if self.state == CONNECTING:
            self._early += data
            if len(self._early) > self.max_size:
                self.conn.abort()
            return
        if self.state not in (OPEN, CLOSING):
            return
        self.reader.feed(data)
        try:
            for event in self.reader.events():
                self._on_event(event)
                if self.state == CLOSED:
                    return
        except frames.WebSocketProtocolError as exc:
            self.log.debug("WebSocket protocol error: %s", exc.reason)
            self._fail(exc.close_code, exc.reason)

    def _on_event(self, event) -> None:
        if isinstance(event, frames.Message):
            if self.state != OPEN:
                return  # RFC 6455 section 5.5.1: data after our close is discarded
            key = "text" if isinstance(event.data, str) else "bytes"
            self._push({"type": "websocket.receive", key: event.data})
            if len(self._inbox) > INBOX_HIGH_WATER:
                self.conn.pause_reading()
        elif isinstance(event, frames.Pong):
            if self._ping_payload is not None and event.payload == self._ping_payload:
                self._ping_payload = None
                self._schedule_ping()
        elif isinstance(event, frames.Ping):
            if not self.close_sent:
                self.conn.write(frames.encode_frame(frames.OP_PONG, event.payload))
        elif isinstance(event, frames.Close):
            if not self.close_sent:
                # Section 5.5.1: echo the status code back.
                code = event.code if event.code != frames.CLOSE_NO_STATUS else None
                self.conn.write(frames.encode_frame(frames.OP_CLOSE,
                                                    frames.close_payload(code, "")))
                self.close_sent = True
            self._queue_disconnect(event.code, event.reason)
            self.state = CLOSED
            # Section 7.1.1: the server closes the TCP connection first.
            self.conn.close()

    def _fail(self, code: int, reason: str) -> None:
        if not self.close_sent:
            self.conn.write(frames.encode_frame(frames.OP_CLOSE, frames.close_payload(code, reason)))
            self.close_sent = True
        self._queue_disconnect(code, reason)
        self.state = CLOSED
        self.conn.close()

    def _send_close(self, code: int, reason: str) -> None:
        if self.close_sent or self.state not in (OPEN,):
            return
        self.conn.write(frames.encode_frame(frames.OP_CLOSE, frames.close_payload(code, reason)))
        self.close_sent = True
        self.state = CLOSING
        self._queue_disconnect(code, reason)
        loop = asyncio.get_running_loop()
        self._close_timer = loop.call_later(CLOSE_TIMEOUT, self.conn.close)

    def _push(self, message: dict) -> None:
        self._inbox.append(message)
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def _queue_disconnect(self, code: int, reason: str) -> None:
        if self._disconnect_queued:
            return
        self._disconnect_queued = True
        self._disconnect_message = {"type": "websocket.disconnect", "code": code,
                                    "reason": reason}
        self._push(dict(self._disconnect_message))

    # -- keepalive pings (RFC 6455 section 5.5.2) --------------------------------

    def _cancel_ping(self) -> None:
        if self._ping_timer is not None:
            self._ping_timer.cancel()
            self._ping_timer = None

    def _schedule_ping(self) -> None:
        self._cancel_ping()
        if self.ping_interval and self.ping_interval > 0 and self.state == OPEN:
            loop = asyncio.get_running_loop()
            self._ping_timer = loop.call_later(self.ping_interval, self._send_ping)

    def _send_ping(self) -> None:
        self._ping_timer = None
        if self.state != OPEN:
            return
        self._ping_payload = os.urandom(4)
        self.conn.write(frames.encode_frame(frames.OP_PING, self._ping_payload))
        if self.ping_timeout and self.ping_timeout > 0:
            loop = asyncio.get_running_loop()
            self._ping_timer = loop.call_later(self.ping_timeout, self._ping_timed_out)

    def _ping_timed_out(self) -> None:
        self._ping_timer = None
        if self.state == OPEN:
            self.log.debug("WebSocket keepalive ping timed out")
            self._fail(frames.CLOSE_INTERNAL_ERROR, "keepalive ping timeout")

    def eof_received(self):
        return False  # let the transport close; connection_lost does the rest

    def connection_lost(self, exc) -> None:
        self._cancel_ping()
        if self._close_timer is not None:
            self._close_timer.cancel()
        self.state = CLOSED
        self._queue_disconnect(frames.CLOSE_ABNORMAL, "")

    def server_shutdown(self) -> None:
        """Graceful stop: RFC 6455 1001 Going Away to an open WebSocket."""
        if self.state == OPEN:
            self._send_close(frames.CLOSE_GOING_AWAY, "server shutting down")
        elif self.state == CONNECTING and self.task is None:
            self.conn.close()
