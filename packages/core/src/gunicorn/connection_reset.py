"""``reset_on_close(sock)``: make closing a TCP connection send a reset, for responses cut short.

A response whose body is delimited by the close (HTTP/1.0 without a length,
uwsgi behind nginx) looks complete after a plain close (RFC 9112 section 8).
When the app fails part way, a reset is the only way left to tell the client,
or nginx, that the body broke off. A Unix socket has no reset: nothing changes there.
"""

import socket
import struct

# struct linger {l_onoff = 1, l_linger = 0}: close() drops unsent bytes and sends RST.
_LINGER_RESET = struct.pack("ii", 1, 0)


def reset_on_close(sock):
    """Arm ``sock`` (any object with ``setsockopt``) so that its close resets the connection."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RESET)
    except (OSError, AttributeError, ValueError):
        pass
