"""The events a connection yields (request side) and accepts (response side)."""


class _Sentinel:
    __slots__ = ("name",)

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return self.name


#: next_event() needs more bytes from the peer before it can return an event.
NEED_DATA = _Sentinel("NEED_DATA")
#: The request is complete; finish the response and call start_next_cycle().
PAUSED = _Sentinel("PAUSED")


class Request:
    """A parsed request head; the ``req`` object server hooks receive."""

    __slots__ = (
        "method", "uri", "path", "query", "fragment", "version", "headers",
        "trailers", "scheme", "content_length", "chunked", "expect_continue",
        "must_close", "extra_environ", "proxy", "peer_addr", "remote_addr",
        "req_number", "body", "environ_complete", "__dict__",
    )

    def __init__(self, method, uri, path, query, fragment, version, headers,
                 scheme="http", content_length=None, chunked=False,
                 expect_continue=False, must_close=False, peer_addr=None,
                 req_number=1, proxy=None, extra_environ=None, environ_complete=False):
        self.method = method
        self.uri = uri
        self.path = path
        self.query = query
        self.fragment = fragment
        self.version = version
        self.headers = headers
        self.trailers = []
        self.scheme = scheme
        self.content_length = content_length
        self.chunked = chunked
        self.expect_continue = expect_continue
        self.must_close = must_close
        self.peer_addr = peer_addr
        self.remote_addr = peer_addr
        self.req_number = req_number
        self.proxy = proxy
        self.extra_environ = {} if extra_environ is None else extra_environ
        # True when extra_environ already holds every CGI request variable
        # (REQUEST_METHOD, PATH_INFO, HTTP_*...), as a uwsgi front end sends
        # them: the WSGI environ is then copied from it, not derived from the head.
        self.environ_complete = environ_complete
        # The adapter hangs its wsgi.input-like reader here.
        self.body = None

    def should_close(self):
        """Whether the connection must close after this request's response."""
        return self.must_close

    def force_close(self):
        self.must_close = True

    @property
    def proxy_protocol_info(self):
        """The PROXY protocol result as upstream's dict, or None."""
        return None if self.proxy is None else self.proxy.as_dict()

    def __repr__(self):
        return "<Request %s %s HTTP/%d.%d>" % (
            self.method, self.uri, self.version[0], self.version[1])


class Data:
    __slots__ = ("data",)

    def __init__(self, data):
        self.data = data

    def __eq__(self, other):
        return type(other) is Data and other.data == self.data

    def __repr__(self):
        return "Data(%r)" % (bytes(self.data[:40]),)


class EndOfMessage:
    __slots__ = ("trailers",)

    def __init__(self, trailers=None):
        self.trailers = [] if trailers is None else trailers

    def __eq__(self, other):
        return type(other) is EndOfMessage and other.trailers == self.trailers

    def __repr__(self):
        return "EndOfMessage(%r)" % (self.trailers,)


class ConnectionClosed:
    __slots__ = ()

    def __eq__(self, other):
        return type(other) is ConnectionClosed

    def __repr__(self):
        return "ConnectionClosed()"


class InformationalResponse:
    """A 1xx response head, e.g. 100 Continue or 103 Early Hints."""

    __slots__ = ("status_code", "headers", "reason")

    def __init__(self, status_code, headers=(), reason=""):
        if not 100 <= status_code < 200:
            raise ValueError("informational status must be 1xx, got %r" % (status_code,))
        self.status_code = status_code
        self.headers = list(headers)
        self.reason = reason


class Response:
    """A final response head; headers are (str, str) pairs from the application.

    ``checked=True`` says every header already passed the same wire checks
    (token name, no CR/LF/NUL in values) the writer applies, so it skips them.
    """

    __slots__ = ("status_code", "reason", "headers", "checked")

    def __init__(self, status_code, reason="", headers=(), checked=False):
        if not 200 <= status_code < 1000 and status_code != 101:
            raise ValueError("final status must be 101 or 2xx-9xx, got %r" % (status_code,))
        self.status_code = status_code
        self.reason = reason
        self.headers = headers
        self.checked = checked
