"""Core's control commands: show, worker, dirty, reload, reopen, shutdown.

Each runs in the control thread. Reading the arbiter is done on copies
(``_items``); changing the worker count goes through ``in_master`` so only
the master's main loop ever forks or edits ``num_workers``; the rest are
signals to the master, which its own handlers act on.
"""

import os
import signal
import socket
import time

from gunicorn import __version__
from gunicorn.ctl.commands import CommandError
from gunicorn.ctl.server import in_master

# tests replace it to watch the signals a command sends
send_signal = os.kill

# pause between signals to the dirty arbiter so the kernel does not merge them
DIRTY_SIGNAL_GAP = 0.05


def _items(mapping):
    """A copy of ``mapping.items()`` that the master may be changing meanwhile."""
    for _ in range(5):
        try:
            return list(mapping.items())
        except RuntimeError:  # changed size during iteration
            continue
    return []


def _count_arg(args, name):
    if not args:
        return 1
    if len(args) > 1:
        raise CommandError(f"{name} takes at most one count")
    try:
        count = int(args[0])
    except ValueError:
        raise CommandError(f"invalid count: {args[0]!r}")
    if count < 1:
        raise CommandError(f"count must be at least 1, not {count}")
    return count


def _control(arbiter):
    return getattr(arbiter, "control", None)


def _heartbeat_age(worker):
    try:
        return round(max(0.0, time.monotonic() - worker.tmp.last_update()), 3)
    except (AttributeError, OSError, ValueError):
        return None


def _worker_info(arbiter, pid, worker):
    control = _control(arbiter)
    booted = bool(getattr(worker, "booted", False))
    if not booted and control is not None:
        booted = control.heartbeat_seen(pid, worker)
    return {
        "pid": pid,
        "age": getattr(worker, "age", None),
        "booted": booted,
        "aborted": bool(getattr(worker, "aborted", False)),
        "last_heartbeat": _heartbeat_age(worker),
    }


def _workers(arbiter):
    infos = [_worker_info(arbiter, pid, worker) for pid, worker in _items(arbiter.WORKERS)]
    return sorted(infos, key=lambda info: (info["age"] is None, info["age"] or 0, info["pid"]))


# -- show -----------------------------------------------------------------------

def show_workers(arbiter, args):
    """List the web workers: pid, age, booted, aborted"""
    workers = _workers(arbiter)
    return {"workers": workers, "count": len(workers), "target": arbiter.num_workers}


def _dirty_pid(arbiter):
    return int(getattr(arbiter, "dirty_arbiter_pid", 0) or 0)


def show_dirty(arbiter, args):
    """The dirty arbiter and its workers (enabled False when none runs)"""
    pid = _dirty_pid(arbiter)
    if not pid:
        return {"enabled": False, "status": "not running", "pid": None,
                "workers": [], "apps": []}
    # gunicorn-dirty replaces this command with one that asks its arbiter
    return {"enabled": True, "status": "running", "pid": pid, "workers": [], "apps": []}


def show_all(arbiter, args):
    """Every process: the arbiter, web workers, dirty arbiter and dirty workers"""
    processes = [{"pid": arbiter.pid, "type": "arbiter", "role": "master"}]
    web = _workers(arbiter)
    processes += [{"pid": w["pid"], "type": "web", "role": "worker", "age": w["age"],
                   "booted": w["booted"]} for w in web]
    dirty = {}
    if _dirty_pid(arbiter):
        dirty = _dirty_status(arbiter)
        processes.append({"pid": dirty.get("pid"), "type": "dirty_arbiter",
                          "role": "dirty arbiter"})
        processes += [{"pid": w.get("pid"), "type": "dirty", "role": "dirty worker"}
                      for w in dirty.get("workers", [])]
    return {
        "arbiter": {"pid": arbiter.pid, "type": "arbiter", "role": "master"},
        "processes": processes,
        "web_workers": len(web),
        "dirty_workers": len(dirty.get("workers", [])),
        "count": len(processes),
    }


def _dirty_status(arbiter):
    """``show dirty`` as registered (core's or a sibling's replacement)."""
    control = _control(arbiter)
    table = getattr(control, "table", None)
    handler = show_dirty
    if table is not None:
        handler, _ = table.lookup(["show", "dirty"])
    try:
        return handler(arbiter, []) or {}
    except Exception:
        return show_dirty(arbiter, [])


def _jsonable(value):
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_jsonable(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if callable(value):
        return f"<{getattr(value, '__qualname__', None) or repr(value)}()>"
    return str(value)


def show_config(arbiter, args):
    """The effective settings"""
    settings = getattr(arbiter.cfg, "settings", None) or {}
    config = {}
    for name, setting in sorted(settings.items()):
        config[name] = _jsonable(getattr(setting, "value", setting))
    return {"config": config, "count": len(config)}


def show_stats(arbiter, args):
    """Uptime, pid, reloads, worker counts"""
    control = _control(arbiter)
    started = getattr(control, "started_at", None)
    return {
        "pid": arbiter.pid,
        "version": __version__,
        "uptime": round(time.time() - started, 3) if started else None,
        "started_at": started,
        "reloads": getattr(control, "reload_count", 0),
        "workers": len(_items(arbiter.WORKERS)),
        "target_workers": arbiter.num_workers,
        "worker_class": getattr(arbiter.cfg, "worker_class_str", None),
        "listeners": len(list(arbiter.LISTENERS)),
        "dirty_arbiter_pid": _dirty_pid(arbiter) or None,
        "companions": len(_items(getattr(arbiter, "COMPANIONS", {}))),
    }


def _listener_info(listener):
    family = getattr(listener, "FAMILY", None)
    kind = {socket.AF_INET: "tcp", socket.AF_INET6: "tcp6",
            socket.AF_UNIX: "unix"}.get(family, "unknown")
    try:
        fd = listener.fileno()
    except (AttributeError, OSError, ValueError):
        fd = None
    return {"address": str(listener), "fd": fd, "type": kind}


def show_listeners(arbiter, args):
    """The listening sockets: address, fd, type"""
    listeners = [_listener_info(listener) for listener in list(arbiter.LISTENERS)]
    return {"listeners": listeners, "count": len(listeners)}


# -- worker ---------------------------------------------------------------------

def _not_stopping(arbiter):
    if getattr(arbiter, "stopping", False):
        raise CommandError("the master is shutting down")


def worker_add(arbiter, args):
    """worker add [N]: N more web workers (default 1)"""
    count = _count_arg(args, "worker add")
    _not_stopping(arbiter)

    def add():
        previous = arbiter.num_workers
        arbiter.num_workers = previous + count
        arbiter.manage_workers()
        return {"added": count, "previous": previous, "total": arbiter.num_workers}

    return in_master(arbiter, add)


def worker_remove(arbiter, args):
    """worker remove [N]: N fewer web workers (default 1, never below 1)"""
    count = _count_arg(args, "worker remove")
    _not_stopping(arbiter)

    def remove():
        previous = arbiter.num_workers
        removed = max(0, min(count, previous - 1))
        if removed:
            arbiter.num_workers = previous - removed
            arbiter.manage_workers()
        return {"removed": removed, "previous": previous, "total": arbiter.num_workers}

    return in_master(arbiter, remove)


def worker_kill(arbiter, args):
    """worker kill <PID>: SIGTERM to that web worker (the master replaces it)"""
    if len(args) != 1:
        raise CommandError("usage: worker kill <PID>")
    try:
        pid = int(args[0])
    except ValueError:
        raise CommandError(f"invalid pid: {args[0]!r}")
    if pid not in dict(_items(arbiter.WORKERS)):
        return {"success": False, "error": f"worker {pid} not found"}
    try:
        send_signal(pid, signal.SIGTERM)
    except ProcessLookupError:
        return {"success": False, "error": f"worker {pid} not found"}
    return {"success": True, "killed": pid}


# -- dirty (the signal fallback; gunicorn-dirty replaces these) -------------------

def _signal_dirty(arbiter, args, name, sig):
    count = _count_arg(args, name)
    pid = _dirty_pid(arbiter)
    if not pid:
        raise CommandError("not running")
    for i in range(count):
        if i:
            time.sleep(DIRTY_SIGNAL_GAP)
        try:
            send_signal(pid, sig)
        except ProcessLookupError:
            raise CommandError("not running")
    return {"requested": count, "pid": pid}


def dirty_add(arbiter, args):
    """dirty add [N]: N more dirty workers"""
    data = _signal_dirty(arbiter, args, "dirty add", signal.SIGTTIN)
    return {"added": data["requested"], "pid": data["pid"]}


def dirty_remove(arbiter, args):
    """dirty remove [N]: N fewer dirty workers"""
    data = _signal_dirty(arbiter, args, "dirty remove", signal.SIGTTOU)
    return {"removed": data["requested"], "pid": data["pid"]}


# -- master signals -----------------------------------------------------------------

def _no_args(args, name):
    if args:
        raise CommandError(f"{name} takes no arguments")


def reload(arbiter, args):
    """Reload the configuration and replace the workers (SIGHUP)"""
    _no_args(args, "reload")
    send_signal(arbiter.pid, signal.SIGHUP)
    return {"status": "reloading"}


def reopen(arbiter, args):
    """Reopen the log files (SIGUSR1)"""
    _no_args(args, "reopen")
    send_signal(arbiter.pid, signal.SIGUSR1)
    return {"status": "reopening"}


def shutdown(arbiter, args):
    """shutdown [graceful|quick]: stop the server (SIGTERM, or SIGINT for quick)"""
    if len(args) > 1:
        raise CommandError("usage: shutdown [graceful|quick]")
    mode = args[0] if args else "graceful"
    if mode not in ("graceful", "quick"):
        raise CommandError(f"unknown shutdown mode {mode!r} (graceful or quick)")
    send_signal(arbiter.pid, signal.SIGTERM if mode == "graceful" else signal.SIGINT)
    return {"status": "shutting_down", "mode": mode}


CORE_COMMANDS = {
    "show all": show_all,
    "show workers": show_workers,
    "show dirty": show_dirty,
    "show config": show_config,
    "show stats": show_stats,
    "show listeners": show_listeners,
    "worker add": worker_add,
    "worker remove": worker_remove,
    "worker kill": worker_kill,
    "dirty add": dirty_add,
    "dirty remove": dirty_remove,
    "reload": reload,
    "reopen": reopen,
    "shutdown": shutdown,
}
