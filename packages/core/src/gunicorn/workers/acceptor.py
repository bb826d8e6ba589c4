"""``acceptor(listener)``: a cheaper ``listener.accept()`` for workers that accept in a loop.

``socket.accept()`` turns the listener's family and type into enums on every
call, and gunicorn's listener wrapper adds a ``__getattr__`` hop before it; both
are fixed facts of the listener, so they are read once here. The result is the
same ``(socket, address)`` pair, with the same blocking mode Python would give.
"""

import socket

__all__ = ["acceptor"]


def acceptor(listener):
    """A callable taking one pending client off ``listener``: ``(socket, address)``."""
    raw = getattr(listener, "sock", listener)
    if type(raw) is not socket.socket:
        # gevent, eventlet or an embedder's own socket type: its accept() knows best.
        return listener.accept
    accept_fd = raw._accept
    family, kind, proto = int(raw.family), int(raw.type), raw.proto
    make = socket.socket
    # socket.accept() makes the client blocking when there is no default timeout
    # and the listener has one (is non-blocking); a socket made from an fd takes
    # the default timeout, which is what that rule gives.

    def accept():
        fd, addr = accept_fd()
        return make(family, kind, proto, fileno=fd), addr

    return accept
