"""The per-connection HTTP/1.1 state machine: what the peer may send next and what we may send.

Their side (the client):
    IDLE --Request--> SEND_BODY --EndOfMessage--> DONE
    IDLE --clean close before any byte of a request--> CLOSED
    SEND_BODY/IDLE --close mid-message--> ERROR (NoMoreData raised)
    any --ParseError--> ERROR
Our side (the server):
    IDLE --their Request--> SEND_RESPONSE
    SEND_RESPONSE --InformationalResponse--> SEND_RESPONSE
    SEND_RESPONSE --Response--> SEND_BODY --EndOfMessage--> DONE
    any --ConnectionClosed--> CLOSED;  send_error() --> ERROR
Both DONE and keep_alive: start_next_cycle() puts both back to IDLE, keeping
any pipelined bytes already received.  keep_alive turns False for good when
the request asks to close, the response is close-delimited or short of its
Content-Length, a 100-continue body was never asked for, or on any error.
Before the first request, a PROXY protocol header is read when enabled.
"""

from gunicorn.http.abnf import NOT_HEAD_CONTROL_BYTES
from gunicorn.http.allow_lists import peer_allowed
from gunicorn.http.body_readers import ChunkedReader, ContentLengthReader
from gunicorn.http.error_response import render_parse_error
from gunicorn.http.errors import (
    ForbiddenProxyRequest,
    InvalidHeader,
    InvalidRequestLine,
    LimitRequestHeaders,
    LocalProtocolError,
    NoMoreData,
    ParseError,
)
from gunicorn.http.events import (
    NEED_DATA,
    PAUSED,
    ConnectionClosed,
    Data,
    EndOfMessage,
    InformationalResponse,
    Response,
)
from gunicorn.http.proxy_protocol import NOT_PROXY, read_proxy_header
from gunicorn.http.receive_buffer import ReceiveBuffer
from gunicorn.http.request_head import HeadContext, parse_head
from gunicorn.http.request_line import over_limit_error
from gunicorn.http.response_head import frame_response, informational_head

IDLE = "IDLE"
SEND_RESPONSE = "SEND_RESPONSE"
SEND_BODY = "SEND_BODY"
DONE = "DONE"
CLOSED = "CLOSED"
ERROR = "ERROR"

_HTTP11 = (1, 1)
_EMPTY_BODY = ContentLengthReader(0)
# How much of an incomplete request line is checked for control bytes per call.
_EARLY_SCAN = 8192


def _bad_request_line_start(data, line_end):
    """Whether the request line received so far can already be refused.

    RFC 9112 section 3: a request line holds no control character.  Checked
    while the head is incomplete so that a TLS handshake or other binary sent
    to a plain port is answered at once, not after the worker timeout.  Only
    the first ``_EARLY_SCAN`` bytes are looked at: the full parser checks
    everything.  (An empty request line is left to the full parser, which
    names the error by what follows it.)
    """
    end = line_end if line_end >= 0 else len(data)
    controls = data[:min(end, _EARLY_SCAN)].translate(None, NOT_HEAD_CONTROL_BYTES)
    if not controls:
        return False
    # A CR that ends the bytes received so far may be the start of the CRLF.
    return not (controls == b"\r" and line_end < 0 and end <= _EARLY_SCAN
                and data.endswith(b"\r"))


class _PeerTrust:
    """Whether the peer is in forwarded_allow_ips: asked lazily, answered once."""

    __slots__ = ("opts", "peer_addr", "answer")

    def __init__(self, opts, peer_addr):
        self.opts = opts
        self.peer_addr = peer_addr
        self.answer = None

    def __call__(self):
        answer = self.answer
        if answer is None:
            opts = self.opts
            answer = self.answer = peer_allowed(
                self.peer_addr, opts.forwarded_allow_ips, opts.forwarded_networks)
        return answer


class HTTP1Connection:
    """One HTTP/1.x connection, server side, without any I/O."""

    def __init__(self, opts, peer_addr=None, server_addr=None, is_ssl=False,
                 allow_chunked=True):
        self.opts = opts
        self.peer_addr = peer_addr
        self.server_addr = server_addr
        self.is_ssl = is_ssl
        self._allow_chunked = allow_chunked
        # Not a bound method of ours: the context would then hold the
        # connection in a reference cycle, freed only by the GC.
        self._trust = _PeerTrust(opts, peer_addr)
        self._ctx = HeadContext(opts, peer_addr, is_ssl, self._trust)
        self._buf = ReceiveBuffer()
        self._closed = False
        self.their_state = IDLE
        self.our_state = IDLE
        self.request = None
        self._reader = None
        self._writer = None
        self._keep_alive = True
        self._sent_continue = False
        self._skipped_crlf = False
        self.req_number = 0
        self.proxy = None
        self._proxy_pending = opts.proxy_protocol != "off"
        self.response_status = None

    # -- receiving -------------------------------------------------------

    def receive_data(self, data):
        """Feed bytes from the peer; ``b""`` means the peer closed its side."""
        if data:
            self._buf._data += data
        else:
            self._closed = True

    @property
    def trailing_data(self):
        """(bytes received but not consumed, whether the peer closed)."""
        return bytes(self._buf), self._closed

    def next_event(self):
        """The next event from the peer, NEED_DATA, or PAUSED; raises ParseError on bad input."""
        state = self.their_state
        try:
            if state == SEND_BODY:
                event = self._reader(self._buf, self._closed)
                if event.__class__ is EndOfMessage:
                    self.their_state = DONE
                    self.request.trailers = event.trailers
                return event
            if state == IDLE:
                if self.our_state != IDLE:
                    return PAUSED
                if not self._buf._data and not self._closed and not self._proxy_pending:
                    return NEED_DATA  # between requests on a kept-alive connection
                return self._next_request()
            if state == DONE:
                return PAUSED
            if state == CLOSED:
                return ConnectionClosed()
        except ParseError as exc:
            self.their_state = ERROR
            self._keep_alive = False
            if exc.req is None:
                exc.req = self.request
            raise
        raise ParseError("cannot receive: the connection is in error")

    def _next_request(self):
        buf = self._buf
        if self._proxy_pending:
            if self._read_proxy() is NEED_DATA:
                return NEED_DATA
        data = buf._data
        if not data:
            if not self._closed:
                # Nothing received yet (the usual first call): nothing to check.
                return NEED_DATA
        elif data[0] == 13:  # b"\r"
            if len(data) < 2:
                if not self._closed:
                    return NEED_DATA
            elif data[1] == 10:
                # RFC 9112 section 2.2: one empty line before a request is
                # ignored; a second one is an empty request line, refused now
                # rather than after waiting for a CRLF CRLF that may never come.
                if self._skipped_crlf or data[2:4] == b"\r\n":
                    raise InvalidRequestLine("")
                buf.discard(2)
                self._skipped_crlf = True
        end = data.find(b"\r\n\r\n", buf._searched)
        if end < 0:
            # Later searches skip what was searched (less 3 bytes of a split CRLF CRLF).
            buf._searched = max(0, len(data) - 3)
            return self._incomplete_head(buf)
        opts = self.opts
        limit = opts.limit_request_line
        if limit and end > limit:
            line_end = data.find(b"\r\n", 0, end + 2)
            if line_end > limit:
                raise over_limit_error(data, line_end, opts)
        if end > opts.max_head_size:
            raise LimitRequestHeaders("max buffer headers")
        self.req_number += 1
        # The head leaves the buffer with its CRLF CRLF; pipelined bytes stay.
        head = data[:end]
        del data[:end + 4]
        buf._searched = buf._lf_checked = 0
        try:
            req = parse_head(head, self._ctx, self.req_number)
        except ParseError as exc:
            if exc.req is None and head[:5] == b"HEAD ":
                # Refused before a Request existed: the answer to a HEAD still
                # carries no content (RFC 9110 section 9.3.2).
                exc.head_method = True
            raise
        if self.proxy is not None:
            req.proxy = self.proxy
            req.extra_environ.update(self.proxy.environ())
        self.request = req
        if req.chunked:
            self._reader = ChunkedReader(opts)
        elif req.content_length:
            self._reader = ContentLengthReader(req.content_length)
        else:
            self._reader = _EMPTY_BODY
        self.their_state = SEND_BODY
        self.our_state = SEND_RESPONSE
        return req

    def _incomplete_head(self, buf):
        """No CRLF CRLF yet: refuse what can already be refused, else wait for more."""
        if self._closed and not buf:
            self.their_state = CLOSED
            return ConnectionClosed()
        opts = self.opts
        limit = opts.limit_request_line
        # What is already here may be refused whether or not more comes.
        line_end = buf.find(b"\r\n")
        if line_end < 0:
            if limit and len(buf) > limit + 1:
                raise over_limit_error(buf._data, len(buf), opts)
        elif limit and line_end > limit:
            raise over_limit_error(buf._data, line_end, opts)
        if _bad_request_line_start(buf._data, line_end):
            raise InvalidRequestLine("control character in request line")
        if buf.has_bare_lf():
            if line_end < 0 or buf.find(b"\n", 0, line_end) >= 0:
                raise InvalidRequestLine("bare LF as line terminator")
            raise InvalidHeader("bare LF as line terminator")
        if len(buf) > opts.max_head_size:
            raise LimitRequestHeaders("max buffer headers")
        if self._closed:
            raise NoMoreData(bytes(buf))
        return NEED_DATA

    def _read_proxy(self):
        result = read_proxy_header(self._buf, self.opts.proxy_protocol, self._closed)
        if result is NEED_DATA:
            if self._closed:
                raise NoMoreData(bytes(self._buf))
            return NEED_DATA
        self._proxy_pending = False
        if result is not NOT_PROXY:
            opts = self.opts
            if not peer_allowed(self.peer_addr, opts.proxy_allow_ips, opts.proxy_networks):
                raise ForbiddenProxyRequest(self.peer_addr[0])
            self.proxy = result
        return result

    def _peer_trusted(self):
        """Whether the peer may set forwarding headers (forwarded_allow_ips); cached."""
        return self._trust()

    # -- sending ---------------------------------------------------------

    def send(self, event):
        """Bytes to write for a response event (Response, InformationalResponse, Data, EndOfMessage)."""
        cls = event.__class__
        state = self.our_state
        if cls is Data:
            if state != SEND_BODY:
                raise LocalProtocolError("cannot send Data in state %s" % state)
            return self._writer.data(event.data)
        if cls is EndOfMessage:
            if state != SEND_BODY:
                raise LocalProtocolError("cannot send EndOfMessage in state %s" % state)
            writer = self._writer
            out = writer.end(event.trailers)
            if not writer.complete:
                # Fewer (or more) bytes than the Content-Length promised: the
                # client cannot find the end of this response.
                self._keep_alive = False
            self.our_state = DONE
            return out
        if cls is Response:
            if state != SEND_RESPONSE:
                raise LocalProtocolError("cannot send Response in state %s" % state)
            return self._send_response(event)
        if cls is InformationalResponse:
            if state != SEND_RESPONSE:
                raise LocalProtocolError("cannot send a 1xx response in state %s" % state)
            req = self.request
            if req.version < _HTTP11:
                # RFC 9110 section 15.2: no 1xx to an HTTP/1.0 client.
                return b""
            if event.status_code == 100:
                if self._sent_continue or self.their_state != SEND_BODY:
                    return b""
                self._sent_continue = True
            return informational_head(event.status_code, event.reason, event.headers)
        if cls is ConnectionClosed:
            self.our_state = CLOSED
            self._keep_alive = False
            return b""
        raise LocalProtocolError("cannot send %r" % (event,))

    def send_whole_response(self, event, body):
        """``send(event)``, ``send(Data(body))`` and ``send(EndOfMessage())`` in one call.

        For a final response whose body is all known: returns the three byte
        strings (head, framed body, end) so that the caller can write them
        together.  Same states, checks and framing as the three sends.
        """
        if event.__class__ is not Response or self.our_state != SEND_RESPONSE:
            return self.send(event), self.send(Data(body)), self.send(EndOfMessage())
        head = self._send_response(event)
        writer = self._writer
        data = writer.data(body) if body else b""
        tail = writer.end(None)
        if not writer.complete:
            self._keep_alive = False
        self.our_state = DONE
        return head, data, tail

    def _send_response(self, event):
        req = self.request
        keep_alive = self._keep_alive and not req.must_close
        if (req.expect_continue and not self._sent_continue and self.their_state != DONE
                and self._reader is not _EMPTY_BODY):
            # The client may still be waiting for 100 Continue, or may send
            # its body anyway: we cannot tell where the next request starts.
            keep_alive = False
        version = req.version if req.version in ((1, 0), (1, 1)) else _HTTP11
        head, self._writer, keep_alive = frame_response(
            event.status_code, event.reason, event.headers, req.method, version,
            keep_alive, self._allow_chunked, checked=getattr(event, "checked", False))
        self._keep_alive = keep_alive
        self.response_status = event.status_code
        self.our_state = SEND_BODY
        return head

    def send_error(self, exc):
        """Bytes answering a ParseError; the connection must close after writing them."""
        self._keep_alive = False
        self.our_state = ERROR
        req = exc.req if exc.req is not None else self.request
        method = "HEAD" if getattr(exc, "head_method", False) else getattr(req, "method", None)
        return render_parse_error(exc, method)

    @property
    def response_framing(self):
        """"content-length", "chunked", "close" or "none" once a Response was sent."""
        return None if self._writer is None else self._writer.framing

    def note_body_sent(self, size):
        """Count ``size`` body bytes written around send() (e.g. with sendfile)."""
        writer = self._writer
        if writer is not None and writer.framing == "content-length":
            writer.remaining -= min(size, writer.remaining)

    # -- cycle -----------------------------------------------------------

    @property
    def keep_alive(self):
        """Whether this connection may carry another request after the current one."""
        if not self._keep_alive or (self._closed and not self._buf):
            # A peer that half-closed after pipelining requests still gets
            # its answers; with nothing left to read, the connection is over.
            return False
        req = self.request
        return req is None or not req.must_close

    def start_next_cycle(self):
        """Reset for the next request on a kept-alive connection; leftover bytes are kept."""
        if self.their_state == SEND_BODY and self._reader is _EMPTY_BODY:
            # A request without a body is complete even if nobody asked for
            # its EndOfMessage.
            self.their_state = DONE
        if self.their_state != DONE or self.our_state != DONE:
            raise LocalProtocolError(
                "not done with the current request (%s, %s)" % (self.their_state, self.our_state))
        if not self.keep_alive:
            raise LocalProtocolError("connection is not keep-alive")
        self.their_state = IDLE
        self.our_state = IDLE
        self.request = None
        self._reader = None
        self._writer = None
        self._sent_continue = False
        self._skipped_crlf = False
        self.response_status = None


_WHOLE_SENDERS = {}


def whole_response_sender(proto):
    """``proto.send_whole_response`` if it may stand in for ``proto.send``, else None.

    A protocol subclass that overrides ``send()`` (to add a header, say) must see
    every response event: the one-call path would go around it, so it is only
    used when the class that defines it is also the latest to define ``send``.
    """
    cls = type(proto)
    usable = _WHOLE_SENDERS.get(cls)
    if usable is None:
        usable = False
        for klass in cls.__mro__:
            if "send_whole_response" in klass.__dict__:
                usable = True
                break
            if "send" in klass.__dict__:
                break
        if len(_WHOLE_SENDERS) < 64:
            _WHOLE_SENDERS[cls] = usable
    return proto.send_whole_response if usable else None
