"""HTTP/2 error codes (RFC 9113 section 7) and the exceptions the HTTP/2 layer raises."""

import errno

from h2.errors import ErrorCodes
from h2.exceptions import TooManyStreamsError
from hpack.exceptions import HPACKError, OversizedHeaderListError
from hyperframe.exceptions import InvalidDataError

NO_ERROR = ErrorCodes.NO_ERROR
PROTOCOL_ERROR = ErrorCodes.PROTOCOL_ERROR
INTERNAL_ERROR = ErrorCodes.INTERNAL_ERROR
FLOW_CONTROL_ERROR = ErrorCodes.FLOW_CONTROL_ERROR
FRAME_SIZE_ERROR = ErrorCodes.FRAME_SIZE_ERROR
REFUSED_STREAM = ErrorCodes.REFUSED_STREAM
CANCEL = ErrorCodes.CANCEL
ENHANCE_YOUR_CALM = ErrorCodes.ENHANCE_YOUR_CALM
COMPRESSION_ERROR = ErrorCodes.COMPRESSION_ERROR


class StreamClosed(ConnectionResetError):
    """A write to a stream the peer reset or that already ended.

    A ``ConnectionResetError`` (errno ECONNRESET), so blocking code that
    already treats a vanished HTTP/1 client as routine does the same here.
    """

    def __init__(self, stream_id, message="stream closed"):
        super().__init__(errno.ECONNRESET, "%s (stream %d)" % (message, stream_id))
        self.stream_id = stream_id


def goaway_code(exc):
    """The GOAWAY error code answering h2's ``ProtocolError`` ``exc``.

    h2 names flow-control and frame-size violations itself; a stream over
    MAX_CONCURRENT_STREAMS is answered with REFUSED_STREAM, as upstream does.
    """
    if isinstance(exc, TooManyStreamsError):
        return REFUSED_STREAM
    cause = exc.__cause__
    if isinstance(cause, HPACKError) and not isinstance(cause, OversizedHeaderListError):
        # RFC 9113 section 4.3: a field block that cannot be decoded (h2 says PROTOCOL_ERROR).
        return COMPRESSION_ERROR
    if isinstance(cause, InvalidDataError) and str(cause).startswith("SETTINGS ack"):
        # RFC 9113 section 6.5: a SETTINGS ACK with a payload is a FRAME_SIZE_ERROR
        # (hyperframe calls it invalid data, which h2 answers with PROTOCOL_ERROR).
        return FRAME_SIZE_ERROR
    code = getattr(exc, "error_code", None)
    return PROTOCOL_ERROR if code is None else code
