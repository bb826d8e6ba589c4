"""Parse and check the request line: method, request-target form and HTTP version (RFC 9112 section 3)."""

import ipaddress

from gunicorn.http.abnf import (
    ABSOLUTE_FORM_RE,
    AUTHORITY_FORM_RE,
    HOST_RE,
    HTTP_VERSION_RE,
    IPVFUTURE_RE,
    METHOD_BADCHAR_RE,
    TARGET_INVALID_RE,
    TOKEN_RE,
)
from gunicorn.http.errors import (
    InvalidHTTPVersion,
    InvalidRequestLine,
    InvalidRequestMethod,
    LimitRequestLine,
    UnsupportedHTTPVersion,
)

# gunicorn's longest conventional method (check_method), plus the SP after it.
_METHOD_SCAN = 21

# Methods checked once here rather than by regex on every request.
_COMMON_METHODS = frozenset((
    "GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "CONNECT", "TRACE",
))
_HTTP11 = (1, 1)
_HTTP10 = (1, 0)
_HTTP_SCHEMES = ("http", "https")


def check_method(method, opts):
    """Return the method to use, or raise InvalidRequestMethod (RFC 9110 section 9)."""
    if method in _COMMON_METHODS:
        return method
    if not opts.permit_unconventional_http_method:
        # Not an RFC rule: gunicorn's convention that rules out lowercase
        # look-alikes and absurd lengths for every registered method.
        if METHOD_BADCHAR_RE.search(method) or not 3 <= len(method) <= 20:
            raise InvalidRequestMethod(method)
    if TOKEN_RE.fullmatch(method) is None:
        raise InvalidRequestMethod(method)
    if opts.casefold_http_method:
        method = method.upper()
    return method


def over_limit_error(start, length, opts):
    """The error for a request line over limit_request_line, ``start`` its first bytes.

    414 is for a long target (RFC 9112 section 3); a first token already
    longer than any method we accept is a method error instead (the same
    section: a method longer than any implemented is not a URI problem).
    """
    if not opts.permit_unconventional_http_method and b" " not in start[:_METHOD_SCAN]:
        return InvalidRequestMethod(bytes(start[:_METHOD_SCAN]).decode("latin-1"))
    return LimitRequestLine(length, opts.limit_request_line)


def parse_version(text, opts):
    """Return the version tuple; malformed -> 400, well-formed but not 1.x -> 505."""
    if text == "HTTP/1.1":
        return _HTTP11
    if text == "HTTP/1.0":
        return _HTTP10
    match = HTTP_VERSION_RE.fullmatch(text)
    if match is None:
        raise InvalidHTTPVersion(text)
    version = (int(match.group(1)), int(match.group(2)))
    if not (1, 0) <= version < (2, 0) and not opts.permit_unconventional_http_version:
        raise UnsupportedHTTPVersion(text)
    return version


def _names_host(authority):
    """Whether an authority (RFC 3986 section 3.2) has a host, userinfo and port aside."""
    host = authority.rpartition("@")[2]
    if host[:1] == "[":
        return len(host) > 2  # an IP-literal
    return host.partition(":")[0] != ""


def _brackets_well_placed(authority):
    """Whether "[" and "]" in an authority only enclose an IP-literal host.

    RFC 3986 section 3.2.2: IP-literal = "[" ( IPv6address / IPvFuture ) "]",
    followed by nothing or ":" port; upstream's urlsplit refuses the rest too.
    """
    if "[" not in authority and "]" not in authority:
        return True
    userinfo, _, host = authority.rpartition("@")
    if "[" in userinfo or "]" in userinfo or host[:1] != "[":
        return False
    literal, bracket, after = host[1:].partition("]")
    if not bracket or "[" in literal or "]" in after:
        return False
    port = after[1:]
    if after and (after[0] != ":" or port and not port.isdigit()):
        return False
    if IPVFUTURE_RE.fullmatch(literal) is not None:
        return True
    try:
        ipaddress.IPv6Address(literal)
    except ValueError:
        return False
    return True


def split_target(target, method, line):
    """Return (path, query, fragment) for one of the four forms of RFC 9112 section 3.2."""
    if not target or TARGET_INVALID_RE.search(target) is not None:
        raise InvalidRequestLine(line)
    if method == "CONNECT":
        # RFC 9112 section 3.2.3: CONNECT takes the authority-form and no
        # other; RFC 9110 section 9.3.6: an empty or invalid port MUST be refused.
        match = AUTHORITY_FORM_RE.fullmatch(target)
        if (match is None or not 0 < int(match.group(1)) <= 65535
                or not _brackets_well_placed(target)):
            raise InvalidRequestLine(line)
        return "", "", ""
    if target[0] == "/":
        # origin-form; "//x" stays a path, it is not a network-path reference.
        rest = target
    elif target == "*":
        # asterisk-form: only for a server-wide OPTIONS (section 3.2.4).
        if method != "OPTIONS":
            raise InvalidRequestLine(line)
        return "*", "", ""
    else:
        match = ABSOLUTE_FORM_RE.fullmatch(target)
        if match is not None:
            if not _brackets_well_placed(match.group(2)):
                raise InvalidRequestLine(line)
            # RFC 9110 sections 4.2.1-4.2.2: an http(s) URI with an empty
            # host is invalid and must be rejected.
            if not _names_host(match.group(2)) and match.group(1).lower() in _HTTP_SCHEMES:
                raise InvalidRequestLine(line)
            # absolute-form (section 3.2.2): keep only the path and query.
            rest = match.group(3) or ""
        else:
            raise InvalidRequestLine(line)
    path, _, fragment = rest.partition("#")
    path, _, query = path.partition("?")
    return path, query, fragment


def absolute_form_host(target, line):
    """The host [":" port] of an absolute-form target, userinfo dropped, for the Host field.

    RFC 9112 section 3.2.2: an origin server MUST ignore a received Host
    and use the target's host instead.  Only called for targets that
    split_target took as absolute-form.
    """
    authority = ABSOLUTE_FORM_RE.fullmatch(target).group(2)
    host = authority.rpartition("@")[2]
    # RFC 3986 section 3.2: port = *DIGIT, "%" only in "%" HEXDIG HEXDIG.
    if HOST_RE.fullmatch(host) is None:
        raise InvalidRequestLine(line)
    return host


def parse_request_line(line, opts):
    """Return (method, uri, path, query, fragment, version) for one request line."""
    parts = line.split(" ")
    if len(parts) != 3:
        raise InvalidRequestLine(line)
    method, uri, version = parts
    method = check_method(method, opts)
    # The version first: "PRI * HTTP/2.0" deserves a 505, not a 400.
    version = parse_version(version, opts)
    path, query, fragment = split_target(uri, method, line)
    return method, uri, path, query, fragment, version
