"""How a ParseError is answered (a short HTML page, never a traceback) and logged."""

import html
import ssl

from gunicorn import SERVER
from gunicorn.http.dates import http_date


def error_body(reason, message=""):
    """The HTML page of an error response: its reason as title and heading, then the message.

    Both are escaped, and anything beyond ASCII is written as a character
    reference, so the page is plain ASCII whatever the message echoes.
    """
    title = html.escape(str(reason))
    page = (
        "<!DOCTYPE html>\n"
        f"<html><head><title>{title}</title></head>\n"
        f"<body><h1>{title}</h1>\n<p>{html.escape(str(message or ''))}</p>\n</body></html>\n"
    )
    return page.encode("ascii", "xmlcharrefreplace")


def render_error(status_code, reason, message=""):
    """Bytes of an HTTP/1.1 error response (an HTML page) that closes the connection.

    HTML as upstream's WSGI workers answer a malformed request, with the
    Server and Date fields every other response of ours carries.
    """
    body = error_body(reason, message)
    head = (
        "HTTP/1.1 %d %s\r\n"
        "Server: %s\r\n"
        "Date: %s\r\n"
        "Connection: close\r\n"
        "Content-Type: text/html; charset=utf-8\r\n"
        "Content-Length: %d\r\n"
        "\r\n" % (status_code, reason, SERVER, http_date(), len(body))
    ).encode("latin-1", "replace")
    return head + body


def render_parse_error(exc, method=None):
    """Bytes answering ``exc`` (a ParseError): its status, reason and a one-line message.

    The message is cut short and stripped of control characters: it may
    echo attacker-chosen bytes. For a HEAD request (``method``) only the head
    is returned: RFC 9110 section 9.3.2, a response to HEAD carries no content.
    """
    message = str(exc)[:200]
    message = "".join(ch if " " <= ch <= "~" else "?" for ch in message)
    page = render_error(exc.status_code, exc.reason, message)
    if method == "HEAD":
        page = page[:page.index(b"\r\n\r\n") + 4]
    return page


def log_parse_error(log, peer, exc):
    """Log a request refused as malformed, or a failed TLS handshake, as upstream does.

    "Invalid request from ip=...: ..." at warning level, whatever the status:
    a 500 from a setting the request ran into (``ConfigurationProblem``)
    included. ``peer`` is the client's address as accept() gave it.
    """
    log.warning("Invalid request from ip=%s: %s", peer_ip(peer), exc)


def log_tls_failure(log, peer, exc):
    """Log an ``ssl.SSLError`` from a client: a warning, unless the client just hung up."""
    if isinstance(exc, ssl.SSLEOFError) or exc.args and exc.args[0] == ssl.SSL_ERROR_EOF:
        log.debug("ssl connection closed")
    else:
        # e.g. plain HTTP sent to a TLS port: "[SSL: HTTP_REQUEST] http request"
        log_parse_error(log, peer, exc)


def peer_ip(peer):
    """The host part of a TCP peer address; a Unix-socket peer as it is."""
    return peer[0] if isinstance(peer, tuple) else peer
