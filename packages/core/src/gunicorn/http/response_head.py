"""Choose a response's framing and write its head: Server, Date, Connection, length or chunked."""

from gunicorn import SERVER
from gunicorn.http.abnf import CONTENT_LENGTH_RE
from gunicorn.http.dates import http_date_line
from gunicorn.http.errors import InvalidResponseHeader
from gunicorn.http.writers import (
    ChunkedWriter,
    CloseDelimitedWriter,
    ContentLengthWriter,
    NoBodyWriter,
    check_response_header,
    encode_head,
    status_line,
)

_NO_BODY_STATUSES = frozenset((204, 304))


def body_forbidden(method, status_code):
    """RFC 9110 sections 6.4.1, 9.3.2: HEAD, 1xx, 204 and 304 responses have no body."""
    return method == "HEAD" or status_code < 200 or status_code in _NO_BODY_STATUSES


# (every argument of frame_response) -> the head around its Date line, the
# writer and keep_alive: apps answer with the same status and headers again
# and again, so each distinct response shape is checked and laid out once.
# Bounded in count and size: header values such as lengths or cookies vary.
_SHAPES = {}
_SHAPES_MAX = 256
_SHAPE_HEAD_MAX = 4096  # bigger heads are laid out each time


def frame_response(status_code, reason, headers, method, version, keep_alive,
                   allow_chunked=True, server=SERVER, checked=False):
    """Return (head bytes, body writer, keep_alive) for one final response.

    ``headers`` come from the application; framing headers it gives
    (Transfer-Encoding, Connection) are replaced by ours, Content-Length is
    honoured.  ``allow_chunked=False`` is for protocols (uwsgi) whose front
    end frames the body itself.  ``checked=True``: the caller already refused
    headers that cannot go on the wire (see ``Response.checked``).
    """
    try:
        key = (status_code, reason, tuple(headers), method, version, keep_alive,
               allow_chunked, server, checked)
        shape = _SHAPES.get(key)
    except TypeError:  # an unhashable header pair (a list): laid out each time
        key = shape = None
    if shape is None:
        shape = _response_shape(status_code, reason, headers, method, version, keep_alive,
                                allow_chunked, server, checked)
        if key is not None and len(shape[0]) + len(shape[1] or b"") <= _SHAPE_HEAD_MAX:
            if len(_SHAPES) >= _SHAPES_MAX:
                _SHAPES.clear()
            _SHAPES[key] = shape
    before_date, after_date, writer, length, keep_alive = shape
    if after_date is not None:
        head = before_date + http_date_line() + after_date
    else:
        head = before_date  # the app gave its own Date
    if length is not None:
        writer = ContentLengthWriter(length)
    return head, writer, keep_alive


def _response_shape(status_code, reason, headers, method, version, keep_alive,
                    allow_chunked, server, checked):
    """(head before Date, head after Date or None, writer, Content-Length, keep_alive)."""
    out = []
    content_length = None
    has_server = has_date = upgrade = False
    for name, value in headers:
        if not checked:
            check_response_header(name, value)
        lname = name.lower()
        if lname == "content-length":
            value = value.strip(" \t")
            if CONTENT_LENGTH_RE.fullmatch(value) is None:
                raise InvalidResponseHeader("invalid Content-Length %r" % (value,))
            length = int(value)
            if content_length is not None:
                if length != content_length:
                    raise InvalidResponseHeader("conflicting Content-Length values")
                continue
            content_length = length
        elif lname == "transfer-encoding":
            continue
        elif lname == "connection":
            lowered = value.lower()
            if "close" in lowered:
                keep_alive = False
            if "upgrade" in lowered:
                upgrade = True
            continue
        elif lname == "server":
            has_server = True
        elif lname == "date":
            has_date = True
        out.append((name, value))

    length = None
    if status_code == 101:
        # Switching Protocols: what follows is the new protocol's bytes.
        writer = _CLOSE_DELIMITED
        upgrade = True
        keep_alive = False
    elif method == "CONNECT" and 200 <= status_code < 300:
        # RFC 9110 section 9.3.6: no Content-Length or Transfer-Encoding in a
        # 2xx to CONNECT; the connection is a tunnel right after the head
        # (RFC 9112 section 6.3), so the body goes out raw and ends with it.
        out = [(n, v) for n, v in out if n.lower() != "content-length"]
        writer = _CLOSE_DELIMITED
        keep_alive = False
    elif body_forbidden(method, status_code):
        if content_length is not None and (status_code < 200 or status_code == 204):
            # RFC 9110 section 8.6: no Content-Length in 1xx and 204.
            out = [(n, v) for n, v in out if n.lower() != "content-length"]
        writer = _NO_BODY
        upgrade = False
    elif content_length is not None:
        writer = ContentLengthWriter
        length = content_length
    elif upgrade:
        writer = _CLOSE_DELIMITED
        keep_alive = False
    elif allow_chunked and version >= (1, 1):
        writer = _CHUNKED
    else:
        writer = _CLOSE_DELIMITED
        keep_alive = False

    # Status line and Server, [Date], then Connection, framing and the app's fields.
    before = [status_line(version, status_code, reason).decode("latin-1")]
    if not has_server and server:
        before.append("Server: %s\r\n" % (server,))
    after = [_CONNECTION_LINES[2 if upgrade else (1 if keep_alive else 0)]]
    if writer.framing == "chunked":
        after.append("Transfer-Encoding: chunked\r\n")
    for name, value in out:
        after.append("%s: %s\r\n" % (name, value))
    after.append("\r\n")
    try:
        before = "".join(before).encode("latin-1")
        after = "".join(after).encode("latin-1")
    except UnicodeEncodeError:
        raise InvalidResponseHeader("response header is not latin-1") from None
    if has_date:
        return before + after, None, writer, length, keep_alive
    return before, after, writer, length, keep_alive


# The writers without state are shared.
_CHUNKED = ChunkedWriter()
_CLOSE_DELIMITED = CloseDelimitedWriter()
_NO_BODY = NoBodyWriter()
_CONNECTION_LINES = ("Connection: close\r\n", "Connection: keep-alive\r\n",
                     "Connection: upgrade\r\n")


def informational_head(status_code, reason, headers, version=(1, 1)):
    """Bytes for a 1xx response such as 100 Continue or 103 Early Hints."""
    for name, value in headers:
        check_response_header(name, value)
    return encode_head(status_line(version, status_code, reason), headers)
