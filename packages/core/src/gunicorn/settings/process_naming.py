"""Settings of the "Process Naming" section: titles shown by ps and top."""

from gunicorn.settings.base import Setting
from gunicorn.settings.validators import validate_string

SECTION = "Process Naming"


class Procname(Setting):
    name = "proc_name"
    section = SECTION
    cli = ["-n", "--name"]
    meta = "STRING"
    validator = validate_string
    default = None
    desc = """\
        A base to use with setproctitle for process naming.

        Defaults to default_proc_name when not set.
        """


class DefaultProcName(Setting):
    name = "default_proc_name"
    section = SECTION
    validator = validate_string
    default = "gunicorn"
    desc = """\
        The process name used when proc_name is not set; set by the app type.
        """
