"""Human-readable output of control replies for ``gunicornc``: tables and key lines."""

import json


def _cell(value):
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, dict)):
        return json.dumps(value, default=str)
    return str(value)


def table(rows, columns=None):
    """``rows`` (dicts) as aligned columns under a header."""
    if not rows:
        return "(none)"
    if columns is None:
        columns = []
        for row in rows:
            columns += [key for key in row if key not in columns]
    cells = [[_cell(row.get(col)) for col in columns] for row in rows]
    widths = [max(len(col), *(len(line[i]) for line in cells)) for i, col in enumerate(columns)]
    lines = ["  ".join(col.upper().ljust(w) for col, w in zip(columns, widths, strict=True)).rstrip()]
    for line in cells:
        lines.append("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip())
    return "\n".join(lines)


def key_values(data, indent=""):
    """``key: value`` lines, nested dicts indented, lists of dicts as tables."""
    if not data:
        return f"{indent}(empty)"
    width = max(len(str(key)) for key in data)
    lines = []
    for key, value in data.items():
        if isinstance(value, dict) and value:
            lines.append(f"{indent}{key}:")
            lines.append(key_values(value, indent + "  "))
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            lines.append(f"{indent}{key}:")
            lines += [indent + "  " + line for line in table(value).splitlines()]
        else:
            lines.append(f"{indent}{str(key).ljust(width)}  {_cell(value)}")
    return "\n".join(lines)


def _listing(data, key, label):
    """A table of ``data[key]`` then the remaining fields as lines."""
    rows = data.get(key) or []
    rest = {k: v for k, v in data.items() if k != key}
    parts = [table(rows) if rows else f"(no {label})"]
    if rest:
        parts.append(key_values(rest))
    return "\n".join(parts)


def render_help(data):
    commands = data.get("commands") or {}
    width = max((len(name) for name in commands), default=0)
    return "\n".join(f"  {name.ljust(width)}  {text}".rstrip()
                     for name, text in sorted(commands.items()))


def render_config(data):
    config = data.get("config") or {}
    width = max((len(name) for name in config), default=0)
    return "\n".join(f"{name.ljust(width)} = {_cell(value)}" for name, value in config.items())


def render(command_words, reply):
    """The text ``gunicornc`` prints for ``reply`` to the command ``command_words``."""
    if reply.get("status") != "ok":
        return f"Error: {reply.get('error', 'unknown error')}"
    data = reply.get("data")
    if not isinstance(data, dict):
        return _cell(data)
    words = tuple(command_words[:2])
    if words[:1] == ("help",):
        return render_help(data)
    if words == ("show", "config"):
        return render_config(data)
    if words == ("show", "workers"):
        return _listing(data, "workers", "workers")
    if words == ("show", "listeners"):
        return _listing(data, "listeners", "listeners")
    if words == ("show", "all"):
        return _listing(data, "processes", "processes")
    return key_values(data)
