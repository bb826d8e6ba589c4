"""systemd integration: socket activation (LISTEN_FDS) and readiness (sd_notify)."""

import os
import socket

# sd_listen_fds(3): passed sockets start right after stdin, stdout, stderr.
SD_LISTEN_FDS_START = 3


def listen_fds(unset_environment=True):
    """How many sockets systemd passed us, starting at fd 3.

    The variables only count when ``LISTEN_PID`` is our pid: a child that
    inherited the environment must not claim its parent's sockets.
    """
    try:
        fds = int(os.environ.get("LISTEN_FDS", 0))
        listen_pid = int(os.environ.get("LISTEN_PID", 0))
    except ValueError:
        return 0
    if listen_pid != os.getpid():
        return 0
    if unset_environment:
        os.environ.pop("LISTEN_PID", None)
        os.environ.pop("LISTEN_FDS", None)
    return fds


def sd_notify(state, logger, unset_environment=False):
    """Send ``state`` (e.g. ``"READY=1"``) to the ``$NOTIFY_SOCKET`` datagram socket.

    Does nothing outside systemd. Failures are logged at debug level only:
    readiness notification must never stop the server.
    """
    addr = os.environ.get("NOTIFY_SOCKET")
    if not addr:
        return
    if addr.startswith("@"):
        # abstract namespace socket
        addr = "\0" + addr[1:]
    sock = None
    try:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.connect(addr)
        sock.sendall(state.encode())
    except Exception:
        logger.debug("Exception while invoking sd_notify()", exc_info=True)
    finally:
        if unset_environment:
            os.environ.pop("NOTIFY_SOCKET", None)
        if sock is not None:
            sock.close()
