"""One-pass parse of the common, plainly well-formed request head; anything else is left to request_head.

``parse_common_head`` returns a ``Request`` only for heads it can prove are
accepted by the full parser with exactly this result, and None for everything
else (which the full parser then accepts or refuses with the right error).
It never raises a ParseError itself: refusing stays the full parser's job.
"""

from gunicorn.http.abnf import HOST_RE
from gunicorn.http.events import Request
from gunicorn.http.field_lines import NAME_CACHE

# Methods whose request line verdict needs no setting (request_line._COMMON_METHODS
# minus CONNECT, whose target forms and must-close rule the full parser handles).
_METHODS = frozenset(("GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "TRACE"))
_VERSIONS = {"HTTP/1.1": (1, 1), "HTTP/1.0": (1, 0)}
# Longer than this is not taken as a plain Content-Length (request_head's limit).
_MAX_CONTENT_LENGTH_DIGITS = 19


# Request lines this path accepted -> their parts.  No setting changes the
# verdict on such a line (the length limit is checked before the lookup), and
# clients repeat their lines: health checks, API endpoints, static files.
# Bounded in count and in line length (at most about half a megabyte).
_LINES = {}
_LINES_MAX = 512
_CACHED_LINE_MAX = 256
# Host values this path found valid: a server sees the same few names over and over.
_HOSTS = set()
_HOSTS_MAX = 64


def _parse_request_line(line):
    """(method, uri, path, query, fragment, version) for a plain request line, else None."""
    # RFC 9112 section 3: method SP request-target SP HTTP-version.
    parts = line.split(" ")
    if len(parts) != 3:
        return None
    method, uri, version = parts
    version = _VERSIONS.get(version)
    # Origin-form only (section 3.2.1), printable ASCII without SP (section 3.2);
    # with a known method and version, the line holds no control character.
    if (version is None or method not in _METHODS or uri[:1] != "/"
            or not uri.isascii() or not uri.isprintable()):
        return None
    if "?" in uri or "#" in uri:
        path, _, fragment = uri.partition("#")
        path, _, query = path.partition("?")
    else:
        path = uri
        query = fragment = ""
    return method, uri, path, query, fragment, version


def parse_common_head(head, ctx, req_number):
    """``Request`` for a plain head (origin-form target, HTTP/1.x, known field names), else None."""
    text = head.decode("latin-1")
    lines = text.split("\r\n")
    line = lines[0]
    opts = ctx.opts
    limit = opts.limit_request_line
    if limit and len(line) > limit:
        return None

    parsed = _LINES.get(line)
    if parsed is None:
        parsed = _parse_request_line(line)
        if parsed is None:
            return None
        if len(line) <= _CACHED_LINE_MAX:
            if len(_LINES) >= _LINES_MAX:
                _LINES.clear()
            _LINES[line] = parsed
    method, uri, path, query, fragment, version = parsed

    if len(lines) > opts.limit_request_fields + 1:
        return None
    size = opts.limit_request_field_size
    if size and len(text) - len(line) > size:
        return None  # some line may be too long: the full parser measures each

    headers = []
    names = NAME_CACHE
    framing = ctx.framing_fields
    content_length = None
    must_close = version < (1, 1)
    host = content_type = connection = False
    del lines[0]
    for field in lines:
        name, colon, value = field.partition(":")
        # A cached name is a token without "_" (field_lines.field_name), so this
        # also rules out obs-fold lines, which start with SP or HTAB.
        upper = names.get(name)
        if upper is None or not colon:
            return None
        value = value.strip(" \t")
        # RFC 9110 section 5.5: no control (nor DEL) in a value; isprintable()
        # also says no to HTAB, NBSP and other legal obs-text: such heads take
        # the full parser.
        if not value.isprintable():
            return None
        if upper in framing:
            if upper == "HOST":
                if host:
                    return None
                if value not in _HOSTS:
                    if HOST_RE.fullmatch(value) is None:
                        return None
                    if len(_HOSTS) >= _HOSTS_MAX:
                        _HOSTS.clear()
                    _HOSTS.add(value)
                host = True
            elif upper == "CONTENT-LENGTH":
                # RFC 9110 section 8.6: 1*DIGIT, once.
                if (content_length is not None or len(value) > _MAX_CONTENT_LENGTH_DIGITS
                        or not value.isdigit() or not value.isascii()):
                    return None
                content_length = int(value)
            elif upper == "CONNECTION":
                if connection:
                    return None
                connection = True
                token = value.lower()
                if token == "close":
                    must_close = True
                elif token == "keep-alive":
                    must_close = False
                else:
                    return None
            elif upper == "CONTENT-TYPE":
                if content_type:
                    return None
                content_type = True
            else:
                # Transfer-Encoding, Expect, scheme headers: the full parser decides.
                return None
            if upper in opts.secure_scheme_headers:
                return None
        headers.append((upper, value))

    if not host and version >= (1, 1):
        return None  # HTTP/1.1 without Host: the full parser refuses it

    return Request(method, uri, path, query, fragment, version, headers,
                   "https" if ctx.is_ssl else "http", content_length, False, False,
                   must_close, ctx.peer_addr, req_number)
