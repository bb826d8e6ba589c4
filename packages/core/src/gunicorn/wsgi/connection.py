"""One client socket and its sans-I/O protocol: pull request events, push response events."""

from gunicorn.http.events import NEED_DATA, ConnectionClosed

RECV_SIZE = 65536


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

    def send(self, event):
        data = self.proto.send(event)
        if data:
            self.sock.sendall(data)

    def sendall(self, data):
        self.sock.sendall(data)
