"""``show dirty``, ``dirty add`` and ``dirty remove`` for gunicornc, asked of the dirty arbiter."""

import os
import socket

from gunicorn.ctl.commands import CommandError
from gunicorn.dirty import wire
from gunicorn.dirty.companion import SOCKET_ENV
from gunicorn.dirty.errors import DirtyError

# the dirty arbiter answers STATUS and MANAGE from its loop; a spawn takes a fork
REPLY_TIMEOUT = 10.0


def _companion(arbiter):
    pid = int(getattr(arbiter, "dirty_arbiter_pid", 0) or 0)
    companions = getattr(arbiter, "COMPANIONS", None) or {}
    return pid, companions.get(pid)


def _socket_path(arbiter):
    pid, companion = _companion(arbiter)
    if not pid:
        return None
    return getattr(companion, "socket_path", None) or os.environ.get(SOCKET_ENV)


def ask_dirty_arbiter(path, msg_type, payload=None, timeout=REPLY_TIMEOUT):
    """One request/reply on the dirty arbiter's socket; returns the reply's ``result``."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(path)
            wire.send_message(sock, msg_type, 1, payload)
            reply = wire.recv_message(sock)
    except (OSError, DirtyError) as exc:
        raise CommandError(f"dirty arbiter not reachable at {path}: {exc}")
    if reply.type == wire.ERROR:
        error = DirtyError.from_dict(reply.payload.get("error"))
        raise CommandError(error.message)
    return reply.payload.get("result") or {}


def _count(args, name):
    if not args:
        return 1
    if len(args) > 1:
        raise CommandError(f"usage: {name} [N]")
    try:
        count = int(args[0])
    except ValueError:
        raise CommandError(f"{name}: N must be an integer, got {args[0]!r}")
    if count < 1:
        raise CommandError(f"{name}: N must be at least 1")
    return count


def show_dirty(arbiter, args):
    """The dirty arbiter and its workers: pid, age, apps, booted; and where each app runs"""
    path = _socket_path(arbiter)
    if path is None:
        return {"enabled": False, "status": "not running", "pid": None,
                "workers": [], "apps": []}
    try:
        status = ask_dirty_arbiter(path, wire.STATUS)
    except CommandError as exc:
        # forked but not listening yet (or just restarted): say so rather than fail
        pid, _ = _companion(arbiter)
        return {"enabled": True, "status": "starting", "pid": pid, "socket": path,
                "workers": [], "apps": [], "error": str(exc)}
    return {
        "enabled": True,
        "status": "running",
        "pid": status.get("pid"),
        "socket": path,
        "target_workers": status.get("target_workers"),
        "workers": status.get("workers", []),
        "apps": status.get("apps", []),
    }


# as upstream (and core's fallback): no dirty arbiter is a reply saying so, not an error
NOT_RUNNING = {"success": False, "error": "Dirty arbiter not running"}


def _manage(arbiter, args, name, op):
    count = _count(args, name)
    path = _socket_path(arbiter)
    if path is None:
        return dict(NOT_RUNNING)
    return ask_dirty_arbiter(path, wire.MANAGE, {"op": op, "count": count})


def dirty_add(arbiter, args):
    """Start N more dirty workers (default 1)"""
    return _manage(arbiter, args, "dirty add", wire.MANAGE_ADD)


def dirty_remove(arbiter, args):
    """Stop N dirty workers (default 1; never below what the apps need)"""
    return _manage(arbiter, args, "dirty remove", wire.MANAGE_REMOVE)


# `help` lines as upstream's gunicornc lists them
show_dirty.help = "List dirty workers and apps"
dirty_add.help = "Spawn N dirty workers (default 1)"
dirty_remove.help = "Remove N dirty workers (default 1)"
