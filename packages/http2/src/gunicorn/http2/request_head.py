"""Check a stream's HEADERS (RFC 9113 section 8) and turn them into core's ``Request`` head.

h2's own field validation is off (it can only fail the whole connection), so
the rules are checked here, in the one pass that maps the block: a request
breaking them is malformed, a stream error of type PROTOCOL_ERROR (section
8.1.1) that leaves the connection serving others.  ``:authority`` becomes
``HOST``, ``:path`` the URI, and the fields become ``(NAME_UPPERCASE, value)``
str pairs as the HTTP/1 parser gives.
"""

import re

from gunicorn.http.abnf import HOST_RE, TARGET_INVALID_RE
from gunicorn.http.events import Request

VERSION = (2, 0)
DEFAULT_WEIGHT = 16

# Environ keys for the stream's priority (RFC 7540 section 5.3, as upstream names them).
PRIORITY_WEIGHT = "gunicorn.http2.priority_weight"
PRIORITY_DEPENDS_ON = "gunicorn.http2.priority_depends_on"
# Upstream 27.0.1 tells apps the protocol this way too (alongside SERVER_PROTOCOL).
HTTP_VERSION = "HTTP_VERSION"


# Section 8.2.1: a field name holds no controls, space, uppercase, non-ASCII or
# colon (pseudo-headers aside); a value no NUL, CR or LF, nor whitespace at either end.
_BAD_NAME = re.compile(r"[\x00-\x20A-Z\x7f-\xff:]")
_BAD_VALUE = re.compile(r"[\x00\r\n]|\A[ \t]|[ \t]\Z")
# Section 8.2.2: connection-specific fields (TE aside) make a message malformed.
CONNECTION_SPECIFIC = frozenset(("connection", "proxy-connection", "keep-alive",
                                 "transfer-encoding", "upgrade"))


# RFC 9110 section 4.2.3: a port equal to the scheme's default, or empty, names the same origin.
DEFAULT_PORTS = {"http": "80", "https": "443"}


def _origin_host(authority, scheme):
    """``host[:port]`` normalised for comparison: lowercase, without the default port."""
    host = authority.lower()
    name, sep, port = host.rpartition(":")
    if sep and "]" not in port and port in ("", DEFAULT_PORTS.get(scheme)):
        return name
    return host


class MalformedRequest(ValueError):
    """A request head (or trailer block) that breaks RFC 9113 section 8 (section 8.1.1)."""


def _text(value):
    return value.decode("latin-1") if isinstance(value, (bytes, bytearray)) else value


def _check_field(name, value):
    if not name or _BAD_NAME.search(name) is not None:
        raise MalformedRequest("invalid field name %r" % (name,))
    if value and _BAD_VALUE.search(value) is not None:
        raise MalformedRequest("invalid value of field %r" % (name,))
    if name in CONNECTION_SPECIFIC:
        raise MalformedRequest("connection-specific field %r" % (name,))
    if name == "te" and value.lower() != "trailers":
        raise MalformedRequest("TE other than trailers")


def trailer_fields(headers):
    """A trailer block as ``(NAME_UPPERCASE, value)`` str pairs; no pseudo-headers (8.1)."""
    fields = []
    for raw_name, raw_value in headers:
        name = _text(raw_name)
        value = _text(raw_value)
        if name[:1] == ":":
            raise MalformedRequest("pseudo-header %r in trailers" % (name,))
        _check_field(name, value)
        fields.append((name.upper(), value))
    return fields


def build_request(headers, peer_addr, is_ssl, req_number=1, weight=DEFAULT_WEIGHT,
                  depends_on=0):
    """A ``Request`` for one stream's header block (a list of (name, value) pairs)."""
    method = path = authority = scheme = host = None
    fields = []
    cookies = []
    content_length = None
    expect_continue = False
    regular = False
    for raw_name, raw_value in headers:
        name = _text(raw_name)
        value = _text(raw_value)
        if name[:1] == ":":
            # Section 8.3: each request pseudo-header once, all before the fields.
            if regular:
                raise MalformedRequest("pseudo-header %r after a field" % (name,))
            if value and _BAD_VALUE.search(value) is not None:
                raise MalformedRequest("invalid value of %r" % (name,))
            if name == ":method" and method is None:
                method = value
            elif name == ":path" and path is None:
                path = value
            elif name == ":authority" and authority is None:
                authority = value
            elif name == ":scheme" and scheme is None:
                # The client's view; wsgi.url_scheme follows the transport and
                # trusted proxy headers, as for HTTP/1.1.
                scheme = value
            else:
                raise MalformedRequest("unknown or repeated pseudo-header %r" % (name,))
            continue
        regular = True
        _check_field(name, value)
        if name == "cookie":
            # RFC 9113 section 8.2.3: split cookie fields are joined with "; ".
            cookies.append(value)
            continue
        if name == "host":
            if host is not None:
                raise MalformedRequest("more than one host field")
            host = value
            continue
        if name == "content-length":
            # 1*DIGIT in ASCII: str.isdigit() alone also takes "\xb2" and the like.
            if not (value.isascii() and value.isdigit()):
                raise MalformedRequest("invalid content-length %r" % (value,))
            if content_length is not None and int(value) != content_length:
                raise MalformedRequest("conflicting content-length fields")
            content_length = int(value)
        elif name == "expect" and value.lower() == "100-continue":
            expect_continue = True
        fields.append((name.upper(), value))
    if not method:
        raise MalformedRequest("no :method")
    if method == "CONNECT":
        # RFC 9113 section 8.5: CONNECT carries only :authority; nothing here tunnels.
        raise MalformedRequest("CONNECT is not supported")
    if not scheme:
        raise MalformedRequest("no :scheme")
    if not path:
        raise MalformedRequest("no :path")
    if TARGET_INVALID_RE.search(path) is not None:
        # Section 8.3.1 / RFC 9112 section 3.2: a target is printable ASCII.
        raise MalformedRequest("invalid :path")
    if path[0] != "/" and not (path == "*" and method == "OPTIONS"):
        # Section 8.3.1: "exactly one valid value" of :path, the absolute-path
        # (and query) of the target, or "*" for a server-wide OPTIONS; HTTP/1.1's
        # absolute-form would otherwise reach the app as PATH_INFO unparsed.
        raise MalformedRequest(":path is not an absolute path")
    # Section 8.3.1: :authority names the target; a host field must agree with it.
    if authority is None:
        if host is None:
            raise MalformedRequest("neither :authority nor host")
        authority = host
    elif host is not None and host != authority and (
            _origin_host(host, scheme) != _origin_host(authority, scheme)):
        # Only a host naming another entity is malformed (SHOULD in section 8.3.1):
        # case and a default port do not make it another (RFC 9110 section 4.2.3).
        raise MalformedRequest("host differs from :authority")
    if HOST_RE.fullmatch(authority) is None:
        # Section 8.3.1: host[:port], no userinfo (RFC 9110 section 7.2).
        raise MalformedRequest("invalid :authority")
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
