"""The blocking driver: one HTTP/2 connection on a socket, its streams run through core's WSGI adapter.

Used by the gthread worker (and usable by greenlet workers): ``serve()``
runs on a pool thread until the connection is idle (True: hand the socket
back to the poller, call ``serve()`` again once it is readable) or over
(False: close it).  Streams are served one at a time, in the order their
requests arrived; while one runs, frames for the others are read and kept
(their bodies bounded by the flow-control windows we advertise).  Each
stream goes through ``gunicorn.wsgi.serve.ServedConnection.handle`` with a
``StreamWire`` in place of the HTTP/1 connection, so environ, hooks, access
log and error pages are core's.
"""

import copy
import socket
from collections import deque

from gunicorn.http2 import events as ev
from gunicorn.http2.connection import HTTP2Connection
from gunicorn.http2.errors import INTERNAL_ERROR, NO_ERROR, StreamClosed
from gunicorn.http2.stream_wire import StreamInbox, StreamWire
from gunicorn.http2.upgrade import SWITCHING, as_stream_one

RECV_SIZE = 65536
SEND_TRAILERS = "gunicorn.http2.send_trailers"
_DONTWAIT = getattr(socket, "MSG_DONTWAIT", 0)


class BlockingHTTP2Server:
    """Serve one HTTP/2 connection with blocking socket calls (one thread at a time)."""

    def __init__(self, served, sock, tls=False, initial=b"", upgrade=None):
        self.served = served            # core's ServedConnection for this socket
        self.worker = served.worker
        self.log = served.log
        self.sock = sock
        self.tls = tls
        self.conn = HTTP2Connection(served.cfg, served.addr, served.listener_name, tls)
        self._initial = initial
        self._upgrade = upgrade          # (HTTP/1.1 request, HTTP2-Settings) of an h2c upgrade
        self.started = False
        self.pending = deque()          # StreamRequest events not yet served
        self.inboxes = {}               # stream_id -> StreamInbox
        self.readable = True            # False once the peer closed or the connection failed
        self.no_more_requests = False   # GOAWAY (either way): finish what we have

    # -- the pool thread's entry point ------------------------------------------
    def serve(self, keepalive=True):
        """Serve until idle: True to wait for more in the poller, False when finished."""
        try:
            if not self.started:
                self.started = True
                if self._upgrade is not None:
                    self._start_upgraded()
                    return self._run(keepalive)
                self.conn.initiate()
                if self._initial:
                    self._feed(self._initial)
                    self._initial = b""
                self.flush()
                if self.tls and not self.sock.pending():
                    # Right after the handshake the preface may not be here yet:
                    # wait for it in the poller, not on this thread.
                    return True
            # Called when bytes are waiting (the client's preface, at first).
            if not self.receive():
                return self._finish()
            return self._run(keepalive)
        except OSError as exc:
            self.log.debug("HTTP/2 connection ended: %s", exc)
            self.readable = False
            return False

    def _run(self, keepalive):
        while True:
            while self.pending:
                self._serve_stream(self.pending.popleft())
                if not self.worker.alive and not self.conn.goaway_sent:
                    # TERM or max_requests: no new streams; those received still run.
                    self.conn.start_shutdown()
                    self.flush()
            if not self.readable or self.no_more_requests:
                return self._finish()
            if self.tls and self.sock.pending():
                if not self.receive():
                    return self._finish()
                continue
            if not self.worker.alive or not keepalive:
                self.conn.start_shutdown()
                self.flush()
                self.no_more_requests = True
                continue
            return True

    def _start_upgraded(self):
        # RFC 7540 section 3.2: 101, then our SETTINGS; the HTTP/1.1 request
        # becomes stream 1, already complete, and is answered over HTTP/2.
        req, settings = self._upgrade
        self._upgrade = None
        self.sock.sendall(SWITCHING)
        self.conn.initiate_upgrade(settings)
        self.flush()
        inbox = self.inboxes[1] = StreamInbox()
        inbox.ended = True
        self.pending.append(ev.StreamRequest(1, as_stream_one(req), True))

    def _finish(self):
        """Say GOAWAY (unless the peer is gone) and report the connection over."""
        if self.readable and not self.conn.goaway_sent:
            self.conn.start_shutdown()
        try:
            self.flush()
        except OSError:
            pass
        return False

    def goodbye(self):
        """GOAWAY without blocking, for a connection closed while idle (keep-alive expiry, stop)."""
        if not self.started or self.conn.goaway_sent:
            return
        self.conn.start_shutdown()
        data = self.conn.data_to_send()
        try:
            if self.tls:
                self.sock.send(data)
            else:
                self.sock.send(data, _DONTWAIT)
        except (OSError, ValueError):
            pass

    # -- reading -------------------------------------------------------------
    def receive(self):
        """Read once (all of a TLS record) and act on the events; False when nothing more will come."""
        if not self.readable:
            return False
        data = self.sock.recv(RECV_SIZE)
        if data and self.tls:
            while self.sock.pending():
                more = self.sock.recv(RECV_SIZE)
                if not more:
                    break
                data += more
        self._feed(data)
        self.flush()
        return self.readable

    def _feed(self, data):
        for event in self.conn.receive_data(data):
            kind = type(event)
            if kind is ev.StreamData:
                inbox = self.inboxes.get(event.stream_id)
                if inbox is None:
                    self.conn.acknowledge(event.stream_id, event.flow_length)
                else:
                    inbox.pieces.append(event)
            elif kind is ev.StreamRequest:
                self.inboxes[event.stream_id] = StreamInbox()
                self.pending.append(event)
            elif kind is ev.StreamEnded:
                inbox = self.inboxes.get(event.stream_id)
                if inbox is not None:
                    inbox.ended = True
                    inbox.trailers = event.trailers
            elif kind is ev.StreamReset:
                self._forget(event.stream_id)
            elif kind is ev.ConnectionEnded:
                self._ended(event)

    def _forget(self, stream_id):
        inbox = self.inboxes.pop(stream_id, None)
        if inbox is not None:
            inbox.reset = True
        self.pending = deque(e for e in self.pending if e.stream_id != stream_id)

    def _ended(self, event):
        # Even after a graceful GOAWAY from the client nothing more can be sent:
        # h2 closes the connection on receiving one.
        self.no_more_requests = True
        if not event.by_peer:
            self.log.debug("HTTP/2 protocol error from %s: %s", self.served.addr, event.reason)
        self.readable = False
        self.pending.clear()
        for inbox in self.inboxes.values():
            inbox.reset = True

    # -- writing -------------------------------------------------------------
    def flush(self):
        data = self.conn.data_to_send()
        if data:
            self.sock.sendall(data)

    def send_head(self, stream_id, status_code, headers, end_stream):
        """The response head; written now only if it ends the stream (else with the body)."""
        self._check_open(stream_id)
        self.conn.send_response(stream_id, status_code, headers, end_stream=end_stream)
        if end_stream:
            self.flush()

    def send_informational(self, stream_id, status_code, headers):
        self._check_open(stream_id)
        self.conn.send_informational(stream_id, status_code, headers)
        self.flush()

    def send_body(self, stream_id, data):
        """Send ``data``; returns once all of it is on the wire (flow control permitting)."""
        self._check_open(stream_id)
        self.conn.send_data(stream_id, data)
        self.flush()
        self._wait_for_window(stream_id)

    def end_body(self, stream_id, trailers=None, data=b""):
        """End the response: the last ``data``, then trailers or END_STREAM."""
        self._check_open(stream_id)
        if data:
            self.conn.send_data(stream_id, data, end_stream=not trailers)
        if trailers or not data:
            self.conn.end_stream(stream_id, trailers)
        self.flush()
        self._wait_for_window(stream_id)

    def _wait_for_window(self, stream_id):
        # RFC 9113 section 6.9: what the window cannot take waits for WINDOW_UPDATE.
        while self.conn.queued_bytes(stream_id):
            self._check_open(stream_id)
            if not self.receive():
                raise StreamClosed(stream_id, "connection closed while waiting for window")

    def _check_open(self, stream_id):
        inbox = self.inboxes.get(stream_id)
        if inbox is None or inbox.reset or not self.readable:
            raise StreamClosed(stream_id)

    def acknowledge(self, stream_id, flow_length):
        self.conn.acknowledge(stream_id, flow_length)
        self.flush()

    def reset(self, stream_id, error_code):
        self.conn.reset_stream(stream_id, error_code)
        self.flush()

    # -- one stream ----------------------------------------------------------
    def _serve_stream(self, event):
        sid = event.stream_id
        inbox = self.inboxes.get(sid)
        if inbox is None or inbox.reset:
            return
        req = event.request
        if req.scheme is None:
            # As the HTTP/1 protocol does for hooks: the transport's scheme, or what
            # trusted secure-scheme headers say (a conflict is refused in handle()).
            try:
                req.scheme = self.served.environ.url_scheme(req.headers)
            except Exception:
                pass
        wire = StreamWire(self, sid, inbox, req)
        req.extra_environ[SEND_TRAILERS] = wire.set_trailers
        stream = copy.copy(self.served)
        stream.conn = wire
        stream.sock = wire.sock
        stream.body = None
        stream.closed = False
        stream.error_sent = False
        stream.keepalive = True
        try:
            stream.handle(req)
        finally:
            self._after_stream(sid, wire, inbox)

    def _after_stream(self, sid, wire, inbox):
        self.inboxes.pop(sid, None)
        if not self.readable or inbox.reset:
            return
        try:
            if not wire.ended or not self.conn.is_answered(sid):
                # The app failed mid-body or sent less than its Content-Length.
                self.conn.reset_stream(sid, INTERNAL_ERROR)
            elif not inbox.ended:
                # RFC 9113 section 8.1: a complete response may stop the upload.
                self.conn.reset_stream(sid, NO_ERROR)
            for piece in inbox.pieces:
                self.conn.acknowledge(sid, piece.flow_length)
            self.flush()
        except OSError as exc:
            self.log.debug("HTTP/2 connection ended: %s", exc)
            self.readable = False
