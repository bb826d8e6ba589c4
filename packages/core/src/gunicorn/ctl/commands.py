"""The control command table: match the words of a request to a handler and run it.

A handler is a callable ``handler(arbiter, args) -> dict`` (``args`` are the
words after the command's own words). It runs in the control thread, not in
the master's main loop: it may read the arbiter, send signals, and change
arbiter state only through ``gunicorn.ctl.server.in_master(arbiter, fn)``.
It reports a failure by raising ``CommandError(message)``. Its help text is
its ``help`` attribute, else the first line of its docstring.

Sibling distributions add commands through the ``gunicorn.control_commands``
entry-point group; the entry-point name is the command's words joined by
dots or spaces (``stash.show`` is the command ``stash show``).
"""

from gunicorn import plugins

# core commands that a sibling may take over (gunicorn-dirty talks to its own arbiter)
REPLACEABLE = {("show", "dirty"), ("dirty", "add"), ("dirty", "remove")}


class CommandError(Exception):
    """A command failed; the message goes back to the client as an error reply."""


def help_text(handler):
    text = getattr(handler, "help", None)
    if text:
        return str(text)
    doc = (getattr(handler, "__doc__", None) or "").strip()
    return doc.splitlines()[0] if doc else ""


def command_key(name):
    """``"stash.show"`` / ``"stash show"`` -> ``("stash", "show")``."""
    return tuple(word.lower() for word in name.replace(".", " ").split() if word)


class CommandTable:
    """Command words -> handler; dispatch picks the longest matching prefix."""

    def __init__(self, commands=None):
        self._handlers = {}
        self._usages = {}  # key -> "worker add [N]"; a replacement without one keeps core's
        for name, handler in (commands or {}).items():
            self.add(name, handler)

    def add(self, name, handler):
        key = command_key(name) if isinstance(name, str) else tuple(w.lower() for w in name)
        if not key:
            raise ValueError(f"empty command name {name!r}")
        self._set(key, handler)

    def _set(self, key, handler):
        self._handlers[key] = handler
        usage = getattr(handler, "usage", None)
        if usage:
            self._usages[key] = str(usage)

    def names(self):
        return sorted(" ".join(key) for key in self._handlers)

    def __contains__(self, name):
        return command_key(name) in self._handlers

    def help(self):
        """``{"show workers": "List ...", "worker add [N]": ...}``: usage -> help line."""
        return {self._usages.get(key) or " ".join(key): help_text(handler)
                for key, handler in sorted(self._handlers.items())}

    def lookup(self, words):
        """``(handler, remaining_args)`` for ``words``; CommandError when none matches."""
        if not words:
            raise CommandError("empty command")
        # command words match in any case (``SHOW WORKERS``), as upstream; args keep theirs
        folded = [word.lower() for word in words]
        for size in range(len(words), 0, -1):
            handler = self._handlers.get(tuple(folded[:size]))
            if handler is not None:
                return handler, list(words[size:])
        text = " ".join(words)
        subcommands = sorted(key[1] for key in self._handlers
                             if len(key) > 1 and key[0] == folded[0])
        if subcommands:
            raise CommandError(f"unknown command: {text} "
                               f"(expected {words[0]} {'|'.join(subcommands)})")
        raise CommandError(f"unknown command: {text} (try 'help')")

    def run(self, arbiter, words):
        """Run the command ``words``; returns its data dict or raises CommandError."""
        handler, args = self.lookup(words)
        data = handler(arbiter, args)
        return {} if data is None else data

    def load_plugins(self, log=None, entry_points=None):
        """Add the commands installed siblings register; one that fails to load is skipped."""
        if entry_points is None:
            entry_points = plugins.entry_points(plugins.CONTROL_COMMANDS_GROUP)
        for ep in sorted(entry_points, key=lambda e: e.name):
            key = command_key(ep.name)
            try:
                handler = ep.load()
            except Exception:
                if log is not None:
                    log.exception("Control command %r could not be loaded", ep.name)
                continue
            if not key or not callable(handler):
                if log is not None:
                    log.warning("Ignoring control command %r: not a callable", ep.name)
                continue
            if key in self._handlers and key not in REPLACEABLE:
                if log is not None:
                    log.warning("Ignoring control command %r: core defines it", ep.name)
                continue
            self._set(key, handler)


def default_table(log=None):
    """Core's commands plus those of installed siblings."""
    from gunicorn.ctl.arbiter_commands import CORE_COMMANDS

    table = CommandTable(CORE_COMMANDS)
    table.add("help", _make_help(table))
    table.load_plugins(log)
    return table


def _make_help(table):
    def show_help(arbiter, args):
        return {"commands": table.help()}

    show_help.help = "List the commands with a line of help each"
    return show_help
