"""permessage-deflate (RFC 7692): negotiate the offer, compress and decompress messages."""

from __future__ import annotations

import zlib

from gunicorn.asgi.websocket_frames import (
    CLOSE_INVALID_PAYLOAD,
    CLOSE_TOO_BIG,
    WebSocketProtocolError,
)

# RFC 7692 section 7.2.1: every message ends with this, stripped on the wire.
_TAIL = b"\x00\x00\xff\xff"


class Inflater:
    def __init__(self, no_context_takeover: bool):
        self.no_context_takeover = no_context_takeover
        self._z = zlib.decompressobj(-15)

    def inflate(self, payload: bytes, fin: bool, room: int) -> bytes:
        """Decompress one frame of a message, producing at most ``room`` + 1 bytes."""
        data = payload + _TAIL if fin else payload
        try:
            # Bound the output so a small bomb cannot blow up memory (answered with 1009).
            out = self._z.decompress(data, max(room, 0) + 1)
        except zlib.error:
            raise WebSocketProtocolError(CLOSE_INVALID_PAYLOAD, "invalid compressed data")
        if self._z.unconsumed_tail:
            raise WebSocketProtocolError(CLOSE_TOO_BIG, "message exceeds the maximum message size")
        if fin and self.no_context_takeover:
            self._z = zlib.decompressobj(-15)
        return out


class Deflater:
    def __init__(self, window_bits: int, no_context_takeover: bool):
        self.window_bits = window_bits
        self.no_context_takeover = no_context_takeover
        self._z = self._new()

    def _new(self):
        return zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -self.window_bits)

    def deflate(self, payload: bytes) -> bytes:
        out = self._z.compress(payload) + self._z.flush(zlib.Z_SYNC_FLUSH)
        if out.endswith(_TAIL):
            out = out[:-4]
        if self.no_context_takeover:
            self._z = self._new()
        return out


def _params(offer: str):
    parts = [p.strip() for p in offer.split(";")]
    params = {}
    for part in parts[1:]:
        if not part:
            continue
        name, _, value = part.partition("=")
        name = name.strip().lower()
        if name in params:
            return parts[0].lower(), None
        params[name] = value.strip().strip('"') or None
    return parts[0].lower(), params


def negotiate(offers):
    """Accept the first acceptable permessage-deflate offer.

    Returns ``(response_header_value, Inflater, Deflater)`` or ``None``.
    """
    for offer in offers:
        name, params = _params(offer)
        if name != "permessage-deflate" or params is None:
            continue
        known = {"server_no_context_takeover", "client_no_context_takeover",
                 "server_max_window_bits", "client_max_window_bits"}
        if set(params) - known:
            continue
        response = ["permessage-deflate"]
        server_bits = 15
        if "server_max_window_bits" in params:
            value = params["server_max_window_bits"]
            if value is None or not value.isdigit() or not 8 <= int(value) <= 15:
                continue
            # zlib cannot make raw deflate with an 8-bit window: decline such offers.
            if int(value) == 8:
                continue
            server_bits = int(value)
            response.append(f"server_max_window_bits={server_bits}")
        server_nct = "server_no_context_takeover" in params
        if server_nct:
            response.append("server_no_context_takeover")
        client_nct = "client_no_context_takeover" in params
        if client_nct:
            response.append("client_no_context_takeover")
        # client_max_window_bits needs no answer: our inflater accepts any window.
        return "; ".join(response), Inflater(client_nct), Deflater(server_bits, server_nct)
    return None
