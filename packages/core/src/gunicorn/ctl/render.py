"""Human-readable output of control replies for ``gunicornc``, laid out as upstream's.

Known ``show`` commands and ``help`` get a table or a list of lines; any other
command prints its data as indented JSON, or ``OK`` when the data is empty.
"""

import json


def _heartbeat(worker):
    beat = worker.get("last_heartbeat")
    return "n/a" if beat is None else f"{beat}s ago"


def _yes_no(value):
    return "yes" if value else "no"


def _text(value, default="?"):
    return default if value is None else str(value)


def _web_worker_row(worker):
    return (f"{_text(worker.get('pid')):<10} {_text(worker.get('age')):<6} "
            f"{_yes_no(worker.get('booted')):<8} {_heartbeat(worker)}")


def _uptime(seconds):
    if not seconds:
        return "unknown"
    seconds = float(seconds)
    hours, rest = divmod(int(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes}m {secs}s"
    if minutes:
        return f"{minutes}m {secs}s"
    return f"{secs}s"


def render_workers(data):
    workers = data.get("workers") or []
    if not workers:
        return "No workers running"
    lines = [f"{'PID':<10} {'AGE':<6} {'BOOTED':<8} LAST_BEAT", "-" * 40]
    lines += [_web_worker_row(w) for w in workers]
    lines += ["", f"Total: {data.get('count', len(workers))} workers"]
    return "\n".join(lines)


def render_dirty(data):
    if not data.get("enabled"):
        return "Dirty arbiter not running"
    lines = [f"Dirty arbiter PID: {data.get('pid')}", ""]
    workers = [w for w in data.get("workers") or [] if isinstance(w, dict)]
    if workers:
        lines += ["DIRTY WORKERS:", f"{'PID':<10} {'AGE':<6} {'APPS':<30} LAST_BEAT", "-" * 60]
        for w in workers:
            apps = ", ".join(str(a) for a in w.get("apps") or [])[:30]
            lines.append(f"{_text(w.get('pid')):<10} {_text(w.get('age')):<6} "
                         f"{apps:<30} {_heartbeat(w)}")
        lines.append("")
    apps = [a for a in data.get("apps") or [] if isinstance(a, dict)]
    if apps:
        lines += ["DIRTY APPS:", f"{'APP':<30} {'WORKERS':<10} LIMIT", "-" * 50]
        for app in apps:
            limit = app.get("worker_count")
            lines.append(f"{_text(app.get('import_path'))[:30]:<30} "
                         f"{_text(app.get('current_workers'), '0'):<10} "
                         f"{'none' if limit is None else limit}")
    return "\n".join(lines)


def render_stats(data):
    rows = [
        ("Uptime", _uptime(data.get("uptime"))),
        ("PID", data.get("pid", "unknown")),
        ("Workers current", data.get("workers_current", 0)),
        ("Workers target", data.get("workers_target", 0)),
        ("Workers spawned", data.get("workers_spawned", 0)),
        ("Workers killed", data.get("workers_killed", 0)),
        ("Reloads", data.get("reloads", 0)),
    ]
    if data.get("dirty_arbiter_pid"):
        rows.append(("Dirty arbiter", data["dirty_arbiter_pid"]))
    return "\n".join(f"{label + ':':<17} {value}" for label, value in rows)


def render_listeners(data):
    listeners = data.get("listeners") or []
    if not listeners:
        return "No listeners bound"
    lines = [f"{'ADDRESS':<40} {'TYPE':<8} FD", "-" * 55]
    for lnr in listeners:
        lines.append(f"{_text(lnr.get('address')):<40} {_text(lnr.get('type')):<8} "
                     f"{_text(lnr.get('fd'))}")
    lines += ["", f"Total: {data.get('count', len(listeners))} listeners"]
    return "\n".join(lines)


def render_config(data):
    lines = []
    for name in sorted(data):
        value = data[name]
        if isinstance(value, list):
            value = ", ".join(str(v) for v in value)
        lines.append(f"{name}: {value}")
    return "\n".join(lines)


def render_help(data):
    commands = data.get("commands") or {}
    width = max((len(name) for name in commands), default=0) + 2
    lines = ["Available commands:", ""]
    lines += [f"  {name:<{width}} {text}" for name, text in sorted(commands.items())]
    return "\n".join(lines)


def render_all(data):
    master = data.get("arbiter") or {}
    lines = ["ARBITER (master)", f"  PID: {_text(master.get('pid'))}", ""]
    web = [w for w in data.get("web_workers") or [] if isinstance(w, dict)]
    lines.append(f"WEB WORKERS ({data.get('web_worker_count', 0)})")
    if web:
        lines += [f"  {'PID':<10} {'AGE':<6} {'BOOTED':<8} LAST_BEAT", "  " + "-" * 38]
        lines += ["  " + _web_worker_row(w) for w in web]
    else:
        lines.append("  (none)")
    lines += ["", "DIRTY ARBITER"]
    dirty = data.get("dirty_arbiter")
    if not dirty:
        lines.append("  (not running)")
        return "\n".join(lines)
    lines += [f"  PID: {_text(dirty.get('pid'))}", ""]
    workers = [w for w in data.get("dirty_workers") or [] if isinstance(w, dict)]
    lines.append(f"DIRTY WORKERS ({data.get('dirty_worker_count', 0)})")
    if not workers:
        lines.append("  (none)")
    else:
        lines += [f"  {'PID':<10} {'AGE':<6} APPS", "  " + "-" * 50]
        for w in workers:
            # an app is shown by its last ``module:name`` part only
            apps = [str(a).split(":")[-1] for a in w.get("apps") or []]
            pid, age = _text(w.get("pid")), _text(w.get("age"))
            lines.append(f"  {pid:<10} {age:<6} {apps[0] if apps else '(no apps)'}")
            lines += [f"  {'':<10} {'':<6} {app}" for app in apps[1:]]
    return "\n".join(lines)


RENDERERS = {
    "show all": render_all,
    "show workers": render_workers,
    "show dirty": render_dirty,
    "show stats": render_stats,
    "show listeners": render_listeners,
    "show config": render_config,
    "help": render_help,
}


def command_name(words):
    """The command part of ``words``: those before the first number or ``-option``."""
    name = []
    for word in words:
        if word.isdigit() or word.startswith("-"):
            break
        name.append(word)
    return " ".join(name).lower()


def render(command_words, data):
    """The text ``gunicornc`` prints for the ``data`` of an ok reply to ``command_words``."""
    renderer = RENDERERS.get(command_name(command_words))
    if renderer is not None and isinstance(data, dict):
        return renderer(data)
    if data:
        return json.dumps(data, indent=2, default=str)
    return "OK"
