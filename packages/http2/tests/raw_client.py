"""A small blocking HTTP/2 client over the ``h2`` library, for cases curl cannot produce."""

import socket
import ssl

import h2.config
import h2.connection
import h2.events
import h2.settings


def connect_h2(port, tls=False, timeout=5.0):
    """A socket to the test server: plain (h2c) or TLS that must have picked h2 by ALPN."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    if tls:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.set_alpn_protocols(["h2"])
        sock = ctx.wrap_socket(sock, server_hostname="localhost")
        assert sock.selected_alpn_protocol() == "h2"
    return sock


class RawH2Client:
    """One HTTP/2 connection to the test server; collects events per stream."""

    def __init__(self, port, tls=False, timeout=5.0, preface=True, local_settings=None):
        self.sock = connect_h2(port, tls, timeout)
        self.conn = h2.connection.H2Connection(
            h2.config.H2Configuration(client_side=True, header_encoding=None))
        if local_settings:
            # In force from our first SETTINGS frame (e.g. a tiny receive window).
            self.conn.local_settings = h2.settings.Settings(client=True,
                                                            initial_values=local_settings)
        self.events = []
        self.closed = False
        if preface:
            self.conn.initiate_connection()
            self.flush()

    def flush(self):
        data = self.conn.data_to_send()
        if data:
            self.sock.sendall(data)

    def request(self, path, method="GET", headers=(), body=None, end=True, stream_id=None,
                **kw):
        sid = stream_id or self.conn.get_next_available_stream_id()
        block = [(":method", method), (":path", path), (":scheme", "https"),
                 (":authority", "localhost")] + list(headers)
        self.conn.send_headers(sid, block, end_stream=body is None and end, **kw)
        self.flush()
        if body is not None:
            self.send_body(sid, body, end=end)
        return sid

    def send_body(self, sid, body, end=True):
        """Send ``body`` respecting our send window (reading WINDOW_UPDATEs as needed)."""
        view = memoryview(body)
        while view:
            window = min(self.conn.local_flow_control_window(sid),
                         self.conn.max_outbound_frame_size)
            if window <= 0:
                self.read_once()
                continue
            piece, view = view[:window], view[window:]
            self.conn.send_data(sid, bytes(piece), end_stream=end and not view)
            self.flush()
        if end and not body:
            self.conn.end_stream(sid)
            self.flush()

    def read_once(self, ack=True):
        data = self.sock.recv(65536)
        if not data:
            self.closed = True
            return []
        events = self.conn.receive_data(data)
        for event in events:
            if ack and isinstance(event, h2.events.DataReceived):
                self.conn.acknowledge_received_data(event.flow_controlled_length,
                                                    event.stream_id)
        self.events += events
        self.flush()
        return events

    def read_until(self, predicate, limit=2000, ack=True):
        for _ in range(limit):
            if predicate():
                return True
            if self.closed:
                return predicate()
            try:
                self.read_once(ack)
            except (ConnectionResetError, BrokenPipeError):
                self.closed = True
        return predicate()

    def ended(self, sid):
        return any(isinstance(e, (h2.events.StreamEnded, h2.events.StreamReset))
                   and e.stream_id == sid for e in self.events)

    def response(self, sid):
        """``(status, headers dict, body, trailers dict)`` once the stream ended."""
        assert self.read_until(lambda: self.ended(sid)), self.events[-5:]
        status, headers, trailers, body = None, {}, {}, bytearray()
        for e in self.events:
            if getattr(e, "stream_id", None) != sid:
                continue
            if isinstance(e, h2.events.ResponseReceived):
                headers = {k.decode(): v.decode() for k, v in e.headers}
                status = int(headers[":status"])
            elif isinstance(e, h2.events.DataReceived):
                body += e.data
            elif isinstance(e, h2.events.TrailersReceived):
                trailers = {k.decode(): v.decode() for k, v in e.headers}
        return status, headers, bytes(body), trailers

    def goaway(self):
        for e in self.events:
            if isinstance(e, h2.events.ConnectionTerminated):
                return e
        return None

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
