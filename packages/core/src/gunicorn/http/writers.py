"""Encode response heads and frame response bodies (Content-Length, chunked, close-delimited)."""

from http import HTTPStatus

from gunicorn.http.abnf import FIELD_VALUE_INVALID_RE, TOKEN_RE
from gunicorn.http.errors import InvalidResponseHeader, InvalidResponseHeaderName

_STATUS_LINES = {}
# Standard reason phrases (http.client's table, without importing http.client
# and the email package it pulls into every worker).
_REASONS = {status.value: status.phrase for status in HTTPStatus}


def status_line(version, status_code, reason=""):
    """b"HTTP/1.1 200 OK\\r\\n" for the request's version (HTTP/1.x only)."""
    key = (version, status_code, reason)
    line = _STATUS_LINES.get(key)
    if line is None:
        text = reason or _REASONS.get(status_code, "")
        if "\r" in text or "\n" in text:
            raise InvalidResponseHeader("reason phrase contains CR or LF")
        line = ("HTTP/%d.%d %d %s\r\n" % (version[0], version[1], status_code, text)).encode(
            "latin-1")
        if len(_STATUS_LINES) < 512:
            _STATUS_LINES[key] = line
    return line


def check_response_header(name, value):
    """Refuse names that are not tokens and values that would inject lines (RFC 9110 5.5)."""
    if not isinstance(name, str) or TOKEN_RE.fullmatch(name) is None:
        raise InvalidResponseHeaderName("invalid response header name %r" % (name,))
    if not isinstance(value, str) or FIELD_VALUE_INVALID_RE.search(value) is not None:
        raise InvalidResponseHeader("invalid value for response header %r" % (name,))


def encode_head(first_line, headers):
    """The status line followed by ``Name: value`` lines and the blank line, latin-1."""
    parts = [first_line.decode("latin-1")]
    for name, value in headers:
        parts.append("%s: %s\r\n" % (name, value))
    parts.append("\r\n")
    try:
        return "".join(parts).encode("latin-1")
    except UnicodeEncodeError:
        raise InvalidResponseHeader("response header is not latin-1") from None


class ContentLengthWriter:
    """Passes through exactly ``length`` bytes; extra bytes are cut, missing ones poison reuse."""

    __slots__ = ("remaining", "overflow")
    framing = "content-length"

    def __init__(self, length):
        self.remaining = length
        self.overflow = False

    def data(self, data):
        size = len(data)
        if size <= self.remaining:
            self.remaining -= size
            return data
        # The app wrote more than it declared: never put it on the wire,
        # it would be read as the start of the next response.
        self.overflow = True
        data = data[:self.remaining]
        self.remaining = 0
        return bytes(data)

    def end(self, trailers=None):
        return b""

    @property
    def complete(self):
        return self.remaining == 0 and not self.overflow


class ChunkedWriter:
    """RFC 9112 section 7.1: each write is one chunk; end writes the last chunk."""

    __slots__ = ()
    framing = "chunked"
    complete = True

    def data(self, data):
        if not data:
            return b""
        return b"%x\r\n%s\r\n" % (len(data), data)

    def end(self, trailers=None):
        if not trailers:
            return b"0\r\n\r\n"
        for name, value in trailers:
            check_response_header(name, value)
        return encode_head(b"0\r\n", trailers)


class CloseDelimitedWriter:
    """HTTP/1.0 without a length: the body ends when we close the connection."""

    __slots__ = ()
    framing = "close"
    complete = True

    def data(self, data):
        return data

    def end(self, trailers=None):
        return b""


class NoBodyWriter:
    """HEAD, 1xx, 204 and 304 (RFC 9110 section 6.4.1): any body bytes are dropped."""

    __slots__ = ()
    framing = "none"
    complete = True

    def data(self, data):
        return b""

    def end(self, trailers=None):
        return b""
