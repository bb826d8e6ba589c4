"""Turn a stream's HEADERS (pseudo-headers and fields) into core's ``Request`` head.

h2 has already checked the block against RFC 9113 section 8.3 (pseudo-headers
present once and first, lowercase names, no connection-specific fields), so
this only maps it: ``:authority`` becomes ``HOST``, ``:path`` the URI, and the
fields become ``(NAME_UPPERCASE, value)`` str pairs as the HTTP/1 parser gives.
"""

from gunicorn.http.events import Request

VERSION = (2, 0)
DEFAULT_WEIGHT = 16

# Environ keys for the stream's priority (RFC 7540 section 5.3, as upstream names them).
PRIORITY_WEIGHT = "gunicorn.http2.priority_weight"
PRIORITY_DEPENDS_ON = "gunicorn.http2.priority_depends_on"
# Upstream 27.0.1 tells apps the protocol this way too (alongside SERVER_PROTOCOL).
HTTP_VERSION = "HTTP_VERSION"


class MalformedRequest(ValueError):
    """A request head h2 let through that cannot be served (RFC 9113 section 8.1.1)."""


def _text(value):
    return value.decode("latin-1") if isinstance(value, (bytes, bytearray)) else value


def build_request(headers, peer_addr, is_ssl, req_number=1, weight=DEFAULT_WEIGHT,
                  depends_on=0):
    """A ``Request`` for one stream's header block (a list of (name, value) pairs)."""
    method = path = authority = None
    fields = []
    cookies = []
    content_length = None
    expect_continue = False
    for raw_name, raw_value in headers:
        name = _text(raw_name)
        value = _text(raw_value)
        if name[:1] == ":":
            if name == ":method":
                method = value
            elif name == ":path":
                path = value
            elif name == ":authority":
                authority = value
            # :scheme is the client's view; wsgi.url_scheme follows the transport
            # and trusted proxy headers, as for HTTP/1.1.
            continue
        if name == "cookie":
            # RFC 9113 section 8.2.3: split cookie fields are joined with "; ".
            cookies.append(value)
            continue
        if name == "host":
            # RFC 9113 section 8.3.1: :authority, when present, names the target.
            if authority is None:
                authority = value
            continue
        if name == "content-length":
            if not value.isdigit():
                raise MalformedRequest("invalid content-length %r" % (value,))
            content_length = int(value)
        elif name == "expect" and value.lower() == "100-continue":
            expect_continue = True
        fields.append((name.upper(), value))
    if not method:
        raise MalformedRequest("no :method")
    if method == "CONNECT":
        # RFC 9113 section 8.5: CONNECT carries only :authority; nothing here tunnels.
        raise MalformedRequest("CONNECT is not supported")
    if not path:
        raise MalformedRequest("no :path")
    # Joined cookies, then HOST, after the other fields: the order upstream 27.0.1 gives.
    if cookies:
        fields.append(("COOKIE", "; ".join(cookies)))
    if authority is not None:
        fields.append(("HOST", authority))
    target, _, fragment = path.partition("#")
    raw_path, _, query = target.partition("?")
    extra = {PRIORITY_WEIGHT: weight, PRIORITY_DEPENDS_ON: depends_on,
             HTTP_VERSION: "2"}
    return Request(method, path, raw_path, query, fragment, VERSION, fields,
                   scheme="https" if is_ssl else None, content_length=content_length,
                   chunked=False, expect_continue=expect_continue, peer_addr=peer_addr,
                   req_number=req_number, extra_environ=extra)
