"""``start_response``, ``write`` and the response writer the WSGI app talks to."""

import re

from gunicorn.http.errors import InvalidResponseHeader
from gunicorn.http.events import Data, EndOfMessage, InformationalResponse, Response
from gunicorn.wsgi.connection import is_tls_socket
from gunicorn.wsgi.file_wrapper import FileWrapper

# RFC 9110 section 5.6.2: field names are tokens.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")
# RFC 9110 section 5.5: field values never carry CTLs other than HTAB (no CR, LF, NUL).
_BAD_VALUE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_STATUS = re.compile(r"([0-9]{3})(?: ([^\x00-\x08\x0a-\x1f\x7f]*))?\Z")
# Any character check_header() would refuse in a value (a CTL, or beyond latin-1):
# one search instead of two checks for the common, valid value.
_VALUE_SUSPECT = re.compile(r"[^\t\x20-\x7e\x80-\xff]")

# Apps send the same few statuses and header names over and over: what was
# validated once is remembered (bounded, so odd values cannot grow it forever).
_CACHE_LIMIT = 512
_STATUS_CACHE = {}
_NAME_CACHE = {}

# RFC 9110 section 7.6.1: connection-level fields, which the server owns.
# (Proxy-Authenticate and Trailer, hop-by-hop in RFC 2616, are end-to-end now:
# a proxying app must be able to send a 407.)
HOP_BY_HOP = frozenset((
    "connection", "keep-alive", "proxy-connection", "te", "transfer-encoding", "upgrade",
))


def parse_status(status):
    """``(status_code, reason)`` of a WSGI status string; InvalidResponseHeader if bad."""
    if type(status) is str:
        parsed = _STATUS_CACHE.get(status)
        if parsed is not None:
            return parsed
        parsed = _parse_status(status)
        if len(_STATUS_CACHE) < _CACHE_LIMIT:
            _STATUS_CACHE[status] = parsed
        return parsed
    return _parse_status(status)


def _parse_status(status):
    if not isinstance(status, str):
        raise TypeError("WSGI status must be a str, got %r" % (type(status).__name__,))
    match = _STATUS.match(status.rstrip(" "))
    if match is None:
        raise InvalidResponseHeader("Invalid WSGI status %r" % (status,))
    try:
        status.encode("latin-1")
    except UnicodeEncodeError:
        raise InvalidResponseHeader("WSGI status %r is not latin-1" % (status,))
    code = int(match.group(1))
    if code < 200 and code != 101:
        # 1xx finals are not responses; early hints have their own callable.
        raise InvalidResponseHeader("Invalid final status %r" % (status,))
    return code, match.group(2) or ""


def check_header(name, value):
    """Refuse a response header that cannot go on the wire safely (never sent)."""
    if not isinstance(name, str) or not isinstance(value, str):
        raise TypeError("WSGI header %r must be a pair of str" % ((name, value),))
    if not _TOKEN.match(name):
        raise InvalidResponseHeader("Invalid response header name %r" % (name,))
    if _BAD_VALUE.search(value):
        raise InvalidResponseHeader("Invalid response header value for %r: %r" % (name, value))
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        raise InvalidResponseHeader("Response header %r is not latin-1: %r" % (name, value))


class WSGIResponse:
    """The response of one request: state the access log reads, and the writer.

    Attributes for ``log.access``: ``status`` ("200 OK"), ``status_code``,
    ``headers`` (as given by the app), ``sent`` (body bytes written) and
    ``response_length`` (the app's Content-Length, else None).
    """

    def __init__(self, conn, req, sendfile=True, on_head=None):
        self.conn = conn
        self.req = req
        self.allow_sendfile = sendfile
        self.on_head = on_head
        self.status = None
        self.status_code = None
        self.reason = ""
        self.headers = []
        self.headers_sent = False
        self.sent = 0
        self.response_length = None
        self.must_close = False
        self.finished = False
        self.is_head = getattr(req, "method", "") == "HEAD"
        self._body_allowed = True
        self._switching = False
        # The end of the message went out with the head (send_whole).
        self._ended = False

    # -- PEP 3333 callables ------------------------------------------------
    def start_response(self, status, headers, exc_info=None):
        if exc_info:
            try:
                if self.headers_sent:
                    # PEP 3333: too late to change the response; let the error surface.
                    raise exc_info[1].with_traceback(exc_info[2])
            finally:
                exc_info = None
        elif self.status is not None:
            raise AssertionError("start_response() already called")
        code, reason = parse_status(status)
        # 101 Switching Protocols is the one response that carries Upgrade.
        self._switching = code == 101
        clean = self._process_headers(headers)
        self.status = status
        self.status_code = code
        self.reason = reason
        self.headers = clean
        self._body_allowed = not (self.is_head or code in (204, 304) or code < 200)
        return self.write

    def _process_headers(self, headers):
        # PEP 3333 asks for a list of tuples; tuples of lists are accepted as
        # upstream does, anything else is the app's bug.
        if not isinstance(headers, (list, tuple)):
            raise TypeError("WSGI response headers must be a list, got %r"
                            % (type(headers).__name__,))
        clean = []
        length = None
        must_close = False
        names = _NAME_CACHE
        for item in headers:
            if type(item) is not tuple:
                if not isinstance(item, (tuple, list)) or len(item) != 2:
                    raise TypeError("WSGI header %r must be a (name, value) tuple" % (item,))
                item = tuple(item)
            elif len(item) != 2:
                raise TypeError("WSGI header %r must be a (name, value) tuple" % (item,))
            name, value = item
            lname = names.get(name) if type(name) is str else None
            if lname is None:
                check_header(name, value)
                lname = name.lower()
                if type(name) is str and len(names) < _CACHE_LIMIT:
                    names[name] = lname
            elif type(value) is not str or _VALUE_SUSPECT.search(value) is not None:
                check_header(name, value)
            if lname in HOP_BY_HOP:
                if lname == "connection":
                    # The framing layer writes Connection itself; honour "close".
                    tokens = {t.strip().lower() for t in value.split(",")}
                    must_close = must_close or "close" in tokens
                    if "upgrade" in tokens and self._switching:
                        clean.append(item)
                    continue
                if not (lname == "upgrade" and self._switching):
                    # The server owns the connection-level fields (RFC 9110
                    # section 7.6.1) and frames the body itself: an app's, often
                    # copied from a proxied response, is left out, as upstream does.
                    continue
            if lname == "content-length":
                value = value.strip()
                if not value.isdigit() or not value.isascii():
                    raise InvalidResponseHeader("Invalid Content-Length %r" % (value,))
                if length is not None and int(value) != length:
                    raise InvalidResponseHeader("Conflicting Content-Length headers")
                if length is not None:
                    continue
                length = int(value)
                item = (name, value)
            clean.append(item)
        self.response_length = length
        if must_close:
            self.must_close = True
        return clean

    def write(self, data):
        """The legacy ``write`` callable: the chunk is on the wire when it returns."""
        self._write(data, True)

    def _write(self, data, flush):
        if self.status is None:
            raise AssertionError("write() before start_response()")
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError("WSGI body chunks must be bytes, got %r" % (type(data).__name__,))
        if not data:
            return
        self.send_head()
        if not self._body_allowed:
            return
        if self.response_length is not None:
            room = self.response_length - self.sent
            if room <= 0:
                return
            if len(data) > room:
                # Never write past the declared length: it would desync the stream.
                data = data[:room]
        self.conn.send(Data(bytes(data)), flush=flush)
        self.sent += len(data)

    @property
    def committed(self):
        """Whether bytes of this response reached the socket (no error page possible)."""
        return self.headers_sent and self.conn.wrote

    def early_hints(self, headers):
        """``wsgi.early_hints``: send a 103 with ``headers`` (RFC 8297).

        Ignored for HTTP/1.0 clients and once the final head is out.
        """
        if self.headers_sent or tuple(getattr(self.req, "version", (1, 1))) < (1, 1):
            return
        pairs = []
        for name, value in headers:
            check_header(name, value)
            if name.lower() in HOP_BY_HOP:
                raise InvalidResponseHeader("Hop-by-hop header %r in early hints" % (name,))
            pairs.append((name, value))
        self.conn.send(InformationalResponse(103, pairs))

    # -- writer ------------------------------------------------------------
    def send_head(self):
        if self.headers_sent:
            return
        self.conn.send(self._head_event(), flush=False)

    def _head_event(self):
        if self.status is None:
            raise AssertionError("the application never called start_response()")
        if self.on_head is not None:
            self.on_head(self)
        if self.must_close and hasattr(self.req, "force_close"):
            self.req.force_close()
        self.headers_sent = True
        self.conn.wrote = False
        # Every header passed check_header() in start_response().
        return Response(self.status_code, self.reason, list(self.headers), checked=True)

    def _send_whole(self, chunk):
        """Head, body and end in one write; False when that path does not apply.

        Taken for the commonest WSGI response: a one-item list whose bytes are
        exactly the Content-Length the app declared.
        """
        if self.headers_sent or self.status is None or not self._body_allowed \
                or self.response_length != len(chunk) or not chunk \
                or getattr(self.conn, "whole_sender", None) is None:
            return False
        self.conn.send_whole(self._head_event(), chunk)
        self.sent = len(chunk)
        self._ended = True
        return True

    def write_iterable(self, result):
        """Write every chunk of the app's iterable (or kernel-send a FileWrapper)."""
        if isinstance(result, FileWrapper) and self._try_sendfile(result):
            return
        # A list or tuple is already complete: no reason to stream it piecewise,
        # so it goes out with the head (and the end marker) in as few writes as
        # possible. Anything else may be a generator pacing its output: flush each.
        if type(result) is list and len(result) == 1 and type(result[0]) is bytes \
                and self._send_whole(result[0]):
            return
        flush = not isinstance(result, (list, tuple))
        for chunk in result:
            self._write(chunk, flush)
            if self.response_length is not None and self.sent >= self.response_length \
                    and self._body_allowed:
                # Declared length reached: stop pulling (and generating) more.
                break

    def finish(self):
        """End the response; a body shorter than its Content-Length closes the connection."""
        self.send_head()
        self.finished = True
        if self._ended:
            return
        if self.conn.broken or (self._body_allowed and self.response_length is not None
                                and self.sent < self.response_length):
            # RFC 9112 section 6.3: the client sees an incomplete message; closing
            # is the only way to signal it, and keeps keep-alive from desyncing.
            self.must_close = True
            self.conn.broken = True
            self.conn.flush()
            return
        self.conn.send(EndOfMessage())

    # -- sendfile ----------------------------------------------------------
    def _sendfile_socket(self):
        sock = self.conn.sock
        if not self.allow_sendfile or not self._body_allowed:
            return None
        if not hasattr(sock, "sendfile") or is_tls_socket(sock):
            # The kernel cannot encrypt: TLS bodies go through write().
            return None
        return sock

    def _try_sendfile(self, wrapper):
        """Frame a regular file by its size and kernel-send it; False to iterate instead."""
        span = wrapper.sendfile_span()
        if span is None or self.status is None:
            return False
        fileno, offset, size = span
        if self.response_length is None and not self.headers_sent:
            # A regular file knows its size: frame by Content-Length, not chunks
            # (also when the body then goes through write(), e.g. over TLS).
            self.headers.append(("Content-Length", str(size)))
            self.response_length = size
        if not self._body_allowed:
            # HEAD, 204, 304: the head is all there is; never read the file.
            self.send_head()
            return True
        sock = self._sendfile_socket()
        if sock is None or self.response_length is None:
            return False
        count = min(size, self.response_length - self.sent)
        self.send_head()
        proto = self.conn.proto
        if getattr(proto, "response_framing", "content-length") != "content-length":
            # The protocol framed it otherwise: let write() decide.
            return False
        note = getattr(proto, "note_body_sent", None)
        self.conn.flush()
        if count > 0:
            sent = sock.sendfile(wrapper.filelike, offset, count)
            self.sent += sent
            if note is not None:
                note(sent)
            else:
                # The protocol did not see these bytes: it cannot carry on safely.
                self.conn.broken = True
        return True
