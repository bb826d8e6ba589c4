"""Settings of the "Server Socket" section: what the master listens on."""

import os

from gunicorn.settings.base import Setting
from gunicorn.settings.validators import validate_list_string, validate_pos_int

SECTION = "Server Socket"


class Bind(Setting):
    name = "bind"
    action = "append"
    section = SECTION
    cli = ["-b", "--bind"]
    meta = "ADDRESS"
    validator = validate_list_string
    default = ["127.0.0.1:8000"]
    desc = """\
        The socket to bind.

        ``HOST``, ``HOST:PORT``, ``[IPV6]:PORT``, ``unix:PATH`` or ``fd://FD``.
        Repeat the flag to bind several addresses. When the ``PORT`` environment
        variable is set the default is ``0.0.0.0:$PORT``.
        """

    @classmethod
    def initial_default(cls):
        port = os.environ.get("PORT")
        if port:
            return [f"0.0.0.0:{port}"]
        return list(cls.default)


class Backlog(Setting):
    name = "backlog"
    section = SECTION
    cli = ["--backlog"]
    meta = "INT"
    validator = validate_pos_int
    type = int
    default = 2048
    desc = """\
        The maximum number of pending connections (the ``listen()`` queue length).
        """
