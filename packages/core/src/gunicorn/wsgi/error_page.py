"""The short error response sent when a request cannot be served normally.

It always closes the connection (the request stream may be out of sync) and
never carries a traceback: details go to the error log, not to the client.
"""

from http import HTTPStatus

from gunicorn.http.error_response import error_body


def reason_for(status_int):
    """The standard reason phrase of ``status_int`` ("Unknown" when unregistered)."""
    try:
        return HTTPStatus(status_int).phrase
    except ValueError:
        return "Unknown"


def render_error(status_int, reason, mesg):
    """The full HTTP/1.1 response (head and HTML body) as bytes."""
    reason = _one_line(reason) or reason_for(status_int)
    body = error_body(reason, mesg)
    head = (
        f"HTTP/1.1 {int(status_int)} {reason}\r\n"
        "Connection: close\r\n"
        "Content-Type: text/html; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\n"
        "\r\n"
    ).encode("latin-1", "replace")
    return head + body


def write_error(sock, status_int, reason, mesg):
    """Send an error page on ``sock`` (the upstream ``gunicorn.util.write_error``)."""
    sock.sendall(render_error(status_int, reason, mesg))


def _one_line(text):
    # A reason phrase must never split the status line (RFC 9112 section 4).
    return "".join(ch for ch in str(text or "") if ch >= " " and ch != "\x7f")
