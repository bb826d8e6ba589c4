"""Settings of the "Debugging" section: reloading, tracing, config checks."""

from gunicorn.settings.base import Setting
from gunicorn.settings.validators import (
    validate_bool,
    validate_files_or_globs,
    validate_reload_engine,
)

SECTION = "Debugging"


class _Flag(Setting):
    section = SECTION
    action = "store_true"
    validator = validate_bool
    default = False


class Reload(_Flag):
    name = "reload"
    cli = ["--reload"]
    desc = """\
        Restart workers when code changes.

        For development only. Uses inotify when available, polling otherwise.
        """


class ReloadEngine(Setting):
    name = "reload_engine"
    section = SECTION
    cli = ["--reload-engine"]
    meta = "STRING"
    validator = validate_reload_engine
    default = "auto"
    desc = """\
        The implementation used by reload: auto, poll or inotify.
        """


class ReloadExtraFiles(Setting):
    name = "reload_extra_files"
    action = "append"
    section = SECTION
    cli = ["--reload-extra-file"]
    meta = "FILES"
    validator = validate_files_or_globs
    default = []
    desc = """\
        Extra files or glob patterns to watch when reload is on.

        Patterns are expanded again on each reload cycle.
        """


class Spew(_Flag):
    name = "spew"
    cli = ["--spew"]
    desc = """\
        Install a trace function that prints every line executed by the server.
        """


class ConfigCheck(_Flag):
    name = "check_config"
    cli = ["--check-config"]
    desc = """\
        Check the configuration and the application, then exit.

        Exit status 0 when both load, 1 otherwise.
        """


class PrintConfig(_Flag):
    name = "print_config"
    cli = ["--print-config"]
    desc = """\
        Print the resolved configuration and exit; implies check_config.
        """
