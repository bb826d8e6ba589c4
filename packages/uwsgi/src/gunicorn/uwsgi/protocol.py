"""``UWSGIProtocol``: one uwsgi connection as a sans-I/O state machine, h11-style like core's HTTP/1.

Request side, per cycle::

    IDLE --packet--> BODY --CONTENT_LENGTH bytes--> DONE --start_next_cycle()--> IDLE

``next_event()`` returns ``Request`` on leaving IDLE, ``Data`` while in BODY,
``EndOfMessage`` on reaching DONE, then ``PAUSED`` until the cycle restarts.
A peer that closes between packets gives ``ConnectionClosed``; one that closes
inside a packet or body is an error. After any error the protocol is ERROR and
keeps raising it: the connection must close.

Response side: ``Response`` then ``Data``* then ``EndOfMessage``, serialized by
core's HTTP/1 writer. nginx copies a uwsgi backend's body bytes to the client
unchanged, so chunked framing is never used: a body of unknown length is
delimited by closing the connection.
"""

from __future__ import annotations

import os
from functools import lru_cache

from gunicorn.config_derived import derived_from_settings
from gunicorn.http.allow_lists import parse_networks, peer_allowed
from gunicorn.http.error_response import render_parse_error
from gunicorn.http.errors import NoMoreData
from gunicorn.http.events import (
    NEED_DATA,
    PAUSED,
    ConnectionClosed,
    Data,
    EndOfMessage,
    InformationalResponse,
    Request,
    Response,
)
from gunicorn.http.parser_options import ParserOptions
from gunicorn.http.response_head import frame_response
from gunicorn.uwsgi.errors import ForbiddenUWSGIRequest, InvalidUWSGIHeader
from gunicorn.uwsgi.packet import (
    HEADER_SIZE,
    MAX_DATASIZE,
    packet_size,
    parse_vars,
    parse_vars_dict,
)
from gunicorn.uwsgi.request_vars import UWSGIRequest, environ_parts, request_parts

IDLE = "IDLE"
BODY = "BODY"
DONE = "DONE"
CLOSED = "CLOSED"
ERROR = "ERROR"

DEFAULT_ALLOW_IPS = ("127.0.0.1", "::1")
# Room for the CGI vars nginx's uwsgi_params add beside the headers (names, lengths
# and values: REQUEST_METHOD, DOCUMENT_ROOT, REMOTE_ADDR, SERVER_NAME...).
CGI_VARS_ROOM = 4096


@lru_cache(maxsize=1024)
def _host_allowed(host: str, allow_ips: tuple) -> bool:
    # Protocols are built per connection and nginx connects anew for every request:
    # parse the setting and the peer's address once per distinct pair.
    return peer_allowed((host, 0), allow_ips, parse_networks(list(allow_ips)))


def _peer_allowed(peer_addr, allow_ips: tuple) -> bool:
    if not isinstance(peer_addr, tuple):
        return True  # Unix-socket peers are always allowed.
    return _host_allowed(str(peer_addr[0]), allow_ips)


@lru_cache(maxsize=16)
def _max_datasize(limits: tuple) -> int:
    line, fields, field_size = limits
    cfg = _Limits(line, fields, field_size)
    # The vars block stands in for the request line and headers: it gets the head-size
    # bound core derives from the same limit_request_* settings for HTTP/1, plus
    # what nginx adds to a head: the target again in PATH_INFO and QUERY_STRING, and
    # its CGI vars. A request HTTP/1 takes under these settings is never refused.
    line_room = 2 * (line if line > 0 else MAX_DATASIZE)
    return min(MAX_DATASIZE, ParserOptions(cfg).max_head_size + line_room + CGI_VARS_ROOM)


class _Limits:
    __slots__ = ("limit_request_line", "limit_request_fields", "limit_request_field_size")

    def __init__(self, line, fields, field_size):
        self.limit_request_line = line
        self.limit_request_fields = fields
        self.limit_request_field_size = field_size


def max_datasize_for(cfg) -> int:
    """The largest vars block accepted under ``cfg``'s ``limit_request_*`` settings."""
    return _max_datasize((getattr(cfg, "limit_request_line", 4094),
                          getattr(cfg, "limit_request_fields", 100),
                          getattr(cfg, "limit_request_field_size", 8190)))


def configured_script_name(cfg) -> str:
    """``SCRIPT_NAME`` from ``-e``/``raw_env`` (cfg.env, then the worker's os.environ), as core reads it."""
    env = getattr(cfg, "env", None)
    if isinstance(env, dict) and env.get("SCRIPT_NAME"):
        return env["SCRIPT_NAME"]
    return os.environ.get("SCRIPT_NAME", "")


def _allow_ips(cfg) -> tuple:
    value = getattr(cfg, "uwsgi_allow_ips", DEFAULT_ALLOW_IPS)
    if isinstance(value, str):
        value = value.split(",")
    return tuple(item.strip() for item in value or ())


@derived_from_settings
def _cfg_facts(cfg) -> tuple:
    """``(allow_ips, max_datasize, script_name, keepalive)`` for ``cfg``, once per settings version.

    nginx connects anew for every request, so a protocol object is built per
    request: reading and parsing the settings each time would cost more than the
    packet itself. SCRIPT_NAME from raw_env is in os.environ once the worker
    booted, before any request: like core's environ settings, it is read once.
    """
    return (_allow_ips(cfg), max_datasize_for(cfg), configured_script_name(cfg),
            bool(getattr(cfg, "uwsgi_keepalive", False)))


class UWSGIProtocol:
    """A uwsgi connection from a front end such as nginx ``uwsgi_pass``."""

    #: Unread request body the worker reads off before closing (core's linger).
    #: nginx sends a body it has already buffered in full and reports a reset
    #: while it is still writing as a 502: whatever the app left unread is
    #: drained, within the linger's time bound, rather than only 256 KiB.
    linger_bytes = 1 << 30

    def __init__(self, cfg, peer_addr, server_addr, is_ssl=False):
        self.cfg = cfg
        self.peer_addr = peer_addr
        self.server_addr = server_addr
        self.is_ssl = bool(is_ssl)
        allow_ips, self.max_datasize, self._script_name, self._reuse = _cfg_facts(cfg)
        self._peer_allowed = _peer_allowed(peer_addr, allow_ips)
        self._buffer = bytearray()
        self._peer_closed = False
        self._state = IDLE
        self._error: Exception | None = None
        self._body_left = 0
        self._must_close = False
        self._req_number = 0
        self.request: Request | None = None
        self._response = None

    # -- request side -----------------------------------------------------------------

    def receive_data(self, data: bytes) -> None:
        """Feed bytes read from the socket; ``b""`` means the peer closed its side."""
        if data:
            if self._peer_closed:
                raise RuntimeError("received data after the peer closed")
            self._buffer += data
        else:
            self._peer_closed = True

    def next_event(self):
        """The next request-side event, ``NEED_DATA`` or ``PAUSED``; raises on bad input."""
        state = self._state
        try:
            if state == IDLE:
                return self._read_head()
            if state == BODY:
                return self._read_body()
            if state == DONE:
                return PAUSED
            if state == ERROR:
                raise self._error
            return ConnectionClosed()
        except Exception as exc:
            self._state = ERROR
            self._error = exc
            self._must_close = True
            raise

    def _read_head(self):
        if not self._buffer:
            if self._peer_closed:
                self._state = CLOSED
                return ConnectionClosed()
            return NEED_DATA
        if not self._peer_allowed:
            raise ForbiddenUWSGIRequest(self._peer_host())
        buffer = self._buffer
        # The header is checked as soon as its 4 bytes are in, so a bad modifier
        # or an oversized block is refused before its vars arrive.
        size = packet_size(buffer, self.max_datasize) if len(buffer) >= HEADER_SIZE \
            else HEADER_SIZE + 1
        if len(buffer) < size:
            if self._peer_closed:
                raise InvalidUWSGIHeader(self._truncation())
            return NEED_DATA
        block = bytes(buffer[HEADER_SIZE:size])
        del buffer[:size]
        env = parse_vars_dict(block)
        if env is not None:
            parts = environ_parts(env, self.is_ssl, self._script_name)
        else:
            parts = request_parts(parse_vars(block), self.is_ssl, self._script_name)
        self._req_number += 1
        # Without uwsgi_keepalive the connection closes after this response, as
        # uWSGI's does: nginx would only close it itself.
        self._must_close = self._must_close or not (self._reuse and parts.keep_alive)
        self.request = UWSGIRequest(parts, self._must_close, self.peer_addr, self._req_number)
        self._body_left = parts.content_length
        self._state = BODY
        return self.request

    def _read_body(self):
        if self._body_left == 0:
            self._state = DONE
            return EndOfMessage()
        if not self._buffer:
            if self._peer_closed:
                raise NoMoreData(b"", self.request)
            return NEED_DATA
        if len(self._buffer) <= self._body_left:
            chunk = bytes(self._buffer)
            self._buffer.clear()
        else:
            chunk = bytes(self._buffer[:self._body_left])
            del self._buffer[:self._body_left]
        self._body_left -= len(chunk)
        return Data(chunk)

    def _truncation(self) -> str:
        have = len(self._buffer)
        if have < HEADER_SIZE:
            return f"truncated header: {have} of {HEADER_SIZE} bytes"
        expected = packet_size(self._buffer, self.max_datasize)
        return f"truncated packet: {have} of {expected} bytes"

    def _peer_host(self) -> str:
        peer = self.peer_addr
        return str(peer[0]) if isinstance(peer, tuple) and peer else str(peer)

    # -- response side ----------------------------------------------------------------

    def send(self, event) -> bytes:
        """The bytes to write for a response event."""
        if isinstance(event, Response):
            return self._send_head(event)
        if isinstance(event, Data):
            return self._writing().writer.data(event.data)
        if isinstance(event, EndOfMessage):
            response = self._writing()
            response.done = True
            if not response.writer.complete:
                # The app sent fewer bytes than its Content-Length: the stream is unusable.
                self._must_close = True
            return response.writer.end(event.trailers)
        if isinstance(event, InformationalResponse):
            # nginx would take a 1xx from a uwsgi backend as the final response, and it
            # has read the request body already: 100 Continue and 103 are dropped.
            return b""
        if isinstance(event, ConnectionClosed):
            self._must_close = True
            return b""
        raise TypeError(f"cannot send {event!r}")

    def send_whole_response(self, event, body: bytes):
        """``send(event)``, ``send(Data(body))`` and ``send(EndOfMessage())`` in one call.

        The three byte strings come back together so that the worker writes them
        at once; states, checks and framing are those of the three sends.
        """
        if event.__class__ is not Response or self._response is not None:
            return self.send(event), self.send(Data(body)), self.send(EndOfMessage())
        head = self._send_head(event)
        response = self._response
        writer = response.writer
        data = writer.data(body) if body else b""
        tail = writer.end(None)
        response.done = True
        if not writer.complete:
            self._must_close = True
        return head, data, tail

    def _send_head(self, event) -> bytes:
        if self._response is not None:
            raise RuntimeError("response head already sent for this request")
        request = self.request
        method = request.method if request is not None else "GET"
        version = request.version if request is not None else (1, 1)
        head, writer, keep_alive = frame_response(
            event.status_code, event.reason, event.headers, method,
            # nginx parses an HTTP/1.x status line whatever the client spoke.
            max((1, 0), min(tuple(version), (1, 1))),
            self.keep_alive, allow_chunked=False,
            # The WSGI/ASGI layer already refused headers unfit for the wire.
            checked=getattr(event, "checked", False),
        )
        if not keep_alive:
            self._must_close = True
        self._response = _ResponseState(writer)
        return head

    def send_error(self, exc) -> bytes:
        """Bytes answering a ParseError (nginx relays them); the connection closes after."""
        self._must_close = True
        self._state = ERROR
        self._error = self._error or exc
        return render_parse_error(exc, getattr(self.request, "method", None))

    @property
    def response_framing(self):
        """"content-length", "close" or "none" once a Response was sent (never "chunked")."""
        return None if self._response is None else self._response.writer.framing

    def note_body_sent(self, size: int) -> None:
        """Count ``size`` body bytes written around send() (sendfile) against Content-Length."""
        writer = self._writing().writer
        if writer.framing == "content-length":
            writer.remaining -= min(size, writer.remaining)

    def _writing(self) -> _ResponseState:
        response = self._response
        if response is None or response.done:
            raise RuntimeError("no response head sent, or the response already ended")
        return response

    # -- cycle ---------------------------------------------------------------------------

    @property
    def keep_alive(self) -> bool:
        """Whether the connection may carry another request after this one."""
        if self._must_close or self._peer_closed or self._state in (ERROR, CLOSED):
            return False
        # The worker may have called request.force_close() (sync worker, max_requests).
        return self.request is None or not self.request.must_close

    def start_next_cycle(self) -> None:
        """Reset for the next request on a kept-alive connection."""
        if self._state != DONE or not self._response_done():
            raise RuntimeError("start_next_cycle() before both request and response ended")
        if not self.keep_alive:
            raise RuntimeError("start_next_cycle() on a connection that must close")
        self._state = IDLE
        self.request = None
        self._response = None

    def _response_done(self) -> bool:
        return self._response is not None and self._response.done


class _ResponseState:
    """The body writer of the response being sent, and whether it has ended."""

    __slots__ = ("writer", "done")

    def __init__(self, writer):
        self.writer = writer
        self.done = False
