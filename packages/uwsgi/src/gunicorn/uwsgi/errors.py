"""Errors raised while reading uwsgi packets; all are core ParseErrors so workers treat them alike."""

from __future__ import annotations

from gunicorn.http.errors import ParseError


class UWSGIParseException(ParseError):
    """Base of every uwsgi protocol error."""

    status_code = 400
    reason = "Bad Request"


class InvalidUWSGIHeader(UWSGIParseException):
    """The packet header or vars block is malformed or truncated."""

    def __init__(self, msg: str = ""):
        self.msg = msg
        super().__init__(f"Invalid uWSGI header: {msg}" if msg else "Invalid uWSGI header")


class UnsupportedModifier(UWSGIParseException):
    """modifier1 names a uwsgi request type other than WSGI (0, or 30: WSGI with PATH_INFO managed)."""

    status_code = 501
    reason = "Not Implemented"

    def __init__(self, modifier: int):
        self.modifier = modifier
        super().__init__(f"Unsupported uWSGI modifier1: {modifier}")


class ForbiddenUWSGIRequest(UWSGIParseException):
    """The peer is not in ``uwsgi_allow_ips``."""

    status_code = 403
    reason = "Forbidden"

    def __init__(self, host: str):
        self.host = host
        super().__init__(f"uWSGI request from {host!r} not allowed")
