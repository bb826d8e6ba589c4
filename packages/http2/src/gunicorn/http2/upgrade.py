"""HTTP/1.1 ``Upgrade: h2c`` (RFC 7540 section 3.2): which requests may switch, and the 101."""

import base64
import binascii

from gunicorn.http2.request_head import (
    DEFAULT_WEIGHT,
    HTTP_VERSION,
    PRIORITY_DEPENDS_ON,
    PRIORITY_WEIGHT,
    VERSION,
)

SWITCHING = b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n"
# Fields of the HTTP/1.1 request that were about the upgrade, not the request.
_UPGRADE_FIELDS = frozenset(("CONNECTION", "UPGRADE", "HTTP2-SETTINGS", "KEEP-ALIVE",
                             "PROXY-CONNECTION", "TE", "TRANSFER-ENCODING"))


def upgrade_settings(req):
    """The decoded-able HTTP2-Settings value (bytes) when ``req`` asks for h2c, else None.

    Only a request without a body switches: the body of one that has one
    would have to be read as HTTP/1.1 first; such requests are simply served
    as HTTP/1.1, which the RFC allows.
    """
    upgrade = settings = None
    for name, value in req.headers:
        if name == "UPGRADE":
            upgrade = value
        elif name == "HTTP2-SETTINGS":
            if settings is not None:
                return None
            settings = value
    if upgrade is None or settings is None:
        return None
    if "h2c" not in [token.strip().lower() for token in upgrade.split(",")]:
        return None
    if getattr(req, "chunked", False) or getattr(req, "content_length", None):
        return None
    raw = settings.strip().encode("latin-1")
    # token68 may come without its padding (RFC 7540 section 3.2.1).
    raw += b"=" * (-len(raw) % 4)
    try:
        payload = base64.b64decode(raw, altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        return None
    if len(payload) % 6:
        # A SETTINGS payload is a list of 6-byte entries.
        return None
    return raw


def as_stream_one(req):
    """The HTTP/1.1 request, retold as the HTTP/2 request of stream 1."""
    req.version = VERSION
    req.headers = [(n, v) for n, v in req.headers if n not in _UPGRADE_FIELDS]
    req.extra_environ.setdefault(PRIORITY_WEIGHT, DEFAULT_WEIGHT)
    req.extra_environ.setdefault(PRIORITY_DEPENDS_ON, 0)
    req.extra_environ[HTTP_VERSION] = "2"
    return req
