"""Settings of the "Control" section: the gunicornc control socket."""

import os

from gunicorn.settings.base import Setting
from gunicorn.settings.validators import auto_int, validate_bool, validate_pos_int, validate_string

SECTION = "Control"


def default_control_socket():
    """``$XDG_RUNTIME_DIR/gunicorn.ctl``, else ``$HOME/.gunicorn/gunicorn.ctl``."""
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime:
        return os.path.join(runtime, "gunicorn.ctl")
    return os.path.join(os.path.expanduser("~"), ".gunicorn", "gunicorn.ctl")


class ControlSocket(Setting):
    name = "control_socket"
    section = SECTION
    cli = ["--control-socket"]
    meta = "PATH"
    validator = validate_string
    default = "$XDG_RUNTIME_DIR/gunicorn.ctl"
    desc = """\
        The unix socket gunicornc talks to.

        Defaults to ``$XDG_RUNTIME_DIR/gunicorn.ctl``, or
        ``~/.gunicorn/gunicorn.ctl`` without XDG_RUNTIME_DIR.
        """

    @classmethod
    def initial_default(cls):
        return default_control_socket()


class ControlSocketMode(Setting):
    name = "control_socket_mode"
    section = SECTION
    cli = ["--control-socket-mode"]
    meta = "INT"
    validator = validate_pos_int
    type = auto_int
    default = 0o600
    desc = """\
        Permission bits of the control socket file (e.g. 0o600).
        """


class ControlSocketDisable(Setting):
    name = "control_socket_disable"
    section = SECTION
    cli = ["--no-control-socket"]
    action = "store_true"
    validator = validate_bool
    default = False
    desc = """\
        Do not create the control socket.
        """
