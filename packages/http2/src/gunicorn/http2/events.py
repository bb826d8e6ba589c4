"""What an HTTP/2 connection reports to its driver: one small event class per happening.

Every event but ``ConnectionEnded`` names the stream it concerns.  Drivers (the
blocking gthread driver, an asyncio one) act on these and never on ``h2``'s own.
"""


class StreamRequest:
    """A request head arrived on ``stream_id``; ``request`` is a core ``Request``."""

    __slots__ = ("stream_id", "request", "ended")

    def __init__(self, stream_id, request, ended):
        self.stream_id = stream_id
        self.request = request
        # The HEADERS frame carried END_STREAM: no body will follow.
        self.ended = ended

    def __repr__(self):
        return "StreamRequest(%d, %r, ended=%r)" % (self.stream_id, self.request, self.ended)


class StreamData:
    """Request body bytes for ``stream_id``.

    ``flow_length`` (data plus padding) is what the driver hands back to
    ``HTTP2Connection.acknowledge(stream_id, flow_length)`` once the application
    consumed ``data``: that is what reopens the peer's flow-control window.
    """

    __slots__ = ("stream_id", "data", "flow_length")

    def __init__(self, stream_id, data, flow_length):
        self.stream_id = stream_id
        self.data = data
        self.flow_length = flow_length

    def __repr__(self):
        return "StreamData(%d, %d bytes)" % (self.stream_id, len(self.data))


class StreamEnded:
    """The request body of ``stream_id`` is complete; ``trailers`` as (NAME, value) str pairs."""

    __slots__ = ("stream_id", "trailers")

    def __init__(self, stream_id, trailers=None):
        self.stream_id = stream_id
        self.trailers = [] if trailers is None else trailers

    def __repr__(self):
        return "StreamEnded(%d)" % (self.stream_id,)


class StreamReset:
    """The peer reset ``stream_id`` (RST_STREAM), or we refused it: stop working on it."""

    __slots__ = ("stream_id", "error_code")

    def __init__(self, stream_id, error_code):
        self.stream_id = stream_id
        self.error_code = error_code

    def __repr__(self):
        return "StreamReset(%d, %r)" % (self.stream_id, self.error_code)


class ConnectionEnded:
    """No more requests will come: peer GOAWAY, peer close (EOF) or a protocol error.

    ``error_code`` is the HTTP/2 error code involved (0 = NO_ERROR); ``by_peer``
    tells a GOAWAY or close from the peer from one we sent after its error.
    A graceful GOAWAY from the peer (``by_peer`` and NO_ERROR, reason "peer
    sent GOAWAY") only ends new streams: those it opened are still answered
    and their frames keep coming (RFC 9113 section 6.8); anything else is last.
    """

    __slots__ = ("error_code", "by_peer", "last_stream_id", "reason")

    def __init__(self, error_code=0, by_peer=True, last_stream_id=None, reason=""):
        self.error_code = error_code
        self.by_peer = by_peer
        self.last_stream_id = last_stream_id
        self.reason = reason

    def __repr__(self):
        return "ConnectionEnded(%r, by_peer=%r, %r)" % (self.error_code, self.by_peer, self.reason)
