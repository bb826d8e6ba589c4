"""The blocking driver: one HTTP/2 connection on a socket, its streams run through core's WSGI adapter.

Used by the gthread worker and the greenlet workers: ``serve()`` runs
on an I/O thread of gthread (or the connection's greenlet), which does all of the connection's socket I/O, until the
connection is idle (True: hand the socket back to the poller, call ``serve()``
again once it is readable) or over (False: close it).  Each stream's request
runs on the worker's stream threads (``stream_runner``, ``--threads`` of them), through ``gunicorn.wsgi.serve.ServedConnection.handle``
with a ``StreamWire`` in place of the HTTP/1 connection, so environ, hooks,
access log and error pages are core's.

Threads: the I/O thread reads frames, feeds them to the ``HTTP2Connection``
and writes what it produces; stream threads only touch the connection under
``self.cond`` and wake the I/O thread (a socket pair) when they queued frames
or finished.  They wait on ``self.cond`` for body bytes and for window.
A greenlet worker passes ``spawn`` (each stream its own greenlet) instead of
the ``--threads`` runner; its monkey patching makes the locks and socket waits
here cooperative.
"""

import copy
import select
import socket
import threading
import time
from collections import deque

from gunicorn.http.events import ConnectionClosed, Data, EndOfMessage
from gunicorn.http2 import events as ev
from gunicorn.http2.connection import HTTP2Connection
from gunicorn.http2.errors import INTERNAL_ERROR, NO_ERROR, StreamClosed
from gunicorn.http2.stream_runner import stream_runner
from gunicorn.http2.stream_wire import StreamInbox, StreamWire
from gunicorn.http2.upgrade import SWITCHING, as_stream_one

RECV_SIZE = 65536
SEND_TRAILERS = "gunicorn.http2.send_trailers"
# A stream waiting for body bytes or for window gives up after this long when
# the worker timeout is disabled (as gthread's socket waits do).
IO_SECONDS = 30.0
# How often the I/O thread looks at the worker (TERM, max_requests) while busy.
CHECK_SECONDS = 1.0
# How long an answered stream may still deliver the rest of its request (a
# small body, trailers) before RST_STREAM(NO_ERROR) stops it.
STOP_GRACE = 0.25
_DONTWAIT = getattr(socket, "MSG_DONTWAIT", 0)
_READABLE = select.POLLIN | select.POLLPRI | select.POLLHUP | select.POLLERR


class BlockingHTTP2Server:
    """Serve one HTTP/2 connection with blocking socket calls; streams on their own threads."""

    def __init__(self, served, sock, tls=False, initial=b"", upgrade=None, spawn=None):
        self.served = served            # core's ServedConnection for this socket
        self.worker = served.worker
        self.log = served.log
        cfg = served.cfg
        self.sock = sock
        self.tls = tls
        self.conn = HTTP2Connection(cfg, served.addr, served.listener_name, tls)
        timeout = getattr(cfg, "timeout", 0) or 0
        self.io_seconds = float(timeout) if timeout > 0 else IO_SECONDS
        # spawn(fn, *args) runs a stream's application call concurrently.
        if spawn is None:
            runner = stream_runner(getattr(cfg, "threads", 1))
            spawn = runner.submit
            # One connection may hold at most half the worker's stream threads:
            # its streams stuck on a closed window (or a slow upload) must not
            # keep every other connection's streams waiting.
            self.stream_limit = max(1, runner.limit // 2)
        else:
            self.stream_limit = None    # a greenlet per stream: nothing shared to hog
        self.spawn = spawn
        self._initial = initial
        self._upgrade = upgrade          # (HTTP/1.1 request, HTTP2-Settings) of an h2c upgrade
        self.started = False
        self.cond = threading.Condition()
        # Guarded by cond:
        self.pending = deque()          # StreamRequest events not yet started
        self.inboxes = {}               # stream_id -> StreamInbox
        self.running = 0                # streams handed to the runner and not done
        self.readable = True            # False once the peer closed or the connection failed
        self.no_more_requests = False   # GOAWAY (either way): finish what we have
        self.stopping = {}              # answered stream_id -> when to stop its unfinished upload
        self.finished = False           # serve() returned False
        # I/O thread only:
        self._wake_r = self._wake_w = None
        self._poll = None

    # -- the pool thread's entry point ------------------------------------------
    def serve(self, keepalive=True):
        """Serve until idle: True to wait for more in the poller, False when finished."""
        try:
            if not self.started:
                self.started = True
                if self._upgrade is not None:
                    self._start_upgraded()
                    return self._run(keepalive)
                with self.cond:
                    self.conn.initiate()
                    if self._initial:
                        self._feed(self._initial)
                        self._initial = b""
                self._flush()
                if self.tls and not self.sock.pending():
                    # Right after the handshake the preface may not be here yet:
                    # wait for it in the poller, not on this thread.
                    return True
            # Called when bytes are waiting (the client's preface, at first).
            self._receive()
            return self._run(keepalive)
        except OSError as exc:
            self.log.debug("HTTP/2 connection ended: %s", exc)
            with self.cond:
                self.readable = False
                self._drop_all()
                self.cond.notify_all()
            return self._finish(say_goodbye=False, send=False)

    def _run(self, keepalive):
        cond = self.cond
        while True:
            wait = CHECK_SECONDS
            if self.stopping:
                due = self._stop_uploads()
                if due is not None:
                    wait = max(0.0, min(wait, due - time.monotonic()))
            self._start_streams()
            with cond:
                busy = self.running or self.pending or self.stopping
                if not self.worker.alive and not self.conn.goaway_sent:
                    # TERM or max_requests: no new streams; those received still run.
                    self.conn.start_shutdown()
                    self.no_more_requests = True
                    busy = True
                # Taken together with the check above: a stream that ends right
                # after it cannot leave its last frames behind.
                data = self.conn.data_to_send()
            if data:
                self.sock.sendall(data)
            if not self.readable:
                # The peer is gone (or we sent GOAWAY for its error): nothing to wait for.
                return self._finish(say_goodbye=False)
            if busy:
                self._wait_io(wait)
                continue
            if not self.readable or self.no_more_requests:
                return self._finish()
            if self.tls and self.sock.pending():
                self._receive()
                continue
            if not keepalive:
                with cond:
                    self.conn.start_shutdown()
                    self.no_more_requests = True
                continue
            return True

    def _start_upgraded(self):
        # RFC 7540 section 3.2: 101, then our SETTINGS; the HTTP/1.1 request
        # becomes stream 1, already complete, and is answered over HTTP/2.
        req, settings = self._upgrade
        self._upgrade = None
        self.sock.sendall(SWITCHING)
        with self.cond:
            self.conn.initiate_upgrade(settings)
            inbox = self.inboxes[1] = StreamInbox()
            inbox.ended = True
            self.pending.append(ev.StreamRequest(1, as_stream_one(req), True))
        self._flush()

    def _finish(self, say_goodbye=True, send=True):
        """Say GOAWAY (unless the peer is gone) and report the connection over.

        Stream threads still inside the app find their stream closed and end
        on their own; the pool thread is not held for them.
        """
        with self.cond:
            if say_goodbye and self.readable and not self.conn.goaway_sent:
                self.conn.start_shutdown()
            self.finished = True
            data = self.conn.data_to_send() if send else b""
            self._close_wake_when_done()
        if data:
            try:
                self.sock.sendall(data)
            except OSError:
                pass
        return False

    def goodbye(self):
        """GOAWAY without blocking, for a connection closed while idle (keep-alive expiry, stop)."""
        with self.cond:
            if not self.started or self.conn.goaway_sent:
                return
            self.conn.start_shutdown()
            data = self.conn.data_to_send()
            self.finished = True
            self._close_wake_when_done()
        try:
            if self.tls:
                self.sock.send(data)
            else:
                self.sock.send(data, _DONTWAIT)
        except (OSError, ValueError):
            pass

    # -- the I/O thread --------------------------------------------------------
    def _receive(self):
        """Read once (all of a TLS record) and act on the events."""
        data = self.sock.recv(RECV_SIZE)
        if data and self.tls:
            while self.sock.pending():
                more = self.sock.recv(RECV_SIZE)
                if not more:
                    break
                data += more
        with self.cond:
            self._feed(data)
            self.cond.notify_all()
        self._flush()

    def _stop_uploads(self):
        """RST_STREAM(NO_ERROR) for answered streams whose request is still coming (8.1).

        Not at once: what the peer sent before it could see the answer (the
        rest of a small body, trailers, a frame in error) is read and acted on
        for ``STOP_GRACE`` seconds, rather than met with STREAM_CLOSED on a
        stream just reset.  Returns when the next one is due (None: none left).
        """
        now = time.monotonic()
        with self.cond:
            for sid, due in list(self.stopping.items()):
                if not self.readable or not self.conn.receiving(sid):
                    del self.stopping[sid]
                elif due <= now:
                    del self.stopping[sid]
                    self.conn.reset_stream(sid, NO_ERROR)
            return min(self.stopping.values(), default=None)

    def _flush(self):
        with self.cond:
            data = self.conn.data_to_send()
        if data:
            self.sock.sendall(data)

    def _wait_io(self, timeout):
        """Wait for frames (read them) or for a stream thread's wake-up, up to ``timeout``."""
        if self.readable and self.tls and self.sock.pending():
            self._receive()
            return
        poll = self._poller()
        if poll is None:
            ready = self._select(timeout)
        else:
            ready = [fd for fd, _ in poll.poll(timeout * 1000.0)]
        for fd in ready:
            if fd == self._wake_r.fileno():
                try:
                    while self._wake_r.recv(4096):
                        pass
                except (BlockingIOError, InterruptedError):
                    pass
            elif self.readable:
                self._receive()
                if not self.readable and poll is not None:
                    poll.unregister(self.sock)

    def _poller(self):
        """The poll object (None where eventlet's monkey patching removed ``select.poll``)."""
        if self._wake_r is None:
            self._wake_r, self._wake_w = socket.socketpair()
            self._wake_r.setblocking(False)
            self._wake_w.setblocking(False)
            if not hasattr(select, "poll"):
                return None
            self._poll = select.poll()
            self._poll.register(self._wake_r, select.POLLIN)
            if self.readable:
                self._poll.register(self.sock, _READABLE)
        return self._poll

    def _select(self, timeout):
        # Green select (eventlet): no descriptor limit, it waits in the hub.
        fds = [self._wake_r.fileno()]
        if self.readable:
            fds.append(self.sock.fileno())
        return select.select(fds, [], [], timeout)[0]

    def _wake_io(self):
        wake = self._wake_w
        if wake is None:
            return
        try:
            wake.send(b"\0")
        except OSError:
            # Full (a wake-up is already pending) or closed (the connection is over).
            pass

    def _close_wake_when_done(self):
        # Called under cond: the wake-up pair lives until the last stream thread ends.
        if self.finished and self.running == 0 and self._wake_r is not None:
            self._wake_r.close()
            self._wake_w.close()

    def _start_streams(self):
        """Hand pending streams to the runner threads (up to ``stream_limit`` running)."""
        with self.cond:
            if not self.pending:
                return
            room = len(self.pending)
            if self.stream_limit is not None:
                room = min(room, self.stream_limit - self.running)
            if room <= 0:
                return
            started = [self.pending.popleft() for _ in range(room)]
            self.running += len(started)
        self._poller()
        for event in started:
            self._spawn_stream(event)

    # -- events (under cond) -----------------------------------------------------
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
        if self.pending:
            self.pending = deque(e for e in self.pending if e.stream_id != stream_id)

    def _ended(self, event):
        self.no_more_requests = True
        if not self.conn.ended:
            # The client's graceful GOAWAY: its open streams are still answered.
            return
        if not event.by_peer:
            self.log.debug("HTTP/2 protocol error from %s: %s", self.served.addr, event.reason)
        self.readable = False
        self._drop_all()

    def _drop_all(self):
        self.pending.clear()
        for inbox in self.inboxes.values():
            inbox.reset = True

    def _check_open(self, stream_id):
        inbox = self.inboxes.get(stream_id)
        if inbox is None or inbox.reset or not self.readable:
            raise StreamClosed(stream_id)

    # -- what a stream thread calls (through its StreamWire) --------------------
    def next_body_event(self, stream_id, inbox):
        """The next piece of a request body: ``Data``, ``EndOfMessage`` or ``ConnectionClosed``."""
        deadline = time.monotonic() + self.io_seconds
        with self.cond:
            while not inbox.pieces:
                if inbox.ended:
                    return EndOfMessage(inbox.trailers)
                if inbox.reset or not self.readable:
                    return ConnectionClosed()
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("no request body for %.0fs" % self.io_seconds)
                self.cond.wait(left)
            piece = inbox.pieces.pop(0)
            # Consumed: the peer may send that much more (RFC 9113 section 6.9).
            update = self.conn.acknowledge(stream_id, piece.flow_length)
        if update:
            self._wake_io()
        return Data(piece.data)

    def send_head(self, stream_id, status_code, headers, end_stream):
        with self.cond:
            self._check_open(stream_id)
            self.conn.send_response(stream_id, status_code, headers, end_stream=end_stream)
        if end_stream:
            self._wake_io()

    def send_informational(self, stream_id, status_code, headers):
        with self.cond:
            self._check_open(stream_id)
            self.conn.send_informational(stream_id, status_code, headers)
        self._wake_io()

    def send_body(self, stream_id, data):
        """Queue ``data``; returns once the flow-control window took all of it."""
        with self.cond:
            self._check_open(stream_id)
            self.conn.send_data(stream_id, data)
        self._wake_io()
        self._wait_for_window(stream_id)

    def end_body(self, stream_id, trailers=None, data=b""):
        """End the response: the last ``data``, then trailers or END_STREAM."""
        with self.cond:
            self._check_open(stream_id)
            if data:
                self.conn.send_data(stream_id, data, end_stream=not trailers)
            if trailers or not data:
                self.conn.end_stream(stream_id, trailers)
        self._wake_io()
        self._wait_for_window(stream_id)

    def _wait_for_window(self, stream_id):
        # RFC 9113 section 6.9: what the window cannot take waits for WINDOW_UPDATE.
        deadline = time.monotonic() + self.io_seconds
        with self.cond:
            while self.conn.queued_bytes(stream_id):
                self._check_open(stream_id)
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("flow-control window closed for %.0fs" % self.io_seconds)
                self.cond.wait(left)

    def reset(self, stream_id, error_code):
        with self.cond:
            self.conn.reset_stream(stream_id, error_code)
        self._wake_io()

    # -- one stream (on its own thread) ------------------------------------------
    def _stream_thread(self, event):
        try:
            self._serve_stream(event)
        except BaseException:
            # handle() answers app errors itself; this is the worker going away.
            try:
                self.log.exception("Error serving HTTP/2 stream %d", event.stream_id)
            except Exception:
                pass
        finally:
            with self.cond:
                self.running -= 1
                follow = self._take_pending()
                self.cond.notify_all()
                self._close_wake_when_done()
            self._wake_io()
            if follow is not None:
                self._spawn_stream(follow)

    def _take_pending(self):
        # Under cond, as a stream thread ends: the connection's next waiting stream
        # starts from here, without a round trip through the I/O thread (which
        # would leave this runner thread idle meanwhile).
        if not self.pending or self.finished:
            return None
        if self.stream_limit is not None and self.running >= self.stream_limit:
            return None
        self.running += 1
        return self.pending.popleft()

    def _spawn_stream(self, event):
        try:
            self.spawn(self._stream_thread, event)
        except RuntimeError:
            # The runner is shut down (the worker is exiting): the stream never runs.
            with self.cond:
                self.running -= 1
                self.cond.notify_all()
                self._close_wake_when_done()
            self._wake_io()

    def _serve_stream(self, event):
        sid = event.stream_id
        with self.cond:
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
        with self.cond:
            self.inboxes.pop(sid, None)
            if not self.readable or inbox.reset:
                return
            if not wire.ended or not self.conn.is_answered(sid):
                # The app failed mid-body or sent less than its Content-Length.
                self.conn.reset_stream(sid, INTERNAL_ERROR)
            elif not inbox.ended:
                # RFC 9113 section 8.1: a complete response may stop the upload
                # (the I/O thread does, once it has read what already came).
                self.stopping[sid] = time.monotonic() + STOP_GRACE
            for piece in inbox.pieces:
                self.conn.acknowledge(sid, piece.flow_length)
