"""Errors the HTTP/1 parser raises; each carries the status code a worker answers with."""


class ParseError(Exception):
    """Bad input from the peer.  ``status_code`` and ``reason`` say how to answer."""

    status_code = 400
    reason = "Bad Request"

    def __init__(self, message="", req=None):
        super().__init__(message)
        self.message = str(message)
        # The request head, when it was parsed before the error (access log).
        self.req = req

    def __str__(self):
        return self.message


# The upstream name of the base class, for third-party ``except`` clauses.
ParseException = ParseError


class NoMoreData(ParseError):
    """The peer closed the connection in the middle of a message."""

    def __init__(self, buf=b"", req=None):
        super().__init__("No more data after: %r" % (bytes(buf[:64]),), req)
        self.buf = buf


class ConfigurationProblem(ParseError):
    status_code = 500
    reason = "Internal Server Error"


class InvalidRequestLine(ParseError):
    def __init__(self, line="", req=None):
        super().__init__("Invalid HTTP request line: %r" % (line,), req)


class InvalidRequestMethod(ParseError):
    def __init__(self, method="", req=None):
        super().__init__("Invalid HTTP method: %r" % (method,), req)
        self.method = method


class InvalidHTTPVersion(ParseError):
    def __init__(self, version="", req=None):
        super().__init__("Invalid HTTP Version: %r" % (version,), req)
        self.version = version


class UnsupportedHTTPVersion(InvalidHTTPVersion):
    """A well-formed version other than 1.0 and 1.1 (RFC 9110 section 15.6.6)."""

    status_code = 505
    reason = "HTTP Version Not Supported"


class LimitRequestLine(ParseError):
    status_code = 414
    reason = "URI Too Long"

    def __init__(self, size=0, max_size=0, req=None):
        super().__init__("Request Line is too large (%s > %s)" % (size, max_size), req)
        self.size = size
        self.max_size = max_size


class LimitRequestHeaders(ParseError):
    status_code = 431
    reason = "Request Header Fields Too Large"


class InvalidHeader(ParseError):
    def __init__(self, hdr="", req=None):
        super().__init__("Invalid HTTP Header: %r" % (hdr,), req)
        self.hdr = hdr


class MissingHost(InvalidHeader):
    """An HTTP/1.1 request without a Host field (RFC 9112 section 3.2: answer 400)."""

    def __init__(self, req=None):
        ParseError.__init__(self, "Missing HTTP Header: 'HOST' (required in HTTP/1.1)", req)
        self.hdr = "HOST"


class InvalidHeaderName(ParseError):
    def __init__(self, hdr="", req=None):
        super().__init__("Invalid HTTP header name: %r" % (hdr,), req)
        self.hdr = hdr


class InvalidContentLength(InvalidHeader):
    """Content-Length that is not one 1*DIGIT value (RFC 9110 section 8.6)."""


class ObsoleteFolding(ParseError):
    def __init__(self, hdr="", req=None):
        super().__init__("Obsolete line folding is unacceptable: %r" % (hdr,), req)
        self.hdr = hdr


class ExpectationFailed(ParseError):
    status_code = 417
    reason = "Expectation Failed"

    def __init__(self, expect="", req=None):
        super().__init__("Unable to comply with expectation: %r" % (expect,), req)
        self.expect = expect


class UnsupportedTransferCoding(ParseError):
    status_code = 501
    reason = "Not Implemented"

    def __init__(self, hdr="", req=None):
        super().__init__("Unsupported transfer coding: %r" % (hdr,), req)
        self.hdr = hdr


class InvalidChunkSize(ParseError):
    def __init__(self, data=b"", req=None):
        super().__init__("Invalid chunk size: %r" % (data,), req)
        self.data = data


class InvalidChunkExtension(ParseError):
    def __init__(self, reason="", req=None):
        super().__init__("Invalid chunk extension: %s" % (reason,), req)


class ChunkMissingTerminator(ParseError):
    def __init__(self, term=b"", req=None):
        super().__init__("Invalid chunk terminator is not '\\r\\n': %r" % (term,), req)
        self.term = term


class InvalidProxyLine(ParseError):
    def __init__(self, line="", req=None):
        super().__init__("Invalid PROXY line: %r" % (line,), req)
        self.line = line


class InvalidProxyHeader(ParseError):
    def __init__(self, msg="", req=None):
        super().__init__("Invalid PROXY header: %s" % (msg,), req)


class ForbiddenProxyRequest(ParseError):
    status_code = 403
    reason = "Forbidden"

    def __init__(self, host="", req=None):
        super().__init__("Proxy request from %r not allowed" % (host,), req)
        self.host = host


class InvalidSchemeHeaders(ParseError):
    def __init__(self, message="Contradictory scheme headers", req=None):
        super().__init__(message, req)


class LocalProtocolError(Exception):
    """We were asked to send something HTTP/1.1 does not allow at this point."""


class InvalidResponseHeader(LocalProtocolError):
    """The application gave a response header that cannot be put on the wire."""


class InvalidResponseHeaderName(InvalidResponseHeader):
    """The application gave a response header name that is not a token."""


class InvalidH2CPreface(ParseError):
    """A cleartext HTTP/2 connection did not start with the connection preface."""

    def __init__(self, data=b"", req=None):
        super().__init__("Expected HTTP/2 connection preface, got %r" % (bytes(data[:24]),), req)
        self.data = data
