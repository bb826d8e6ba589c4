"""``wsgi.input``: the request body streamed from the protocol as the app reads it."""

from gunicorn.http.events import ConnectionClosed, Data, EndOfMessage, InformationalResponse

# A keep-alive connection reads and discards at most this much unread body
# before the next request; a larger leftover closes the connection instead.
MAX_DRAIN = 1 << 20


class _EndedConnection:
    """What a released body reads from: the peer is gone."""

    broken = False

    def next_event(self):
        return ConnectionClosed()

    def send(self, event, flush=True):
        pass


_ENDED = _EndedConnection()


class RequestBody:
    """File-like, read-only request body (PEP 3333 ``wsgi.input``).

    Reads pull ``Data`` events from the connection only when the buffer is
    short, so a large body is never held in memory unless the app asks for
    all of it. ``100 Continue`` goes out on the first read of a body whose
    client sent ``Expect: 100-continue`` (RFC 9110 section 10.1.1).
    """

    def __init__(self, conn, req):
        self._conn = conn
        # Only needed until the body ends (for its trailers); dropped then and by
        # release(), so that req.body <-> body is not a cycle left to the GC.
        self._req = req
        self._expects_continue = bool(getattr(req, "expect_continue", False))
        self._buf = bytearray()
        self._scan = 0          # readline(): bytes of _buf already known newline-free
        self.complete = False   # EndOfMessage seen
        self.truncated = False  # the peer closed before the body ended
        self.continue_sent = False
        self.has_body = bool(getattr(req, "chunked", False)) or bool(
            getattr(req, "content_length", 0))

    @property
    def needs_continue(self):
        """The client waits for ``100 Continue`` that was never sent."""
        return self._expects_continue and self.has_body \
            and not self.continue_sent and not self.complete

    def _pull(self):
        """Add one event's worth of body to the buffer; False once the body ended."""
        if self.complete:
            return False
        if self.needs_continue:
            self.continue_sent = True
            self._conn.send(InformationalResponse(100, []))
        event = self._conn.next_event()
        if isinstance(event, Data):
            self._buf += event.data
        elif isinstance(event, EndOfMessage):
            self.complete = True
            if self._req is not None:
                self._req.trailers = list(event.trailers or [])
        elif isinstance(event, ConnectionClosed):
            self.complete = True
            self.truncated = True
            self._conn.broken = True
        else:
            raise RuntimeError("unexpected event while reading a request body: %r" % (event,))
        return True

    def _take(self, size):
        data = bytes(self._buf[:size])
        del self._buf[:size]
        self._scan = 0
        return data

    def read(self, size=-1):
        if size is None or size < 0:
            while self._pull():
                pass
            return self._take(len(self._buf))
        if size == 0:
            return b""
        while len(self._buf) < size and self._pull():
            pass
        return self._take(size)

    def readline(self, size=-1):
        if size is not None and size == 0:
            return b""
        limit = size if size is not None and size > 0 else None
        while True:
            idx = self._buf.find(b"\n", self._scan)
            if idx != -1:
                end = idx + 1
                if limit is not None:
                    end = min(end, limit)
                return self._take(end)
            if limit is not None and len(self._buf) >= limit:
                return self._take(limit)
            self._scan = len(self._buf)
            if not self._pull():
                return self._take(len(self._buf))

    def readlines(self, hint=-1):
        lines = []
        total = 0
        while True:
            line = self.readline()
            if not line:
                return lines
            lines.append(line)
            total += len(line)
            if hint is not None and 0 < hint <= total:
                return lines

    def __iter__(self):
        return self

    def __next__(self):
        line = self.readline()
        if not line:
            raise StopIteration
        return line

    def close(self):
        """Nothing to release: the connection belongs to the server."""

    def release(self):
        """The request is over: let go of the request and the connection.

        Both point back at this body (req.body, the protocol's current
        request), so keeping them would leave a cycle for the GC. A read after
        this finds the body ended.
        """
        self._req = None
        self._conn = _ENDED

    def drain(self, limit=MAX_DRAIN):
        """Discard the unread rest of the body; True if it ended within ``limit`` bytes.

        Never sends ``100 Continue``: a client still waiting for it has not sent
        the body, so the caller must close the connection instead.
        """
        if self.needs_continue:
            return False
        discarded = len(self._buf)
        self._buf.clear()
        self._scan = 0
        while not self.complete:
            if discarded > limit:
                return False
            self._pull()
            discarded += len(self._buf)
            self._buf.clear()
        return not self.truncated
