"""Which response header names the WSGI application may not set (connection-level ones)."""

# RFC 9110 section 7.6.1 hop-by-hop fields, plus Server and Date, which the
# server writes itself (as upstream gunicorn treats them).
HOP_BY_HOP = frozenset((
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization",
    "te", "trailers", "transfer-encoding", "upgrade", "server", "date",
))


def is_hoppish(header):
    """True when ``header`` names a hop-by-hop field, ignoring case and surrounding spaces."""
    return header.lower().strip() in HOP_BY_HOP
