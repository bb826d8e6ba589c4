"""Parse bind addresses: ``host:port``, ``[v6]:port``, ``unix:PATH``, ``fd://N``."""

import re
import socket

_UNIX_PREFIX = re.compile(r"unix:(//)?")


def parse_address(netloc, default_port="8000"):
    """Return ``(host, port)`` for TCP, a path ``str`` for unix, an ``int`` for fd://.

    An empty string means every interface on the default port, as upstream.
    """
    unix = _UNIX_PREFIX.match(netloc)
    if unix:
        return netloc[unix.end():]

    if netloc.startswith("fd://"):
        fd = netloc[len("fd://"):]
        try:
            return int(fd)
        except ValueError:
            raise RuntimeError(f"{fd!r} is not a valid file descriptor.") from None

    if netloc.startswith("tcp://"):
        netloc = netloc[len("tcp://"):]

    if netloc == "":
        host, port = "0.0.0.0", default_port
    elif netloc.startswith("[") and "]" in netloc:
        # RFC 3986 section 3.2.2: an IPv6 literal is bracketed so its colons
        # are not read as the port separator.
        host, _, rest = netloc[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else default_port
    elif ":" in netloc:
        host, _, port = netloc.partition(":")
        port = port.split(":", 1)[0]
    else:
        host, port = netloc, default_port

    try:
        number = int(port)
    except (TypeError, ValueError):
        raise RuntimeError(f"{port!r} is not a valid port number.") from None
    # a TCP port is 16 bits (RFC 9293 section 3.1); a larger one would only
    # fail at bind() in the master, as an OverflowError traceback
    if not 0 <= number <= 65535:
        raise RuntimeError(f"{port!r} is not a valid port number.")
    return host.lower(), number


def is_ipv6(addr):
    """True when ``addr`` is a literal IPv6 address (no brackets, no port)."""
    try:
        socket.inet_pton(socket.AF_INET6, addr)
    except (OSError, ValueError, TypeError):
        return False
    return True
