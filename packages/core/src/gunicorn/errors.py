"""Exceptions shared by the config, the application loader and the arbiter."""

import contextlib

_UNSHOWN = object()


class HaltServer(BaseException):
    """Stops the master; raised where continuing would be worse than exiting.

    A ``BaseException`` so that broad ``except Exception`` blocks in hooks and
    workers cannot swallow the request to stop.
    """

    def __init__(self, reason, exit_status=1):
        super().__init__(reason, exit_status)
        self.reason = reason
        self.exit_status = exit_status

    def __str__(self):
        return f"<HaltServer {self.reason!r} {self.exit_status}>"


class ConfigError(Exception):
    """A setting has a value that cannot be used."""


class AppImportError(Exception):
    """The application named on the command line could not be loaded."""


@contextlib.contextmanager
def naming_setting(name, value=_UNSHOWN):
    """Turn a failure inside into one ``RuntimeError`` naming the setting to change.

    Every config error must say which setting is wrong: "Invalid value for
    <name>: [<value>: ]<what failed>". An error that already names its setting
    (one from an inner ``naming_setting``, or a class with ``names_setting``
    set, such as a missing extension) goes through unchanged.
    """
    try:
        yield
    except (RuntimeError, OSError) as exc:
        if getattr(exc, "names_setting", False) or str(exc).startswith("Invalid value for "):
            raise
        shown = "" if value is _UNSHOWN else f"{value!r}: "
        raise RuntimeError(f"Invalid value for {name}: {shown}{exc}") from None
