"""HTTP/2 test helpers: is gunicorn-http2 there, and a small blocking client on ``h2``.

The client shows what curl and httpx never do (RST_STREAM codes, GOAWAY, trailers).
``h2`` is imported only when a client is made: without it the tests skip.
"""

import importlib.util
import socket
import ssl
import time


def http2_installed():
    """Whether gunicorn-http2 and the h2 library it drives are importable."""
    try:
        return (importlib.util.find_spec("gunicorn.http2") is not None
                and importlib.util.find_spec("h2") is not None)
    except (ImportError, ValueError):
        return False


class H2Client:
    """One HTTP/2 connection (h2c prior knowledge, or TLS with ALPN h2); events kept per stream."""

    def __init__(self, port, tls=False, timeout=5.0, window=None, split_preface=0):
        import h2.config
        import h2.connection

        sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        if tls:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            ctx.set_alpn_protocols(["h2"])
            sock = ctx.wrap_socket(sock, server_hostname="127.0.0.1")
        self.sock = sock
        self.h2 = h2.connection.H2Connection(
            h2.config.H2Configuration(client_side=True, header_encoding="latin-1"))
        self.h2.initiate_connection()
        if window is not None:
            # Our streams' receive window (SETTINGS_INITIAL_WINDOW_SIZE), before any request.
            from h2.settings import SettingCodes

            self.h2.update_settings({SettingCodes.INITIAL_WINDOW_SIZE: window})
        self.events = []
        self.closed = False
        self.auto_ack = True    # False: never send WINDOW_UPDATE (a client that stops reading)
        if split_preface:
            # The preface's first bytes alone in their own segment, the rest later.
            data = self.h2.data_to_send()
            sock.sendall(data[:split_preface])
            time.sleep(0.2)
            sock.sendall(data[split_preface:])
        self.flush()

    def flush(self):
        data = self.h2.data_to_send()
        if data:
            self.sock.sendall(data)

    def get(self, path, end=True):
        sid = self.h2.get_next_available_stream_id()
        self.h2.send_headers(sid, [(":method", "GET"), (":path", path), (":scheme", "http"),
                                   (":authority", "127.0.0.1")], end_stream=end)
        self.flush()
        return sid

    def post_start(self, path, body):
        """Open a POST and send as much of ``body`` as the stream's window allows now."""
        sid = self.h2.get_next_available_stream_id()
        self.h2.send_headers(sid, [(":method", "POST"), (":path", path), (":scheme", "http"),
                                   (":authority", "127.0.0.1")])
        room = min(self.h2.local_flow_control_window(sid), len(body))
        for start in range(0, room, 16384):
            self.h2.send_data(sid, body[start:min(start + 16384, room)])
        self.flush()
        return sid, room

    def reset(self, sid):
        self.h2.reset_stream(sid)
        self.flush()

    def read_once(self):
        try:
            data = self.sock.recv(65536)
        except TimeoutError:
            return      # nothing within the socket timeout (wait() keeps its own deadline)
        except ConnectionResetError:
            data = b""
        if not data:
            self.closed = True
            return
        import h2.events

        for event in self.h2.receive_data(data):
            self.events.append(event)
            if isinstance(event, h2.events.DataReceived) and self.auto_ack:
                self.h2.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
        self.flush()

    def wait(self, predicate, timeout=5.0):
        deadline = time.monotonic() + timeout
        while not predicate():
            if self.closed or time.monotonic() > deadline:
                raise AssertionError("not seen; events: %r" % (self.events,))
            self.read_once()

    def of(self, sid, kind):
        return [e for e in self.events if isinstance(e, kind) and getattr(e, "stream_id", sid) == sid]

    def ended(self, sid):
        import h2.events

        return bool(self.of(sid, h2.events.StreamEnded) or self.of(sid, h2.events.StreamReset))

    def response(self, sid, timeout=5.0):
        """(status, headers dict, body, trailers dict) once ``sid`` ended."""
        import h2.events

        self.wait(lambda: self.ended(sid), timeout)
        heads = self.of(sid, h2.events.ResponseReceived)
        headers = dict(heads[0].headers) if heads else {}
        body = b"".join(e.data for e in self.of(sid, h2.events.DataReceived))
        trailers = {}
        for e in self.of(sid, h2.events.TrailersReceived):
            trailers.update(dict(e.headers))
        return headers.get(":status"), headers, body, trailers

    def received(self, sid):
        import h2.events

        return sum(len(e.data) for e in self.of(sid, h2.events.DataReceived))

    def acknowledge_all(self, sid):
        """Return every byte received on ``sid`` to its window (and the connection's)."""
        import h2.events

        for e in self.of(sid, h2.events.DataReceived):
            self.h2.acknowledge_received_data(e.flow_controlled_length, sid)
        self.flush()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass
