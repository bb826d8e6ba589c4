"""The header blocks we send: a response's HEADERS (with ``:status``) and trailers.

RFC 9113 section 8.2.2: connection-specific fields never appear in HTTP/2, so
an application's Connection, Keep-Alive, Transfer-Encoding... are dropped,
as the HTTP/1 writer drops them.  Names go out lowercase (section 8.2).
"""

from gunicorn import SERVER
from gunicorn.http.dates import http_date

CONNECTION_SPECIFIC = frozenset((
    "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te",
))
# RFC 9110 section 6.5.1: a field that frames the message has no place in trailers
# (nghttp2, and so curl, fail the whole response on a trailer content-length).
NOT_IN_TRAILERS = CONNECTION_SPECIFIC | {"content-length"}
_SERVER = (b"server", SERVER.encode("latin-1"))


def _field(name, value):
    return (name.lower().encode("latin-1"), value.strip().encode("latin-1"))


def response_block(status_code, headers, add_date=True):
    """``[(b":status", b"200"), ...]`` for a final or 1xx response with ``headers``."""
    block = [(b":status", str(status_code).encode("ascii"))]
    has_server = has_date = False
    # RFC 9110 section 8.6: no Content-Length on a 1xx or 204 response.
    no_length = status_code < 200 or status_code == 204
    for name, value in headers:
        lname = name.lower()
        if lname in CONNECTION_SPECIFIC or (no_length and lname == "content-length"):
            continue
        if lname == "server":
            has_server = True
        elif lname == "date":
            has_date = True
        block.append(_field(name, value))
    if status_code >= 200:
        if not has_server:
            block.append(_SERVER)
        if add_date and not has_date:
            block.append((b"date", http_date().encode("ascii")))
    return block


def trailer_block(trailers):
    """A trailer section: no pseudo-headers, connection-specific fields or content-length."""
    return [_field(name, value) for name, value in trailers
            if name.lower() not in NOT_IN_TRAILERS and not name.startswith(":")]
