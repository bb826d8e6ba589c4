"""Process and file-descriptor chores: daemonizing, ownership, fd flags, titles."""

import fcntl
import os
import pwd
import random
import time

try:
    from setproctitle import setproctitle
except ImportError:  # optional extra: gunicorn[setproctitle]
    def setproctitle(title):
        """No-op: the ``setproctitle`` distribution is not installed."""


def _setproctitle(title):
    """Title this process ``gunicorn: <title>`` when setproctitle is available."""
    setproctitle(f"gunicorn: {title}")


def get_username(uid):
    """The login name of ``uid``; raises KeyError for an unknown uid."""
    return pwd.getpwuid(uid).pw_name


def set_owner_process(uid, gid, initgroups=False):
    """Drop to ``uid``/``gid`` (in that safe order: group first, then user)."""
    if gid:
        username = None
        if uid:
            try:
                username = get_username(uid)
            except KeyError:
                # no passwd entry, so no supplementary groups to load
                initgroups = False
        if initgroups and username:
            os.initgroups(username, gid)
        elif gid != os.getgid():
            os.setgid(gid)
    if uid and uid != os.getuid():
        os.setuid(uid)


def chown(path, uid, gid):
    """Give ``path`` to ``uid``/``gid``; -1 leaves that id unchanged."""
    os.chown(path, uid, gid)


def close_on_exec(fd):
    """Keep ``fd`` out of programs this process execs."""
    flags = fcntl.fcntl(fd, fcntl.F_GETFD)
    fcntl.fcntl(fd, fcntl.F_SETFD, flags | fcntl.FD_CLOEXEC)


def set_non_blocking(fd):
    """Make reads and writes on ``fd`` return instead of waiting."""
    flags = fcntl.fcntl(fd, fcntl.F_GETFL)
    fcntl.fcntl(fd, fcntl.F_SETFL, flags | os.O_NONBLOCK)


def close(sock):
    """Close a socket, ignoring the error of one already gone."""
    try:
        sock.close()
    except OSError:
        pass


def closerange(fd_low, fd_high):
    """Close every fd in ``[fd_low, fd_high)``, skipping those not open."""
    os.closerange(fd_low, fd_high)


def seed():
    """Give this process its own random sequence (forked children share one)."""
    try:
        random.seed(os.urandom(64))
    except NotImplementedError:
        random.seed(f"{time.time()}.{os.getpid()}")


def getcwd():
    """The working directory, spelled as ``$PWD`` when it names the same place.

    Keeping ``$PWD`` preserves symlinked paths (such as a ``current`` release
    link) so a re-exec after a deploy starts in the new release.
    """
    cwd = os.getcwd()
    pwd_env = os.environ.get("PWD")
    if not pwd_env:
        return cwd
    try:
        a, b = os.stat(pwd_env), os.stat(cwd)
    except OSError:
        return cwd
    if (a.st_ino, a.st_dev) == (b.st_ino, b.st_dev):
        return pwd_env
    return cwd


def check_is_writable(path):
    """Raise RuntimeError unless ``path`` can be opened for appending."""
    try:
        with open(path, "a"):
            pass
    except OSError as e:
        raise RuntimeError(f"Error: '{path}' isn't writable [{e!r}]")


def _redirect_to_devnull(fds):
    null = os.open(os.devnull, os.O_RDWR)
    try:
        for fd in fds:
            os.dup2(null, fd)
    finally:
        if null not in fds:
            os.close(null)


def daemonize(enable_stdio_inheritance=False):
    """Detach from the terminal: fork, new session, fork again.

    Skipped when ``GUNICORN_FD`` is set: a re-exec'ed master is already
    detached. Standard input always reads /dev/null; stdout and stderr go
    there too unless ``enable_stdio_inheritance`` keeps them.
    """
    if "GUNICORN_FD" in os.environ:
        return
    if os.fork():
        os._exit(0)
    os.setsid()
    # the session leader exits so the daemon can never reacquire a terminal
    if os.fork():
        os._exit(0)
    os.umask(0o22)

    if enable_stdio_inheritance:
        os.environ["PYTHONUNBUFFERED"] = "true"
        _redirect_to_devnull((0,))
        return
    _redirect_to_devnull((0, 1, 2))

