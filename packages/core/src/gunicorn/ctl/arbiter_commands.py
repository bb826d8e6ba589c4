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
        return round(max(0.0, time.monotonic() - worker.tmp.last_update()), 2)
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
    master = {"pid": arbiter.pid, "type": "arbiter", "role": "master"}
    web = [{"pid": w["pid"], "type": "web", "age": w["age"], "booted": w["booted"],
            "last_heartbeat": w["last_heartbeat"]} for w in _workers(arbiter)]
    dirty_master = None
    dirty_workers = []
    if _dirty_pid(arbiter):
        dirty = _dirty_status(arbiter)
        dirty_master = {"pid": dirty.get("pid") or _dirty_pid(arbiter),
                        "type": "dirty_arbiter", "role": "dirty master"}
        dirty_workers = [w for w in dirty.get("workers", []) if isinstance(w, dict)]
    # upstream's shape (lists plus counts); ``processes`` is ours, one flat list
    processes = [master] + [dict(w, role="worker") for w in web]
    if dirty_master is not None:
        processes.append(dirty_master)
        processes += [{"pid": w.get("pid"), "type": "dirty", "role": "dirty worker"}
                      for w in dirty_workers]
    return {
        "arbiter": master,
        "web_workers": web,
        "web_worker_count": len(web),
        "dirty_arbiter": dirty_master,
        "dirty_workers": dirty_workers,
        "dirty_worker_count": len(dirty_workers),
        "processes": processes,
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


# the settings upstream's ``show config`` reports, in its order; the rest follow sorted
CONFIG_FIRST = (
    "bind", "workers", "worker_class", "threads", "timeout", "graceful_timeout",
    "keepalive", "max_requests", "max_requests_jitter", "worker_connections",
    "preload_app", "daemon", "pidfile", "proc_name", "reload", "dirty_workers",
    "dirty_apps", "dirty_timeout", "control_socket", "control_socket_disable",
)


def _setting_value(arbiter, name, settings):
    if name == "worker_class":
        # the class the master runs (after gthread/sync resolution), as text
        worker_class = getattr(arbiter, "worker_class", None)
        if worker_class is not None:
            return str(worker_class)
    try:
        value = getattr(arbiter.cfg, name)
    except Exception:
        setting = settings.get(name)
        value = getattr(setting, "value", setting)
    return _jsonable(value)


def show_config(arbiter, args):
    """The effective settings, flat: name -> value"""
    settings = getattr(arbiter.cfg, "settings", None) or {}
    names = [name for name in CONFIG_FIRST if name in settings]
    names += sorted(name for name in settings if name not in CONFIG_FIRST)
    return {name: _setting_value(arbiter, name, settings) for name in names}


def _workers_killed(arbiter, control):
    counted = getattr(arbiter, "workers_killed", None)  # the arbiter's own count, if kept
    if isinstance(counted, int):
        return counted
    return getattr(control, "workers_gone", 0)


def show_stats(arbiter, args):
    """Uptime, pid, worker counts, reloads"""
    control = _control(arbiter)
    started = getattr(control, "started_at", None)
    current = len(_items(arbiter.WORKERS))
    return {
        "uptime": round(time.time() - started, 2) if started else None,
        "pid": arbiter.pid,
        "workers_current": current,
        "workers_target": arbiter.num_workers,
        "workers_spawned": int(getattr(arbiter, "worker_age", 0) or 0),
        "workers_killed": _workers_killed(arbiter, control),
        "reloads": getattr(control, "reload_count", 0),
        "dirty_arbiter_pid": _dirty_pid(arbiter) or None,
        # ours, beyond upstream's keys
        "version": __version__,
        "started_at": started,
        "worker_class": getattr(arbiter.cfg, "worker_class_str", None),
        "listeners": len(list(arbiter.LISTENERS)),
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
    """Start N more web workers (default 1)"""
    count = _count_arg(args, "worker add")
    _not_stopping(arbiter)

    def add():
        previous = arbiter.num_workers
        arbiter.num_workers = previous + count
        arbiter.manage_workers()
        return {"added": count, "previous": previous, "total": arbiter.num_workers}

    return in_master(arbiter, add)


def worker_remove(arbiter, args):
    """Stop N web workers (default 1; never below 1)"""
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
    """SIGTERM to one web worker (the master replaces it)"""
    if len(args) != 1:
        raise CommandError("usage: worker kill <PID>")
    try:
        pid = int(args[0])
    except ValueError:
        raise CommandError(f"invalid pid: {args[0]!r}")
    if pid not in dict(_items(arbiter.WORKERS)):
        return {"success": False, "error": f"Worker {pid} not found"}
    control = _control(arbiter)
    if control is not None and hasattr(control, "killed_by_command"):
        control.killed_by_command.add(pid)
    try:
        send_signal(pid, signal.SIGTERM)
    except OSError as exc:
        return {"success": False, "error": f"Worker {pid}: {exc.strerror or exc}"}
    return {"success": True, "killed": pid}


# -- dirty (the signal fallback; gunicorn-dirty replaces these) -------------------

def _signal_dirty(arbiter, args, name, sig):
    count = _count_arg(args, name)
    pid = _dirty_pid(arbiter)
    if not pid:
        return None
    for i in range(count):
        if i:
            time.sleep(DIRTY_SIGNAL_GAP)
        try:
            send_signal(pid, sig)
        except ProcessLookupError:
            return None
    return {"requested": count, "pid": pid}


# as upstream: no dirty arbiter is a reply saying so (success false), not an error
NOT_RUNNING = {"success": False, "error": "Dirty arbiter not running"}


def dirty_add(arbiter, args):
    """Start N more dirty workers (default 1)"""
    data = _signal_dirty(arbiter, args, "dirty add", signal.SIGTTIN)
    if data is None:
        return dict(NOT_RUNNING)
    return {"added": data["requested"], "pid": data["pid"]}


def dirty_remove(arbiter, args):
    """Stop N dirty workers (default 1)"""
    data = _signal_dirty(arbiter, args, "dirty remove", signal.SIGTTOU)
    if data is None:
        return dict(NOT_RUNNING)
    return {"removed": data["requested"], "pid": data["pid"]}


# -- master signals -----------------------------------------------------------------

def _no_args(args, name):
    if args:
        raise CommandError(f"{name} takes no arguments")


def reload(arbiter, args):
    """Reload the configuration and replace the workers (SIGHUP)"""
    _no_args(args, "reload")
    # a HUP to a master in its graceful stop would be lost; say so instead
    _not_stopping(arbiter)
    send_signal(arbiter.pid, signal.SIGHUP)
    return {"status": "reloading"}


def reopen(arbiter, args):
    """Reopen the log files (SIGUSR1)"""
    _no_args(args, "reopen")
    send_signal(arbiter.pid, signal.SIGUSR1)
    return {"status": "reopening"}


def shutdown(arbiter, args):
    """Stop the server (graceful: SIGTERM, quick: SIGINT)"""
    if len(args) > 1:
        raise CommandError("usage: shutdown [graceful|quick]")
    mode = args[0] if args else "graceful"
    if mode not in ("graceful", "quick"):
        raise CommandError(f"unknown shutdown mode {mode!r} (graceful or quick)")
    send_signal(arbiter.pid, signal.SIGTERM if mode == "graceful" else signal.SIGINT)
    return {"status": "shutting_down", "mode": mode}


# the argument syntax ``help`` shows in place of the bare name, as upstream does
worker_add.usage = "worker add [N]"
worker_remove.usage = "worker remove [N]"
worker_kill.usage = "worker kill <PID>"
dirty_add.usage = "dirty add [N]"
dirty_remove.usage = "dirty remove [N]"
shutdown.usage = "shutdown [graceful|quick]"

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
