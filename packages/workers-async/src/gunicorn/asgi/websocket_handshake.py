"""The server side of the WebSocket opening handshake (RFC 6455 section 4.2)."""

from __future__ import annotations

import base64
import binascii
import hashlib

# RFC 6455 section 1.3: the GUID appended to the client's key.
_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class HandshakeError(Exception):
    """An upgrade request we must refuse with ``status`` (and ``headers``)."""

    def __init__(self, status: int, message: str, headers=()):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = list(headers)


def _tokens(headers, name: str) -> list[str]:
    out = []
    for key, value in headers:
        if key == name:
            out.extend(t.strip().lower() for t in value.split(","))
    return [t for t in out if t]


def _values(headers, name: str) -> list[str]:
    return [value for key, value in headers if key == name]


def is_websocket_upgrade(headers) -> bool:
    """Whether a request asks to switch to WebSocket (``Upgrade: websocket``)."""
    for key, _value in headers:
        if key == "UPGRADE":  # rare: only then split the field's tokens
            return "websocket" in _tokens(headers, "UPGRADE")
    return False


def accept_value(key: str) -> str:
    digest = hashlib.sha1(key.encode("ascii") + _GUID).digest()
    return base64.b64encode(digest).decode("ascii")


def validate(request) -> str:
    """Check an upgrade request (RFC 6455 section 4.2.1); return its key.

    ``request`` is core's ``Request`` event: upper-case header names, str values.
    """
    headers = request.headers
    if request.method != "GET":
        raise HandshakeError(400, "WebSocket upgrade needs GET")
    if tuple(request.version) < (1, 1):
        raise HandshakeError(400, "WebSocket upgrade needs HTTP/1.1")
    if "upgrade" not in _tokens(headers, "CONNECTION"):
        raise HandshakeError(400, "missing Connection: Upgrade")
    versions = _values(headers, "SEC-WEBSOCKET-VERSION")
    if [v.strip() for v in versions] != ["13"]:
        # Section 4.4: answer with the versions we do speak.
        raise HandshakeError(426, "unsupported WebSocket version",
                             [("Sec-WebSocket-Version", "13")])
    keys = _values(headers, "SEC-WEBSOCKET-KEY")
    if len(keys) != 1:
        raise HandshakeError(400, "missing Sec-WebSocket-Key")
    key = keys[0].strip()
    try:
        raw = base64.b64decode(key.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raw = b""
    if len(raw) != 16:
        raise HandshakeError(400, "invalid Sec-WebSocket-Key")
    return key


def requested_subprotocols(headers) -> list[str]:
    out = []
    for value in _values(headers, "SEC-WEBSOCKET-PROTOCOL"):
        out.extend(p.strip() for p in value.split(",") if p.strip())
    return out


def extension_offers(headers) -> list[str]:
    out = []
    for value in _values(headers, "SEC-WEBSOCKET-EXTENSIONS"):
        out.extend(p.strip() for p in value.split(",") if p.strip())
    return out


def accept_response(key: str, subprotocol=None, extension=None, extra_headers=(),
                    server_header=None) -> bytes:
    """The ``101 Switching Protocols`` head (section 4.2.2, step 5)."""
    lines = [
        b"HTTP/1.1 101 Switching Protocols",
        b"Upgrade: websocket",
        b"Connection: Upgrade",
        b"Sec-WebSocket-Accept: " + accept_value(key).encode("ascii"),
    ]
    if server_header:
        lines.append(b"Server: " + server_header.encode("latin-1"))
    if subprotocol:
        lines.append(b"Sec-WebSocket-Protocol: " + subprotocol.encode("latin-1"))
    if extension:
        lines.append(b"Sec-WebSocket-Extensions: " + extension.encode("latin-1"))
    skip = {b"upgrade", b"connection", b"sec-websocket-accept", b"sec-websocket-protocol",
            b"sec-websocket-extensions"}
    for name, value in extra_headers:
        name = bytes(name)
        if name.lower() in skip:
            continue
        # Refuse header injection from the application.
        if b"\r" in name or b"\n" in name or b"\r" in value or b"\n" in value:
            raise ValueError("invalid character in a header")
        lines.append(name + b": " + bytes(value))
    return b"\r\n".join(lines) + b"\r\n\r\n"
