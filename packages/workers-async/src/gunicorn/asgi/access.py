"""What core's access logger and request hooks expect, built for an ASGI request."""

from __future__ import annotations

from http import HTTPStatus

# Status code -> reason phrase; looked up for every response, built once.
REASON_PHRASES = {status.value: status.phrase for status in HTTPStatus}
# "200 OK" status texts by code (access log, post_request), also built once.
_STATUS_TEXTS = {code: f"{code} {phrase}" for code, phrase in REASON_PHRASES.items()}


def reason_phrase(status: int) -> str:
    return REASON_PHRASES.get(status, "")


class ResponseSummary:
    """The ``resp`` argument of ``log.access`` and ``post_request``.

    ``status`` is the status line text (``"200 OK"``), ``headers`` a list of
    ``(str, str)``, ``sent`` the body bytes written, ``response_length`` the same.
    """

    def __init__(self):
        self.status_code = None
        self.status = None
        self.headers: list = []
        self.sent = 0

    def start(self, status_code: int, headers) -> None:
        self.status_code = status_code
        text = _STATUS_TEXTS.get(status_code)
        self.status = text if text is not None else str(status_code)
        self.headers = list(headers)

    @property
    def response_length(self) -> int:
        return self.sent


def request_environ(request, peer, sockname, scheme=None) -> dict:
    """A WSGI-shaped dict for the access-log atoms and hooks (not passed to the app)."""
    version = tuple(request.version)
    environ = {
        "REQUEST_METHOD": request.method,
        "RAW_URI": request.uri,
        "PATH_INFO": request.path,
        "QUERY_STRING": request.query or "",
        # Upstream's asgi worker logs HTTP/2 requests as "HTTP/2" (no minor version).
        "SERVER_PROTOCOL": (f"HTTP/{version[0]}.{version[1]}" if version[0] < 2
                            else f"HTTP/{version[0]}"),
        "wsgi.url_scheme": scheme or request.scheme or "http",
    }
    if isinstance(peer, tuple):
        environ["REMOTE_ADDR"] = str(peer[0])
        environ["REMOTE_PORT"] = str(peer[1])
    if isinstance(sockname, tuple):
        environ["SERVER_NAME"] = str(sockname[0])
        environ["SERVER_PORT"] = str(sockname[1])
    # PROXY protocol or uwsgi variables the protocol added (REMOTE_ADDR, PROXY_*).
    environ.update(getattr(request, "extra_environ", None) or {})
    if getattr(request, "environ_complete", False):
        # The protocol delivered the HTTP_* keys too (uwsgi vars): adding the
        # headers again would double every value ("curl/8,curl/8").
        return environ
    for name, value in request.headers:
        key = "HTTP_" + name.replace("-", "_")
        if name == "CONTENT-TYPE":
            key = "CONTENT_TYPE"
        elif name == "CONTENT-LENGTH":
            key = "CONTENT_LENGTH"
        if key in environ:
            environ[key] += "," + value
        else:
            environ[key] = value
    return environ
