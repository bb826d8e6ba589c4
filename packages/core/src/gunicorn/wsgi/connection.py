"""One client socket and its sans-I/O protocol: pull request events, push response events."""

import ssl

from gunicorn.http.connection import whole_response_sender
from gunicorn.http.events import NEED_DATA, ConnectionClosed

RECV_SIZE = 65536
# Held-back response bytes are written once they reach this size.
FLUSH_SIZE = 65536


def is_tls_socket(sock):
    """Whether ``sock`` speaks TLS: stdlib, eventlet (subclasses) and gevent (duck-typed)."""
    return isinstance(sock, ssl.SSLSocket) or hasattr(sock, "getpeercert")


class ClientConnection:
    """Blocking glue between a socket and a protocol object.

    ``next_event()`` reads from the socket only when the protocol asks for more
    bytes; ``send(event)`` writes what the protocol frames for a response event.
    Works unchanged over gevent/eventlet sockets, which block only the greenlet.
    """

    def __init__(self, sock, proto, recv_size=RECV_SIZE):
        self.sock = sock
        self.proto = proto
        self.recv_size = recv_size
        self.peer_closed = False
        # Set when the response was cut short or the stream is out of sync.
        self.broken = False
        # Framed bytes held back so a small response goes out in one write.
        self._pending = []
        self._pending_size = 0
        # Whether any byte went to the socket (decides if an error page may follow).
        self.wrote = False
        # proto.send_whole_response where it may stand in for send(), else None.
        self.whole_sender = whole_response_sender(proto)

    def receive_more(self):
        """Read once from the socket into the protocol; False when the peer closed."""
        if self.peer_closed:
            return False
        data = self.sock.recv(self.recv_size)
        if not data:
            self.peer_closed = True
        self.proto.receive_data(data)
        return bool(data)

    def next_event(self):
        """The protocol's next event, reading from the socket as needed."""
        while True:
            event = self.proto.next_event()
            if event is not NEED_DATA:
                return event
            if self.peer_closed:
                # The protocol saw EOF and still wants bytes: report the close.
                return ConnectionClosed()
            self.receive_more()

    def send(self, event, flush=True):
        """Frame ``event``; write it now, or hold it to go out with what follows.

        Holding the head until the first body chunk (or the end) makes a small
        response one write instead of two, which avoids a Nagle/delayed-ACK stall.
        """
        data = self.proto.send(event)
        if data:
            self._pending.append(data)
            self._pending_size += len(data)
        if flush or self._pending_size >= FLUSH_SIZE:
            self.flush()

    def flush(self):
        """Write everything held back; True when something was written."""
        if not self._pending:
            return False
        data = self._pending[0] if len(self._pending) == 1 else b"".join(self._pending)
        self._pending = []
        self._pending_size = 0
        self.sock.sendall(data)
        self.wrote = True
        return True

    def send_whole(self, event, body):
        """Frame and write a final response whose body is all known, in one write.

        Only for a protocol with a ``whole_sender`` (see ``__init__``).
        """
        head, data, tail = self.whole_sender(event, body)
        pending = self._pending
        if pending:
            pending += (head, data, tail)
            self.flush()
            return
        self.sock.sendall(head + data + tail if tail else head + data)
        self.wrote = True

    def discard_pending(self):
        """Drop bytes not yet written (an error page replaces them)."""
        self._pending = []
        self._pending_size = 0

    def sendall(self, data):
        self.flush()
        self.sock.sendall(data)
        self.wrote = True
