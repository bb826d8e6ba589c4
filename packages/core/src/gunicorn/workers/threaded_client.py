"""One connection of the threaded worker: its socket, protocol state and deadline."""

import functools
import socket
import struct

# A fresh connection gets at least this long to send its first byte.
FIRST_BYTE_SECONDS = 5.0
# Once a request head has started, it must be complete within this long
# (when the worker timeout is disabled).
HEAD_SECONDS = 30.0
# Socket timeout of a pool thread reading a body or writing a response
# (when the worker timeout is disabled).
IO_SECONDS = 30.0

# Where the kernel can bound a blocking socket's waits and a single read can
# be made non-blocking, plain sockets need no Python-level timeout.
KERNEL_TIMEOUTS = bool(getattr(socket, "MSG_DONTWAIT", 0)) \
    and hasattr(socket, "SO_RCVTIMEO") and hasattr(socket, "SO_SNDTIMEO")


@functools.lru_cache(maxsize=8)
def _timeval(seconds):
    # A worker uses one or two values for every connection: packed once each.
    return struct.pack("ll", int(seconds), int((seconds % 1) * 1e6))


def bound_socket_waits(sock, seconds):
    """Bound each wait of a pool thread on ``sock`` to ``seconds``.

    With kernel timeouts the socket stays blocking, so a pool thread's recv
    or send is one system call (a Python timeout adds a poll() to each) and
    a timeout surfaces as EAGAIN; otherwise a Python socket timeout is used.
    """
    if KERNEL_TIMEOUTS:
        timeval = _timeval(seconds)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, timeval)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, timeval)
    else:
        sock.settimeout(seconds)


class ThreadedClient:
    """One accepted connection; owned by the main thread or by one pool thread at a time."""

    __slots__ = ("fd", "sock", "served", "proto", "wire", "req", "deadline",
                 "head_started", "tls", "handshaking", "closed", "registered", "h2")

    def __init__(self, fd, sock, served, tls=False):
        self.fd = fd
        self.sock = sock
        self.served = served
        self.wire = served.conn
        self.proto = served.conn.proto
        self.req = None
        self.deadline = 0.0
        self.head_started = False
        self.tls = tls
        self.handshaking = tls
        self.closed = False
        # In the poller yet: a client whose request came with its connection
        # and that closes after the answer never needs a registration.
        self.registered = False
        # HTTP/2: None until known, False for HTTP/1, else the plugin's driver.
        self.h2 = None
