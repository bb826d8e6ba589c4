"""Header and trailer field lines: names, obs-fold, limits and the header_map policy (RFC 9112 section 5)."""

from gunicorn.http.abnf import NOT_HEAD_CONTROL_BYTES, TOKEN_RE
from gunicorn.http.errors import (
    InvalidHeader,
    InvalidHeaderName,
    InvalidRequestLine,
    LimitRequestHeaders,
    ObsoleteFolding,
)

# Field names already proven to be tokens (no "_"), mapped to their
# uppercase form: a dict hit replaces a regex match and str.upper().
NAME_CACHE = {}
NAME_CACHE_LIMIT = 4096

# RFC 9110 section 6.5.1: fields that must not come in trailers because
# they steer framing, routing or authentication.  Refused, as upstream
# gunicorn does; other misplaced fields (Content-Type, Connection...) are
# only kept aside in req.trailers, never merged into the headers, so they
# are accepted like upstream accepts them.
FORBIDDEN_TRAILERS = frozenset((
    "HOST", "CONTENT-LENGTH", "TRANSFER-ENCODING", "TRAILER", "AUTHORIZATION", "TE",
))


def check_controls(head, first_line_is_request=True):
    """Refuse controls other than HTAB and CRLF anywhere in a head, in one pass.

    RFC 9112 section 2.2: lines end in CRLF, so a bare CR or a bare LF is
    refused; RFC 9110 section 5.5: NUL and other controls are never valid.
    """
    ctl = head.translate(None, NOT_HEAD_CONTROL_BYTES)
    if ctl and len(ctl) != 2 * head.count(b"\r\n"):
        # Slow path, only to name the offending line.
        for number, line in enumerate(bytes(head).split(b"\r\n")):
            bad = line.translate(None, NOT_HEAD_CONTROL_BYTES)
            if bad:
                text = line.decode("latin-1")
                if number == 0 and first_line_is_request:
                    raise InvalidRequestLine(text)
                if b"\n" in bad or b"\r" in bad:
                    raise InvalidHeader("bare CR or LF in line: %r" % (text,))
                raise InvalidHeader(text)
        raise InvalidHeader("control character in head")  # pragma: no cover


def unfold(lines, opts, start):
    """Join obs-fold continuation lines (RFC 9112 section 5.2) or refuse them."""
    out = lines[:start]
    for index in range(start, len(lines)):
        line = lines[index]
        if line[:1] in (" ", "\t"):
            if index == start:
                # Whitespace before the first field line (section 2.2).
                raise InvalidHeader(line)
            if not opts.permit_obsolete_folding:
                raise ObsoleteFolding(out[-1].partition(":")[0])
            # Replace the fold with one SP; the size limit sees the raw line.
            out[-1] = "%s %s" % (out[-1].rstrip(" \t"), line.strip(" \t"))
        else:
            out.append(line)
    return out


def check_field_limits(lines, start, opts, raw_length):
    """Enforce limit_request_fields and limit_request_field_size (431)."""
    if len(lines) - start > opts.limit_request_fields:
        raise LimitRequestHeaders("limit request headers fields")
    size = opts.limit_request_field_size
    if size and raw_length > size:
        for index in range(start, len(lines)):
            if len(lines[index]) + 2 > size:
                raise LimitRequestHeaders("limit request headers fields size")


def field_name(name, colon, line, opts, trusted):
    """Validate one field name; return it uppercased, or None when header_map drops it."""
    if not colon:
        raise InvalidHeader(line)
    if TOKEN_RE.fullmatch(name) is None:
        stripped = name.rstrip(" \t")
        # RFC 9112 section 5.1: no whitespace between name and colon; the
        # strip_header_spaces setting tolerates it (unsafe behind proxies).
        if not (opts.strip_header_spaces and stripped != name
                and TOKEN_RE.fullmatch(stripped) is not None):
            if not name:
                raise InvalidHeader(line)
            raise InvalidHeaderName(name)
        name = stripped
    upper = name.upper()
    if "_" in upper:
        # A "_" maps to the same WSGI environ key as "-": a client could
        # spoof X-Forwarded-For as X_Forwarded_For behind a proxy.
        if upper in opts.forwarder_headers or "*" in opts.forwarder_headers:
            if trusted():
                return upper
        if opts.header_map == "dangerous":
            return upper
        if opts.header_map == "drop":
            return None
        raise InvalidHeaderName(upper)
    if name == name.rstrip(" \t"):
        if len(NAME_CACHE) >= NAME_CACHE_LIMIT:
            # Start over rather than freeze: names in use come back at once.
            NAME_CACHE.clear()
        NAME_CACHE[name] = upper
    return upper


def parse_trailer_lines(text, opts):
    """Parse a trailer section (text without the final blank line) into pairs."""
    lines = text.split("\r\n")
    if "\r\n " in text or "\r\n\t" in text or text[:1] in (" ", "\t"):
        lines = unfold(lines, opts, 0)
    check_field_limits(lines, 0, opts, len(text))
    trailers = []
    for line in lines:
        name, colon, value = line.partition(":")
        upper = field_name(name, colon, line, opts, _untrusted)
        if upper is None:
            continue
        if upper in FORBIDDEN_TRAILERS:
            raise InvalidHeaderName(upper)
        trailers.append((upper, value.strip(" \t")))
    return trailers


def _untrusted():
    # Trailers can never set forwarding headers: a proxy would not vet them.
    return False

