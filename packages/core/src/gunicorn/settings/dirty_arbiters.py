"""Settings of the "Dirty Arbiters" section; the arbiter comes with gunicorn[dirty]."""

from gunicorn.settings.base import Setting
from gunicorn.settings.validators import validate_dirty_apps, validate_pos_int

SECTION = "Dirty Arbiters"


class DirtyApps(Setting):
    name = "dirty_apps"
    action = "append"
    section = SECTION
    cli = ["--dirty-app"]
    meta = "STRING"
    validator = validate_dirty_apps
    default = []
    desc = """\
        A dirty app to load: ``module:Class`` or ``module:Class:N``.

        N limits how many dirty workers load it. Repeat for several apps.
        """


class _Int(Setting):
    section = SECTION
    meta = "INT"
    validator = validate_pos_int
    type = int


class DirtyWorkers(_Int):
    name = "dirty_workers"
    cli = ["--dirty-workers"]
    default = 0
    desc = """\
        The number of dirty worker processes; 0 disables the dirty arbiter.
        """


class DirtyTimeout(_Int):
    name = "dirty_timeout"
    cli = ["--dirty-timeout"]
    default = 300
    desc = """\
        Seconds a dirty task may run before it times out; 0 disables.
        """


class DirtyThreads(_Int):
    name = "dirty_threads"
    cli = ["--dirty-threads"]
    default = 1
    desc = """\
        Threads per dirty worker.
        """


class DirtyGracefulTimeout(_Int):
    name = "dirty_graceful_timeout"
    cli = ["--dirty-graceful-timeout"]
    default = 30
    desc = """\
        Seconds dirty workers have to stop gracefully.
        """
