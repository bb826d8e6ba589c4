"""Sans-I/O HTTP/1.1: request parsing and response framing, no sockets or WSGI."""
