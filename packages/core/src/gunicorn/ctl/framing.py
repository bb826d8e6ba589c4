"""Control-socket wire format: 4-byte big-endian length, then a UTF-8 JSON object.

Sans-I/O: ``encode_frame`` turns a message into bytes and ``FrameDecoder``
turns received bytes back into messages; neither touches a socket, so the
server (asyncio) and the client (blocking socket) share them.

Requests are ``{"id": N, "command": "show", "args": ["workers"]}``; replies
are ``{"id": N, "status": "ok", "data": {...}}`` or
``{"id": N, "status": "error", "error": "message"}``.
"""

import json
import shlex
import struct

HEADER = struct.Struct(">I")
MAX_MESSAGE = 16 * 1024 * 1024


class FramingError(Exception):
    """The peer sent bytes that are not a valid frame; the connection cannot go on."""


def encode_frame(message):
    """The frame carrying ``message`` (a dict)."""
    # json.dumps' default separators, as upstream puts them on the wire
    payload = json.dumps(message, default=str).encode("utf-8")
    if len(payload) > MAX_MESSAGE:
        raise FramingError(f"message of {len(payload)} bytes exceeds {MAX_MESSAGE}")
    return HEADER.pack(len(payload)) + payload


class FrameDecoder:
    """Feed received bytes; take out each complete message as a dict.

    After a ``FramingError`` the decoder refuses more input: the stream has
    lost its framing and the connection must close.
    """

    def __init__(self, max_message=MAX_MESSAGE):
        self.max_message = max_message
        self._buffer = bytearray()
        self._failed = False

    def feed(self, data):
        """Add ``data``; return the list of messages it completed (maybe empty)."""
        if self._failed:
            raise FramingError("decoder already failed")
        self._buffer += data
        messages = []
        while True:
            message = self._next()
            if message is None:
                return messages
            messages.append(message)

    @property
    def pending(self):
        """Bytes received that do not yet make a whole frame."""
        return len(self._buffer)

    def _next(self):
        if len(self._buffer) < HEADER.size:
            return None
        (length,) = HEADER.unpack_from(self._buffer)
        if length > self.max_message:
            self._failed = True
            raise FramingError(f"frame of {length} bytes exceeds {self.max_message}")
        end = HEADER.size + length
        if len(self._buffer) < end:
            return None
        payload = bytes(self._buffer[HEADER.size:end])
        del self._buffer[:end]
        try:
            message = json.loads(payload.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            self._failed = True
            raise FramingError(f"invalid JSON payload: {exc}") from None
        if not isinstance(message, dict):
            self._failed = True
            raise FramingError("payload is not a JSON object")
        return message


# -- message shapes -----------------------------------------------------------

def make_request(request_id, text):
    """The request for a command line such as ``"worker add 2"``.

    As upstream's client, the whole line goes in ``command`` (the server
    splits it shell-style) and ``args`` is empty; a line that does not split
    (an unclosed quote) raises ValueError here, before anything is sent.
    """
    shlex.split(text)
    return {"id": request_id, "command": text.strip(), "args": []}


def request_words(request):
    """The words of a request: its ``command`` (split shell-style) then its ``args``."""
    command = request.get("command")
    args = request.get("args") or []
    if not isinstance(command, str) or not isinstance(args, list):
        raise ValueError("malformed request: 'command' must be text and 'args' a list")
    return shlex.split(command) + [str(arg) for arg in args]


def ok_reply(request_id, data):
    return {"id": request_id, "status": "ok", "data": data}


def error_reply(request_id, message):
    return {"id": request_id, "status": "error", "error": message}
