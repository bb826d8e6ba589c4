"""One ASGI ``http`` request/response cycle: the application's receive() and send()."""

from __future__ import annotations

import asyncio
import os

from gunicorn.asgi.access import REASON_PHRASES as _REASONS
from gunicorn.asgi.access import ResponseSummary, reason_phrase
from gunicorn.http.errors import LocalProtocolError
from gunicorn.http.events import Data, EndOfMessage, InformationalResponse, Response
from gunicorn.http.writers import check_response_header

# Request body bytes held for the app before the connection stops reading.
BODY_HIGH_WATER = 64 * 1024
# Bytes read from a file per write for http.response.pathsend.
PATHSEND_CHUNK = 256 * 1024
# A body this big goes out beside its head (writelines) rather than copied into one buffer.
_JOIN_LIMIT = 16 * 1024
# Statuses and methods whose responses carry no body (RFC 9110 section 6.4.1).
_NO_BODY_STATUS = frozenset((204, 304))
# Messages an app may send before http.response.start: a 1xx head each.
_INFORMATIONAL_KINDS = frozenset(("http.response.early_hint", "http.response.informational"))


class ClientDisconnected(OSError):
    """send() after the client went away (ASGI http spec 2.4: an OSError subclass)."""


def _raised_for_disconnect(exc, depth=8) -> bool:
    """Whether ``exc`` was raised while handling send()'s ClientDisconnected."""
    while exc is not None and depth:
        if isinstance(exc, ClientDisconnected):
            return True
        exc = exc.__cause__ or exc.__context__
        depth -= 1
    return False


def field_bytes(value):
    # ASGI says bytes; upstream's worker also takes str (latin-1), so apps written
    # against it keep working.
    if isinstance(value, str):
        return value.encode("latin-1")
    return bytes(value)


def _checked_pair(name, value):
    name = field_bytes(name)
    value = field_bytes(value)
    # RFC 9110 section 5.5: CR, LF and NUL never belong in a field; refuse injection.
    if b"\r" in name or b"\n" in name or b"\r" in value or b"\n" in value \
            or b"\x00" in value or b":" in name or not name:
        raise RuntimeError(f"invalid response header {name!r}: {value!r}")
    pair = (name.decode("latin-1"), value.decode("latin-1"))
    try:
        # The writer's own checks (token name, field-value characters), done
        # here once per distinct header so the cached pair can skip them.
        check_response_header(*pair)
    except LocalProtocolError as exc:
        raise RuntimeError(str(exc)) from None
    return pair


# (name bytes, value bytes) -> ((name str, value str), frames_body): apps send
# the same headers again and again, so each distinct one is decoded and checked
# once.  Bounded in count and size: values such as lengths or cookies vary.
_PAIRS: dict = {}
_PAIRS_MAX = 2048
_PAIR_SIZE_MAX = 512  # longer pairs are checked each time
# tuple of ASGI header pairs -> (pairs list, framed): most apps answer with a
# few header sets over and over.  The list is shared: nobody changes it
# (a Content-Length added by the cycle makes a new list).  Only sets of
# cacheable pairs, at most _SET_PAIRS_MAX of them, are kept.
_HEADER_SETS: dict = {}
_HEADER_SETS_MAX = 256
_SET_PAIRS_MAX = 16
_FRAMING_NAMES = frozenset(("content-length", "transfer-encoding"))


def checked_headers(raw_headers):
    """(list of (str, str) pairs, whether one is Content-Length or Transfer-Encoding)."""
    items = tuple(raw_headers)  # any iterable, a generator too: read once
    try:
        known = _HEADER_SETS.get(items)
    except TypeError:  # a list pair, or a bytearray inside: not hashable
        cacheable = False
    else:
        if known is not None:
            return known
        cacheable = len(items) <= _SET_PAIRS_MAX
    cache = _PAIRS
    pairs = []
    append = pairs.append
    framed = False
    for item in items:
        try:
            entry = cache.get(item)
        except TypeError:  # a list, or a bytearray inside: not hashable
            entry = None
            item = tuple(item)
            item_key = None
        else:
            item_key = item
        if entry is None:
            name, value = item
            pair = _checked_pair(name, value)
            entry = (pair, pair[0].lower() in _FRAMING_NAMES)
            if item_key is not None and type(name) is bytes and type(value) is bytes \
                    and len(name) + len(value) <= _PAIR_SIZE_MAX:
                if len(cache) >= _PAIRS_MAX:
                    cache.clear()
                cache[item_key] = entry
            else:
                cacheable = False
        append(entry[0])
        if entry[1]:
            framed = True
    if cacheable and all(type(item) is tuple for item in items):
        if len(_HEADER_SETS) >= _HEADER_SETS_MAX:
            _HEADER_SETS.clear()
        _HEADER_SETS[items] = (pairs, framed)
    return pairs, framed


def header_pairs(raw_headers):
    """ASGI header pairs as the (str, str) pairs core's writer takes; refuses bad ones."""
    return list(checked_headers(raw_headers)[0])


# Whether core's Response takes ``checked`` (headers already validated here).
_RESPONSE_TAKES_CHECKED = "checked" in getattr(Response, "__slots__", ())
_END = EndOfMessage()


def response_event(status, headers):
    if _RESPONSE_TAKES_CHECKED:
        return Response(status, reason_phrase(status), headers, checked=True)
    return Response(status, reason_phrase(status), headers)


class HTTPCycle:
    """The state shared by the app's coroutine and the connection for one request.

    The connection pushes request body with ``feed_body``/``end_body`` and
    reports ``disconnect``; the app pulls with ``receive`` and answers with
    ``send``, whose bytes go through the connection's sans-I/O protocol.
    ``status``, ``headers`` and ``sent`` are what the access log reports
    (``summary`` builds its ``resp`` object only when someone asks).
    """

    __slots__ = (
        "conn", "request", "scope", "started_at", "task", "body_complete", "disconnected",
        "peer_eof", "response_started", "response_complete", "status", "headers", "sent",
        "_body", "_buffered", "_body_delivered", "_waiter", "_continue_sent", "_head",
        "_trailers_expected", "_final_body_sent", "_pending_trailers", "_framed",
    )

    def __init__(self, conn, request, scope, started_at=0.0):
        self.conn = conn
        self.request = request
        self.scope = scope
        self.started_at = started_at  # time.monotonic() when someone will read it
        self.task = None  # the asyncio task running the app for this cycle
        self.body_complete = False
        self.disconnected = False
        self.peer_eof = False
        self.response_started = False
        self.response_complete = False
        self.status = None
        self.headers = ()
        self.sent = 0
        self._body = None  # list of request body chunks, once some arrive
        self._buffered = 0
        self._body_delivered = False
        self._waiter = None
        self._continue_sent = False
        self._head = None  # (status, headers) held until the first body message
        self._trailers_expected = False
        self._final_body_sent = False
        self._pending_trailers = None
        self._framed = False  # the app gave Content-Length or Transfer-Encoding

    @property
    def summary(self) -> ResponseSummary:
        """The ``resp`` object of the access log and ``post_request``."""
        summary = ResponseSummary()
        if self.status is not None:
            summary.start(self.status, self.headers)
        summary.sent = self.sent
        return summary

    # -- request side, driven by the connection ------------------------------------

    def feed_body(self, data) -> bool:
        """Queue body bytes; True when the connection should stop reading."""
        if data:
            if self._body is None:
                self._body = []
            self._body.append(bytes(data))
            self._buffered += len(data)
            self._wake()
        return self._buffered > BODY_HIGH_WATER

    def end_body(self) -> None:
        self.body_complete = True
        if self._waiter is not None:
            self._wake()

    def disconnect(self) -> None:
        self.disconnected = True
        self._wake()

    def peer_closed(self) -> None:
        """EOF after a complete request: receive() reports http.disconnect, send() still works."""
        self.peer_eof = True
        self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def _wait(self) -> None:
        self._waiter = asyncio.get_running_loop().create_future()
        try:
            await self._waiter
        finally:
            self._waiter = None

    # -- the application's side --------------------------------------------------

    async def receive(self) -> dict:
        while True:
            if self.disconnected or self.response_complete \
                    or (self.peer_eof and self._body_delivered):
                return {"type": "http.disconnect"}
            if not self._body_delivered and (self._body or self.body_complete):
                if self._body:
                    chunks = self._body
                    chunk = chunks[0] if len(chunks) == 1 else b"".join(chunks)
                    chunks.clear()
                else:
                    chunk = b""
                was_full = self._buffered > BODY_HIGH_WATER
                self._buffered = 0
                if was_full:
                    self.conn.resume_reading()
                more = not self.body_complete
                self._body_delivered = not more
                return {"type": "http.request", "body": chunk, "more_body": more}
            if not self._body_delivered:
                # RFC 9110 section 10.1.1: say 100 Continue only once the app wants the body.
                if self.request.expect_continue and not self._continue_sent \
                        and not self.response_started:
                    self._continue_sent = True
                    self.conn.write(self.conn.proto.send(InformationalResponse(100, [])))
                self.conn.resume_reading()
            await self._wait()

    async def send(self, message: dict) -> None:
        kind = message["type"]
        if self.disconnected:
            raise ClientDisconnected("client disconnected")
        if self.response_complete:
            # ASGI http spec (more_body): once the response is complete, further
            # messages are ignored; upstream ignores them too.
            return
        if not self.response_started:
            if kind != "http.response.start":
                if kind in _INFORMATIONAL_KINDS:
                    self._informational(message)
                    return
                raise RuntimeError(f"expected 'http.response.start', got {kind!r}")
            self._start(message)
            return
        if kind == "http.response.body":
            if self._body_message(message):
                await self.conn.drain()
        elif kind == "http.response.pathsend":
            await self._pathsend_message(message)
        elif kind == "http.response.trailers":
            await self._trailers_message(message)
        elif kind == "http.response.start":
            raise RuntimeError("response already started")
        else:
            raise RuntimeError(f"unexpected ASGI message {kind!r} in an http response")

    def _informational(self, message: dict) -> None:
        """A 1xx before the final response: ``http.response.early_hint`` (ASGI
        extension: 103 with one Link field per entry of ``links``) or
        ``http.response.informational`` (``status``, ``headers``), which upstream's
        worker takes.  Core's protocol drops it for an HTTP/1.0 client (RFC 9110
        section 15.2)."""
        if message["type"] == "http.response.early_hint":
            status = 103
            headers = header_pairs((b"link", link) for link in message.get("links", ()))
        else:
            status = int(message["status"])
            # 101 belongs to a protocol switch the server does, never to an app's hint.
            if not 100 <= status < 200 or status == 101:
                raise ValueError(f"invalid informational status {status!r}")
            headers = header_pairs(message.get("headers", ()))
        self.conn.write(self.conn.proto.send(
            InformationalResponse(status, headers, reason_phrase(status))))

    def _start(self, message: dict) -> None:
        status = int(message["status"])
        if not 200 <= status < 1000 and status != 101:
            # Refused here, while a 500 can still replace the response.
            raise ValueError(f"invalid final status {status!r} in http.response.start")
        headers, framed = checked_headers(message.get("headers", ()))
        self.response_started = True
        self._trailers_expected = bool(message.get("trailers", False))
        self._framed = framed
        self.status = status
        self.headers = headers
        self._head = (status, headers)

    def _head_event(self, last_body: bytes | None) -> Response:
        status, headers = self._head
        self._head = None
        if last_body is not None and not self._framed and status >= 200 \
                and status not in _NO_BODY_STATUS and not self._trailers_expected \
                and self.request.method != "HEAD":
            # The whole body is known: frame it with Content-Length, not chunked
            # (what _may_add_length says, spelled out on this hot path).
            headers = self.headers = headers + [("Content-Length", str(len(last_body)))]
        if _RESPONSE_TAKES_CHECKED:
            return Response(status, _REASONS.get(status, ""), headers, True)
        return Response(status, _REASONS.get(status, ""), headers)

    def _head_bytes(self, last_body: bytes | None) -> bytes:
        return self.conn.proto.send(self._head_event(last_body))

    def _may_add_length(self, status) -> bool:
        if self._framed or self._trailers_expected or self.request.method == "HEAD":
            return False
        return status >= 200 and status not in _NO_BODY_STATUS

    def _body_message(self, message: dict) -> bool:
        """Write one body message; True when the app must wait for the client (drain)."""
        if self._final_body_sent:
            raise RuntimeError("response body already complete")
        body = message.get("body", b"")
        if type(body) is not bytes:
            if not isinstance(body, (bytearray, memoryview)):
                raise TypeError(f"http.response.body 'body' must be bytes, got "
                                f"{type(body).__name__}")
            body = bytes(body)
        more = message.get("more_body", False)
        conn = self.conn
        head = self._head
        if not more and head is not None and not self._trailers_expected \
                and conn.send_whole is not None:
            # The whole response in one message: head, body and end in one write.
            try:
                parts = conn.send_whole(self._head_event(body), body)
            except Exception:
                # Refused before any byte was written (a bad Content-Length):
                # keep the head pending so that the app's failure becomes a 500.
                self._head = head
                raise
            self._final_body_sent = True
            if body and self.request.method != "HEAD":
                self.sent += len(body)
            if len(body) >= _JOIN_LIMIT:
                conn.write_parts(parts)
            else:
                conn.write(b"".join(parts))
            self._finish()
            return False
        proto = conn.proto
        out = []
        if head is not None:
            try:
                out.append(self._head_bytes(body if not more else None))
            except Exception:
                self._head = head  # nothing written yet: a 500 can still go out
                raise
        if body:
            out.append(proto.send(Data(body)))
            if self.request.method != "HEAD":
                self.sent += len(body)
        finished = False
        if not more:
            self._final_body_sent = True
            if not self._trailers_expected:
                out.append(proto.send(_END))
                finished = True
        if len(out) == 1:
            self.conn.write(out[0])
        elif len(body) >= _JOIN_LIMIT:
            self.conn.write_parts(out)
        else:
            self.conn.write(b"".join(out))
        if finished:
            self._finish()
            return False
        return True

    async def _pathsend_message(self, message: dict) -> None:
        """The ``http.response.pathsend`` extension: the body is a file, sent in chunks."""
        if self._final_body_sent:
            raise RuntimeError("response body already complete")
        path = message["path"]
        with open(path, "rb") as fh:
            if self._head is not None:
                status, headers = self._head
                if self._may_add_length(status):
                    headers = self.headers = headers + [
                        ("Content-Length", str(os.fstat(fh.fileno()).st_size))]
                    self._head = (status, headers)
                self.conn.write(self._head_bytes(None))
            proto = self.conn.proto
            while True:
                chunk = fh.read(PATHSEND_CHUNK)
                if not chunk:
                    break
                self.sent += len(chunk)
                self.conn.write(proto.send(Data(chunk)))
                await self.conn.drain()
        self._final_body_sent = True
        if not self._trailers_expected:
            self.conn.write(proto.send(EndOfMessage()))
            self._finish()

    async def _trailers_message(self, message: dict) -> None:
        if not self._trailers_expected:
            raise RuntimeError("trailers were not announced in http.response.start")
        if not self._final_body_sent:
            raise RuntimeError("trailers sent before the end of the body")
        if self._pending_trailers is None:
            self._pending_trailers = []
        self._pending_trailers += header_pairs(message.get("headers", ()))
        if message.get("more_trailers", False):
            return
        out = b""
        if self._head is not None:
            out = self._head_bytes(None)
        out += self.conn.proto.send(EndOfMessage(self._pending_trailers))
        self.conn.write(out)
        self._finish()

    def check_declared_length(self) -> None:
        """Warn when the app's body did not match its own Content-Length.

        The writer already cut any excess and the connection closes (RFC 9112
        section 6.3: the client cannot find the end otherwise); only called for a
        connection that is not kept, so the hot keep-alive path pays nothing.
        """
        if not self._framed or self.request.method == "HEAD" \
                or self.status in _NO_BODY_STATUS:
            return
        for name, value in self.headers:
            if name.lower() == "content-length":
                try:
                    declared = int(value)
                except ValueError:
                    return
                if declared != self.sent:
                    self.conn.log.warning(
                        "ASGI app sent %d body bytes for %s %s but declared "
                        "Content-Length %d; the response is cut short and the "
                        "connection closed", self.sent, self.request.method,
                        self.request.uri, declared)
                return

    def _finish(self) -> None:
        self.response_complete = True
        if self._waiter is not None:
            self._wake()
        self.conn.response_complete(self)

    # -- failures ----------------------------------------------------------------

    def send_error_response(self, status: int = 500) -> None:
        """Answer for an app that failed before starting its response."""
        body = reason_phrase(status).encode("ascii")
        self.response_started = True
        self._head = None
        headers = [("Content-Type", "text/plain; charset=utf-8"),
                   ("Content-Length", str(len(body))), ("Connection", "close")]
        self.status = status
        self.headers = headers
        proto = self.conn.proto
        out = proto.send(Response(status, reason_phrase(status), headers))
        out += proto.send(Data(body)) + proto.send(EndOfMessage())
        self.sent = len(body)
        # The request stream may be out of sync (unread body): do not reuse it.
        self.conn.must_close = True
        self.conn.write(out)
        self._final_body_sent = True
        self._finish()

    async def run(self, app) -> None:
        log = self.conn.log
        try:
            await app(self.scope, self.receive, self.send)
        except ClientDisconnected:
            log.debug("client went away during %s %s", self.request.method, self.request.uri)
        except asyncio.CancelledError:
            if self.disconnected or self.peer_eof:
                # The disconnect grace period ran out: routine, as upstream logs it.
                log.debug("request cancelled (client disconnected): %s %s",
                          self.request.method, self.request.uri)
            else:
                log.warning("request cancelled: %s %s", self.request.method, self.request.uri)
            self._abandon()
            raise
        except Exception as exc:
            if _raised_for_disconnect(exc):
                # Frameworks turn send()'s OSError into their own exception
                # (Starlette: ClientDisconnect); the client leaving is routine.
                log.debug("client went away during %s %s (%s)", self.request.method,
                          self.request.uri, type(exc).__name__)
            else:
                log.exception("Error handling request %s", self.request.uri)
            self._abandon()
        else:
            if not self.response_started and not self.disconnected:
                log.error("ASGI application returned without starting a response")
                self._abandon()
            elif not self.response_complete and not self.disconnected:
                log.error("ASGI application returned without completing its response")
                self._abandon()
        finally:
            conn = self.conn
            conn.cycle_finished(self)
            conn.server.tasks.discard(self.task)

    def _abandon(self) -> None:
        if self.disconnected or self.response_complete:
            return
        if not self.response_started or self._head is not None:
            self.send_error_response(500)
        else:
            # Part of the response is on the wire: only closing tells the client.
            self.disconnected = True
            self.conn.abort_cut_response()
