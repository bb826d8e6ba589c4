"""Turn the bytes of one request head into a Request event, applying every head rule."""

from gunicorn.http.abnf import CONTENT_LENGTH_RE, HOST_RE
from gunicorn.http.common_head import parse_common_head
from gunicorn.http.errors import (
    ExpectationFailed,
    InvalidContentLength,
    InvalidHeader,
    InvalidSchemeHeaders,
    MissingHost,
    UnsupportedTransferCoding,
)
from gunicorn.http.events import Request
from gunicorn.http.field_lines import (
    NAME_CACHE,
    check_controls,
    check_field_limits,
    field_name,
    unfold,
)
from gunicorn.http.request_line import (
    absolute_form_host,
    over_limit_error,
    parse_request_line,
)

# Fields that steer framing or connection handling, looked at after the loop.
FRAMING_FIELDS = frozenset((
    "CONTENT-LENGTH", "TRANSFER-ENCODING", "CONNECTION", "EXPECT", "HOST", "CONTENT-TYPE",
))
# RFC 9110 section 5.3: singletons; a second copy makes the message ambiguous.
_SINGLETONS = ("HOST", "CONTENT-TYPE")
# Codings we can pass through undecoded when chunked comes last (RFC 9112 section 6.1).
# "identity" (RFC 2616's no-op coding) is taken as upstream takes it: it
# changes nothing, and chunked must still come last.
_KNOWN_CODINGS = frozenset((
    "chunked", "gzip", "x-gzip", "deflate", "compress", "x-compress", "identity",
))
# Longer than this cannot be a sane body size (and int() has a digit limit).
_MAX_CONTENT_LENGTH_DIGITS = 19


class HeadContext:
    """Per-connection facts the head parser needs besides the bytes."""

    __slots__ = ("opts", "peer_addr", "is_ssl", "trusted", "framing_fields")

    def __init__(self, opts, peer_addr, is_ssl, trusted):
        self.opts = opts
        self.peer_addr = peer_addr
        self.is_ssl = is_ssl
        # Callable: is the peer in forwarded_allow_ips?  Evaluated lazily.
        self.trusted = trusted
        # ParserOptions carries the set ready-made (one per worker, not per connection).
        fields = getattr(opts, "framing_fields", None)
        if fields is None:
            fields = FRAMING_FIELDS.union(opts.secure_scheme_headers)
        self.framing_fields = fields


def parse_head(head, ctx, req_number=1):
    """Parse ``head`` (request line and fields, without the final CRLF CRLF)."""
    req = parse_common_head(head, ctx, req_number)
    if req is None:
        req = parse_any_head(head, ctx, req_number)
    return req


def parse_any_head(head, ctx, req_number=1):
    """``parse_head`` without the one-pass path: every rule, every error."""
    opts = ctx.opts
    check_controls(head)
    text = head.decode("latin-1")
    lines = text.split("\r\n")
    line = lines[0]
    if opts.limit_request_line and len(line) > opts.limit_request_line:
        raise over_limit_error(line[:32].encode("latin-1"), len(line), opts)
    method, uri, path, query, fragment, version = parse_request_line(line, opts)
    # absolute-form (RFC 9112 section 3.2.2): its host stands for the Host field.
    target_host = None
    if uri[0] != "/" and uri != "*" and method != "CONNECT":
        target_host = absolute_form_host(uri, line)

    if "\r\n " in text or "\r\n\t" in text:
        lines = unfold(lines, opts, 1)
    check_field_limits(lines, 1, opts, len(text) - len(line))

    headers = []
    append = headers.append
    cache = NAME_CACHE
    framing = ctx.framing_fields
    special = None
    for index in range(1, len(lines)):
        field = lines[index]
        name, colon, value = field.partition(":")
        upper = cache.get(name) if colon else None
        if upper is None:
            upper = field_name(name, colon, field, opts, ctx.trusted)
            if upper is None:
                continue
        value = value.strip(" \t")
        if upper in framing:
            if special is None:
                special = []
            special.append((upper, value))
        append((upper, value))

    req = Request(method, uri, path, query, fragment, version, headers,
                  "https" if ctx.is_ssl else "http", None, False, False,
                  version < (1, 1), ctx.peer_addr, req_number)
    if special is not None:
        _apply_framing_fields(req, special, ctx)
    elif version >= (1, 1):
        raise MissingHost(req)
    elif method == "CONNECT":
        req.must_close = True
    if target_host is not None:
        _use_target_host(headers, target_host)
    return req


def _use_target_host(headers, host):
    """Put the absolute-form target's host in place of the received Host field.

    RFC 9112 section 3.2.2: the origin server MUST ignore the received Host
    (already checked: one, valid) and use the target's host information, so
    the app and any URL it rebuilds see what the client addressed.
    """
    for index, (name, _) in enumerate(headers):
        if name == "HOST":
            headers[index] = ("HOST", host)
            return
    headers.append(("HOST", host))


def _apply_framing_fields(req, fields, ctx):
    """Content-Length, Transfer-Encoding, Connection, Expect, singletons, scheme."""
    content_length = None
    codings = None
    tokens = None
    seen = set()
    scheme_headers = ctx.opts.secure_scheme_headers
    scheme = None
    for name, value in fields:
        if name == "CONTENT-LENGTH":
            # RFC 9110 section 8.6: 1*DIGIT, once.  A recipient may either
            # refuse repeats or merge identical ones; like upstream gunicorn
            # we refuse: two length fields mean two parsers may disagree.
            if content_length is not None or CONTENT_LENGTH_RE.fullmatch(value) is None:
                raise InvalidContentLength("CONTENT-LENGTH", req)
            if len(value) > _MAX_CONTENT_LENGTH_DIGITS:
                # Leading zeros are valid digits; only the value's size counts.
                value = value.lstrip("0") or "0"
                if len(value) > _MAX_CONTENT_LENGTH_DIGITS:
                    raise InvalidContentLength("CONTENT-LENGTH", req)
            content_length = int(value)
        elif name == "TRANSFER-ENCODING":
            if codings is None:
                codings = []
            # RFC 9110 section 5.6.1: a list, possibly split over field lines.
            codings.extend(c.strip(" \t").lower() for c in value.split(","))
        elif name == "CONNECTION":
            if tokens is None:
                tokens = set()
            tokens.update(t.strip(" \t").lower() for t in value.split(","))
        elif name == "EXPECT":
            # RFC 9110 section 10.1.1: only 100-continue is defined, and an
            # HTTP/1.0 client's expectation is ignored.
            if value.lower() != "100-continue":
                raise ExpectationFailed(value, req)
            if req.version >= (1, 1):
                req.expect_continue = True
        elif name in _SINGLETONS:
            if name in seen:
                raise InvalidHeader(name, req)
            seen.add(name)
            if name == "HOST" and HOST_RE.fullmatch(value) is None:
                raise InvalidHeader(name, req)
        if name in scheme_headers and ctx.trusted():
            this = "https" if value == scheme_headers[name] else "http"
            if scheme is not None and this != scheme:
                raise InvalidSchemeHeaders(req=req)
            scheme = this
    if scheme is not None:
        req.scheme = scheme
    if "HOST" not in seen and req.version >= (1, 1):
        raise MissingHost(req)

    if codings is not None:
        _apply_transfer_codings(req, codings, content_length)
    elif content_length is not None:
        req.content_length = content_length

    if tokens is not None:
        if "close" in tokens:
            req.must_close = True
        elif req.version < (1, 1) and "keep-alive" in tokens:
            req.must_close = False
    if req.method == "CONNECT":
        # After CONNECT the bytes are tunnel data, never another request.
        req.must_close = True


def _apply_transfer_codings(req, codings, content_length):
    """RFC 9112 sections 6.1 and 6.3: chunked must be last, once; nothing else decides length."""
    codings = [c for c in codings if c]
    if not codings:
        raise InvalidHeader("TRANSFER-ENCODING", req)
    for coding in codings:
        if coding not in _KNOWN_CODINGS:
            raise UnsupportedTransferCoding(coding, req)
    if codings[-1] != "chunked" or codings.count("chunked") != 1:
        raise InvalidHeader("TRANSFER-ENCODING", req)
    if req.version < (1, 1):
        # Section 6.1: Transfer-Encoding in HTTP/1.0 means faulty framing.
        raise InvalidHeader("TRANSFER-ENCODING", req)
    if content_length is not None:
        # Section 6.3: both present is a smuggling attempt until proven otherwise.
        raise InvalidHeader("CONTENT-LENGTH", req)
    req.chunked = True
    if len(codings) - codings.count("identity") > 1:
        # The body reaches the app still gzip/deflate-encoded: do not reuse.
        req.must_close = True
