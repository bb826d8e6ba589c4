"""``ServerH2Connection``: h2's connection, with RFC 9113's stream errors kept to their stream.

h2 ends the whole connection for some errors RFC 9113 scopes to one stream.
This subclass answers them with RST_STREAM and goes on serving the others:

- a content-length that is not a number or disagrees with another one, a
  body longer or shorter than its content-length (also when trailers end
  it), and trailers without END_STREAM: malformed requests, stream errors of type PROTOCOL_ERROR
  (section 8.1.1);
- a HEADERS frame over our SETTINGS_MAX_CONCURRENT_STREAMS: a stream error
  of type REFUSED_STREAM (section 5.1.2), so a client that raced a lower
  limit keeps its other streams.

The request head checks themselves are ``request_head``'s (h2's inbound field
validation is off, as it can only fail the connection).  One rule goes the
other way: DATA on a stream both sides ended is a connection error of type
STREAM_CLOSED (section 5.1, "closed"), where h2 would only reset it.

Only h2's frame handlers are overridden; the helpers they use are h2's own.
"""

from h2.connection import AllowedStreamIDs, ConnectionInputs, H2Connection, _decode_headers
from h2.errors import ErrorCodes
from h2.exceptions import (
    InvalidBodyLengthError,
    ProtocolError,
    StreamClosedError,
    TooManyStreamsError,
)
from h2.stream import StreamInputs, StreamState
from hyperframe.frame import WindowUpdateFrame

# A stream whose peer may still send (our side may have ended already).
RECEIVING = (StreamState.OPEN, StreamState.HALF_CLOSED_LOCAL)


class LocalReset:
    """h2-level event: we reset ``stream_id`` with ``error_code`` while reading frames."""

    __slots__ = ("stream_id", "error_code")

    def __init__(self, stream_id, error_code):
        self.stream_id = stream_id
        self.error_code = error_code


class ServerH2Connection(H2Connection):
    """``H2Connection`` (server side) with section 8.1.1 and 5.1.2 errors as stream errors."""

    def _receive_headers_frame(self, frame):
        sid = frame.stream_id
        stream = self.streams.get(sid)
        if (stream is not None and stream.state_machine.state in RECEIVING
                and stream.state_machine.headers_received
                and ("END_STREAM" not in frame.flags or _body_short(stream))):
            # Trailers must end the stream (section 8.1), and the body they end
            # must be as long as its content-length (8.1.1): else malformed.
            _decode_headers(self.decoder, frame.data)   # the HPACK state stays in step
            self.state_machine.process_input(ConnectionInputs.RECV_HEADERS)
            return self._stream_error(sid, ErrorCodes.PROTOCOL_ERROR)
        try:
            return super()._receive_headers_frame(frame)
        except TooManyStreamsError:
            # Raised before anything changed: open the stream (ids and HPACK
            # state as if served), then refuse it.
            _decode_headers(self.decoder, frame.data)
            self.state_machine.process_input(ConnectionInputs.RECV_HEADERS)
            stream = self._begin_new_stream(sid, AllowedStreamIDs.ODD)
            stream.state_machine.process_input(StreamInputs.RECV_HEADERS)
            if "END_STREAM" in frame.flags:
                stream.state_machine.process_input(StreamInputs.RECV_END_STREAM)
            return self._stream_error(sid, ErrorCodes.REFUSED_STREAM)

    def _begin_new_stream(self, stream_id, allowed_ids):
        stream = super()._begin_new_stream(stream_id, allowed_ids)
        stream._initialize_content_length = _lenient_content_length(stream)
        return stream

    def _receive_data_frame(self, frame):
        sid = frame.stream_id
        if self._stream_is_closed_by_end(sid):
            # h2 turns this into a connection error of type STREAM_CLOSED.
            raise StreamClosedError(sid)
        try:
            return super()._receive_data_frame(frame)
        except InvalidBodyLengthError:
            # The frame was counted against both windows: give the connection's back.
            frames, events = self._stream_error(sid, ErrorCodes.PROTOCOL_ERROR)
            increment = self._inbound_flow_control_window_manager.process_bytes(
                frame.flow_controlled_length)
            if increment:
                update = WindowUpdateFrame(0)
                update.window_increment = increment
                frames.insert(0, update)
            return frames, events

    def _stream_error(self, stream_id, error_code):
        """RST_STREAM for ``stream_id`` while reading frames, and the event telling of it."""
        self.state_machine.process_input(ConnectionInputs.SEND_RST_STREAM)
        frames = self.streams[stream_id].reset_stream(error_code)
        return frames, [LocalReset(stream_id, error_code)]


def _body_short(stream):
    """Whether ``stream`` got fewer DATA bytes than its content-length announced.

    h2 checks the length on a DATA frame that ends the stream, not on trailers.
    """
    expected = stream._expected_content_length
    return expected is not None and expected != stream._actual_content_length


def _lenient_content_length(stream):
    """``stream``'s content-length setup, minus h2's connection error on a bad value.

    Such a request is refused by ``request_head`` (a stream error); h2 then
    checks no body length against it.
    """
    initialize = stream._initialize_content_length

    def lenient(headers):
        try:
            initialize(headers)
        except ProtocolError:
            stream._expected_content_length = None
    return lenient
