"""``HTTP2Connection``: the server side of one HTTP/2 connection, without I/O.

Feed it bytes with ``receive_data(data)`` (``b""`` when the peer closed) and
get a list of events (``gunicorn.http2.events``); write what
``data_to_send()`` returns.  Responses go in with ``send_response``,
``send_data`` and ``end_stream``.  Body bytes that do not fit the peer's
flow-control window wait in the connection and leave with a later
``data_to_send()`` once a WINDOW_UPDATE arrives (``queued_bytes(stream_id)``
tells how much still waits).

Stream life as the driver sees it:
    StreamRequest -> [StreamData...] -> StreamEnded       (the request)
    send_response -> [send_data...] -> end_stream          (the answer)
    StreamReset at any time: the peer gave up on the stream; writes then
    raise ``StreamClosed``.
``ConnectionEnded`` is the last event, except after the peer's graceful GOAWAY
(``ConnectionEnded(NO_ERROR, by_peer=True)``, ``goaway_received`` set): the
streams it opened go on until they end or the peer closes.  Protocol errors are answered
with GOAWAY carrying the RFC 9113 section 7 code (FLOW_CONTROL_ERROR,
FRAME_SIZE_ERROR, REFUSED_STREAM when over MAX_CONCURRENT_STREAMS, else
PROTOCOL_ERROR) and reported as ``ConnectionEnded(code, by_peer=False)``; so is
a peer over a ``flood_limits`` budget (in-progress streams cancelled, or
frames that only cost work: ENHANCE_YOUR_CALM).
"""

import h2.events
from h2.connection import ConnectionInputs, ConnectionState
from h2.exceptions import ProtocolError, StreamClosedError
from h2.settings import SettingCodes
from hyperframe.frame import GoAwayFrame

from gunicorn.http2 import events as ev
from gunicorn.http2.errors import (
    CANCEL,
    ENHANCE_YOUR_CALM,
    NO_ERROR,
    PROTOCOL_ERROR,
    REFUSED_STREAM,
    StreamClosed,
    goaway_code,
)
from gunicorn.http2.flood_limits import control_budget, reset_budget
from gunicorn.http2.local_settings import (
    DEFAULT_WINDOW,
    apply_settings,
    server_configuration,
    settings_frame,
)
from gunicorn.http2.outbound import OutboundStream
from gunicorn.http2.request_head import (
    DEFAULT_WEIGHT,
    MalformedRequest,
    build_request,
    trailer_fields,
)
from gunicorn.http2.response_head import response_block, trailer_block
from gunicorn.http2.stream_errors import RECEIVING, LocalReset, ServerH2Connection

# A GOAWAY frame without debug data: 9-byte frame header + 8-byte payload.
_GOAWAY_LENGTH = 17
_GOAWAY_TYPE = 0x07
# ConnectionEnded.reason of a graceful GOAWAY from the peer (streams still answered).
PEER_GOAWAY = "peer sent GOAWAY"
# PRIORITY frames remembered for streams not opened yet.
_PRIORITIES_KEPT = 100


def _answer_after_peer_goaway(conn):
    """Keep h2 open when the peer sends GOAWAY: h2 would refuse every frame after it.

    A GOAWAY ends new streams, not the ones already opened (RFC 9113 section
    6.8); which GOAWAYs end the connection is decided in ``_translate``.
    """
    machine = conn.state_machine
    table = getattr(machine, "_transitions", None)
    if not isinstance(table, dict):
        return
    table = dict(table)
    for state in (ConnectionState.IDLE, ConnectionState.CLIENT_OPEN, ConnectionState.SERVER_OPEN):
        table[(state, ConnectionInputs.RECV_GOAWAY)] = (None, state)
    machine._transitions = table


class HTTP2Connection:
    """One HTTP/2 connection, server side (RFC 9113), over ``h2.connection.H2Connection``."""

    def __init__(self, cfg, peer_addr=None, server_addr=None, is_ssl=False):
        self.cfg = cfg
        self.peer_addr = peer_addr
        self.server_addr = server_addr
        self.is_ssl = bool(is_ssl)
        self._h2 = ServerH2Connection(config=server_configuration())
        _answer_after_peer_goaway(self._h2)
        self.settings = apply_settings(self._h2, cfg)
        self._out = bytearray()
        self._outbound = {}         # stream_id -> OutboundStream (response not yet all out)
        self._active = set()        # streams with a request we reported and not yet answered
        self._trailers = {}         # stream_id -> request trailers seen before END_STREAM
        self._priorities = {}       # stream_id -> (weight, depends_on)
        self.requests = 0           # request heads reported so far
        self.last_stream_id = 0     # highest stream id we reported
        self.goaway_sent = False    # no new streams accepted (graceful or error)
        self.goaway_received = False  # the peer said GOAWAY(NO_ERROR): it opens no more streams
        self.ended = False          # ConnectionEnded was reported: nothing more will come
        self.error_code = None      # code of the GOAWAY we sent for an error, if any
        self._resets = reset_budget()     # peer cancels of streams the app works on
        self._control = control_budget()  # PING, SETTINGS, PRIORITY, empty DATA
        # Flow-control credit not yet returned in a WINDOW_UPDATE (RFC 9113 section 6.9):
        # the connection's as bytes arrive, each stream's as the app consumes them.
        window = self.settings[SettingCodes.INITIAL_WINDOW_SIZE]
        self._conn_credit = 0
        self._conn_threshold = max(DEFAULT_WINDOW, window) // 2
        self._stream_credit = {}
        self._stream_threshold = max(1, window // 2)

    # -- starting -----------------------------------------------------------
    def initiate(self):
        """Queue our SETTINGS (the server connection preface, RFC 9113 section 3.4)."""
        self._h2.initiate_connection()
        # h2's frame would carry a pending (smaller) window as its current value.
        self._h2.data_to_send()
        self._out += settings_frame(self._h2, self.settings)
        self._open_connection_window()

    def initiate_upgrade(self, settings_header):
        """Start after an HTTP/1.1 ``Upgrade: h2c`` (RFC 7540 section 3.2).

        ``settings_header`` is the request's HTTP2-Settings value (bytes);
        stream 1 then carries the upgraded request, whose answer goes out with
        ``send_response(1, ...)``.  The caller reports that request itself.
        """
        self._h2.initiate_upgrade_connection(settings_header)
        self._h2.data_to_send()
        self._out += settings_frame(self._h2, self.settings)
        self._open_connection_window()
        self._active.add(1)
        self.last_stream_id = 1
        self.requests += 1

    def _open_connection_window(self):
        # A larger advertised stream window is useless while the connection's
        # own stays at 65535: open it to match (RFC 9113 section 6.9.2).
        extra = self.settings[SettingCodes.INITIAL_WINDOW_SIZE] - DEFAULT_WINDOW
        if extra > 0:
            self._h2.increment_flow_control_window(extra)

    # -- receiving ----------------------------------------------------------
    def receive_data(self, data):
        """Feed bytes from the peer; returns the list of events they complete."""
        if self.ended:
            return []
        if not data:
            self.ended = True
            return [ev.ConnectionEnded(NO_ERROR, by_peer=True, reason="peer closed")]
        # h2 drops frames it has not handed out when a GOAWAY arrives: take them first.
        self._out += self._h2.data_to_send()
        try:
            h2_events = self._h2.receive_data(data)
        except ProtocolError as exc:
            return [self._protocol_error(exc)]
        out = []
        for event in h2_events:
            self._translate(event, out)
            if self.ended:
                break
        return out

    def _protocol_error(self, exc):
        # h2 already queued GOAWAY with its own code; correct the code where
        # ours differs (too many streams: REFUSED_STREAM).
        code = goaway_code(exc)
        pending = bytearray(self._h2.data_to_send())
        if len(pending) >= _GOAWAY_LENGTH and pending[-_GOAWAY_LENGTH + 3] == _GOAWAY_TYPE:
            pending[-4:] = int(code).to_bytes(4, "big")
        else:
            pending += self._goaway_frame(code, self.last_stream_id)
        self._out += pending
        self._outbound.clear()
        self.goaway_sent = True
        self.ended = True
        self.error_code = code
        return ev.ConnectionEnded(code, by_peer=False, last_stream_id=self.last_stream_id,
                                  reason=str(exc))

    def _calm_down(self, reason):
        # RFC 9113 section 10.5: a peer costing us work for nothing is told
        # ENHANCE_YOUR_CALM, as for a header list over its limit.
        self.close(ENHANCE_YOUR_CALM)
        self.error_code = ENHANCE_YOUR_CALM
        return ev.ConnectionEnded(ENHANCE_YOUR_CALM, by_peer=False,
                                  last_stream_id=self.last_stream_id, reason=reason)

    def _translate(self, event, out):
        kind = type(event)
        if kind is h2.events.RequestReceived:
            self._on_request(event, out)
        elif kind is h2.events.DataReceived:
            sid = event.stream_id
            if not event.data and event.stream_ended is None and not self._control.spend():
                out.append(self._calm_down("too many empty DATA frames"))
                return
            # The connection window is returned on receipt, so that one stream's
            # unread body never stalls the others; each stream's own window
            # (returned by acknowledge()) bounds what we hold for it.
            self._credit_connection(event.flow_controlled_length)
            if sid in self._active:
                out.append(ev.StreamData(sid, event.data, event.flow_controlled_length))
        elif kind is h2.events.TrailersReceived:
            sid = event.stream_id
            try:
                self._trailers[sid] = trailer_fields(event.headers)
            except MalformedRequest:
                # RFC 9113 section 8.1.1: a malformed request is a stream error.
                self._malformed(sid, out)
        elif kind is h2.events.StreamEnded:
            sid = event.stream_id
            trailers = self._trailers.pop(sid, None)
            if sid in self._active:
                out.append(ev.StreamEnded(sid, trailers))
        elif kind is h2.events.StreamReset:
            if self._forget_reset_stream(event, out) and not self._resets.spend():
                out.append(self._calm_down("too many streams reset (rapid reset)"))
        elif kind is LocalReset:
            # Our stream error while h2 read frames (stream_errors): not the peer's cancel.
            self._forget_reset_stream(event, out)
            self._spend_stream_error(out)
        elif kind is h2.events.WindowUpdated:
            self._pump()
        elif kind is h2.events.RemoteSettingsChanged:
            if not self._control.spend():
                out.append(self._calm_down("too many SETTINGS frames"))
                return
            self._pump()
        elif kind is h2.events.PingReceived or kind is h2.events.PingAckReceived:
            if not self._control.spend():
                out.append(self._calm_down("too many PING frames"))
        elif kind is h2.events.PriorityUpdated:
            if not self._control.spend():
                out.append(self._calm_down("too many PRIORITY frames"))
            elif event.stream_id > self.last_stream_id and len(self._priorities) < _PRIORITIES_KEPT:
                # Kept for a stream still to open; bounded, as ids are the peer's choice.
                self._priorities[event.stream_id] = (event.weight, event.depends_on)
        elif kind is h2.events.ConnectionTerminated:
            if event.error_code == NO_ERROR:
                # RFC 9113 section 6.8: a graceful GOAWAY; the streams the peer
                # already opened are still answered and it may still send on them.
                if not self.goaway_received:
                    self.goaway_received = True
                    out.append(ev.ConnectionEnded(NO_ERROR, by_peer=True,
                                                  last_stream_id=event.last_stream_id,
                                                  reason=PEER_GOAWAY))
                return
            self.ended = True
            out.append(ev.ConnectionEnded(event.error_code, by_peer=True,
                                          last_stream_id=event.last_stream_id,
                                          reason="peer sent GOAWAY"))

    def _on_request(self, event, out):
        sid = event.stream_id
        if self.goaway_sent or self.goaway_received:
            # RFC 9113 section 6.8: streams after a GOAWAY are not processed.
            self._reset(sid, REFUSED_STREAM)
            return
        weight, depends_on = self._priorities.pop(sid, (DEFAULT_WEIGHT, 0))
        if event.priority_updated is not None:
            weight = event.priority_updated.weight
            depends_on = event.priority_updated.depends_on
        try:
            request = build_request(event.headers, self.peer_addr, self.is_ssl,
                                    self.requests + 1, weight, depends_on)
        except MalformedRequest:
            # RFC 9113 section 8.1.1: a malformed request is a stream error.
            self._reset(sid, PROTOCOL_ERROR)
            self._spend_stream_error(out)
            return
        ended = event.stream_ended is not None
        if ended and request.content_length:
            # No DATA can follow to make up the declared length (section 8.1.1).
            self._reset(sid, PROTOCOL_ERROR)
            self._spend_stream_error(out)
            return
        # A body of unknown length follows (DATA frames until END_STREAM): what
        # "chunked" tells core's wsgi.input (and 100-continue) for HTTP/1.1.
        request.chunked = not ended and request.content_length is None
        self.requests += 1
        self.last_stream_id = max(self.last_stream_id, sid)
        self._active.add(sid)
        out.append(ev.StreamRequest(sid, request, ended))

    def _malformed(self, sid, out):
        """Reset ``sid`` with PROTOCOL_ERROR; the driver hears of it if the app has it."""
        self._trailers.pop(sid, None)
        active = sid in self._active
        self._finished(sid)
        self._reset(sid, PROTOCOL_ERROR)
        if active:
            out.append(ev.StreamReset(sid, PROTOCOL_ERROR))
        self._spend_stream_error(out)

    def _forget_reset_stream(self, event, out):
        """Drop a reset stream's state; True (and a StreamReset event) if the app had it."""
        sid = event.stream_id
        self._outbound.pop(sid, None)
        self._trailers.pop(sid, None)
        self._stream_credit.pop(sid, None)
        if sid not in self._active:
            return False
        self._active.discard(sid)
        out.append(ev.StreamReset(sid, event.error_code))
        return True

    def _spend_stream_error(self, out):
        # A stream we refuse or find malformed costs work and serves nothing: on
        # the budget of the other such frames, so it cannot be repeated for free.
        if not self.ended and not self._control.spend():
            out.append(self._calm_down("too many malformed or refused streams"))

    # -- sending ------------------------------------------------------------
    def data_to_send(self):
        """Bytes to write to the peer now (may be empty)."""
        pending = self._h2.data_to_send()
        if self._out:
            pending = bytes(self._out) + pending
            self._out.clear()
        return pending

    def send_response(self, stream_id, status_code, headers, end_stream=False):
        """The final response head (headers: (str, str) pairs); ``end_stream`` for no body."""
        self._send_headers(stream_id, response_block(status_code, headers), end_stream)
        if end_stream:
            self._active.discard(stream_id)

    def send_informational(self, stream_id, status_code, headers=()):
        """A 1xx head (100 Continue, 103 Early Hints) before the final response."""
        self._send_headers(stream_id, response_block(status_code, headers), False)

    def _send_headers(self, stream_id, block, end_stream):
        try:
            self._h2.send_headers(stream_id, block, end_stream=end_stream)
        except (StreamClosedError, KeyError) as exc:
            raise StreamClosed(stream_id) from exc
        except ProtocolError as exc:
            # Our own out-of-order call on a stream h2 considers finished.
            raise StreamClosed(stream_id, str(exc)) from exc

    def send_data(self, stream_id, data, end_stream=False):
        """Queue body bytes; what the flow-control window allows is framed at once."""
        if stream_id not in self._active:
            raise StreamClosed(stream_id)
        out = self._outbound.get(stream_id)
        if out is None:
            out = self._outbound[stream_id] = OutboundStream()
        out.add(data)
        if end_stream:
            out.end = True
        self._pump(stream_id)

    def end_stream(self, stream_id, trailers=None):
        """End the response, after any queued body, with ``trailers`` if given."""
        if stream_id not in self._active:
            raise StreamClosed(stream_id)
        out = self._outbound.get(stream_id)
        if out is None:
            out = self._outbound[stream_id] = OutboundStream()
        out.end = True
        if trailers:
            # Fields trailer_block drops may leave nothing: then END_STREAM goes on
            # DATA, as an empty trailer HEADERS frame fails the response in nghttp2.
            out.trailers = trailer_block(trailers) or None
        self._pump(stream_id)

    def queued_bytes(self, stream_id):
        """Body bytes of ``stream_id`` still waiting for flow-control window."""
        out = self._outbound.get(stream_id)
        return 0 if out is None else out.size

    def receiving(self, stream_id):
        """Whether the peer may still send on ``stream_id`` (its END_STREAM not seen)."""
        stream = self._h2.streams.get(stream_id)
        return stream is not None and not self.ended and stream.state_machine.state in RECEIVING

    def is_answered(self, stream_id):
        """Whether the whole response of ``stream_id`` (END_STREAM included) left the queue."""
        return stream_id not in self._active

    def _pump(self, only=None):
        """Frame queued body bytes as far as the windows allow (RFC 9113 section 6.9)."""
        conn = self._h2
        for sid in ([only] if only is not None else list(self._outbound)):
            out = self._outbound.get(sid)
            if out is None:
                continue
            try:
                while out.chunks:
                    window = conn.local_flow_control_window(sid)
                    if window <= 0:
                        break
                    piece = out.take(min(window, conn.max_outbound_frame_size))
                    last = out.end and not out.chunks and out.trailers is None
                    conn.send_data(sid, piece, end_stream=last)
                    if last:
                        self._finished(sid)
                        break
                else:
                    if out.end:
                        if out.trailers is not None:
                            conn.send_headers(sid, out.trailers, end_stream=True)
                        else:
                            conn.end_stream(sid)
                        self._finished(sid)
            except (StreamClosedError, KeyError):
                self._finished(sid)
            except ProtocolError:
                # The stream can no longer take frames (e.g. reset meanwhile).
                self._finished(sid)

    def _finished(self, sid):
        self._outbound.pop(sid, None)
        self._active.discard(sid)
        self._stream_credit.pop(sid, None)

    def acknowledge(self, stream_id, flow_length):
        """The app consumed ``flow_length`` bytes of ``stream_id``'s body: reopen its window.

        WINDOW_UPDATE goes out once half a window is owed (fewer, larger updates);
        returns whether one was queued (``data_to_send()`` has bytes for the peer).
        """
        if flow_length <= 0 or self.ended or stream_id not in self._active:
            # Answered or reset: nothing more is read from it (and no credit is kept).
            return False
        credit = self._stream_credit.get(stream_id, 0) + flow_length
        if credit < self._stream_threshold:
            self._stream_credit[stream_id] = credit
            return False
        self._stream_credit.pop(stream_id, None)
        try:
            self._h2.increment_flow_control_window(credit, stream_id=stream_id)
        except (ProtocolError, KeyError):
            # The stream closed meanwhile: nothing to reopen.
            return False
        return True

    def _credit_connection(self, flow_length):
        credit = self._conn_credit + flow_length
        if credit < self._conn_threshold:
            self._conn_credit = credit
            return
        self._conn_credit = 0
        self._h2.increment_flow_control_window(credit)

    def reset_stream(self, stream_id, error_code=CANCEL):
        """Abandon a stream (RST_STREAM), e.g. when the app failed after its head went out."""
        self._finished(stream_id)
        self._reset(stream_id, error_code)

    def _reset(self, stream_id, error_code):
        try:
            self._h2.reset_stream(stream_id, error_code)
        except (ProtocolError, KeyError):
            pass

    # -- ending -------------------------------------------------------------
    def start_shutdown(self):
        """Graceful GOAWAY(NO_ERROR): streams already reported are still answered."""
        if self.goaway_sent:
            return
        self.goaway_sent = True
        self._out += self._h2.data_to_send()
        self._out += self._goaway_frame(NO_ERROR, self.last_stream_id)

    def close(self, error_code=NO_ERROR):
        """GOAWAY with ``error_code`` (our own error); nothing more will be sent after it."""
        if not self.goaway_sent:
            self._out += self._h2.data_to_send()
            self._out += self._goaway_frame(error_code, self.last_stream_id)
        self.goaway_sent = True
        self.ended = True
        self._outbound.clear()
        self._active.clear()

    @staticmethod
    def _goaway_frame(error_code, last_stream_id):
        frame = GoAwayFrame(0)
        frame.last_stream_id = last_stream_id
        frame.error_code = int(error_code)
        return frame.serialize()

    @property
    def active_streams(self):
        """Streams whose request we reported and whose response is not all out."""
        return len(self._active)
