"""Settings of the "Config File" section: where configuration and the app come from."""

from gunicorn.settings.base import Setting
from gunicorn.settings.validators import validate_string

SECTION = "Config File"


class ConfigFile(Setting):
    name = "config"
    section = SECTION
    cli = ["-c", "--config"]
    meta = "CONFIG"
    validator = validate_string
    default = "./gunicorn.conf.py"
    desc = """\
        The Gunicorn config file.

        A path (``file:PATH`` also accepted) or ``python:MODULE_NAME`` to read
        settings from an importable module. Without this flag,
        ``gunicorn.conf.py`` in the current directory is read when present.
        """


class WSGIApp(Setting):
    name = "wsgi_app"
    section = SECTION
    meta = "STRING"
    validator = validate_string
    default = None
    desc = """\
        A WSGI application path in pattern ``$(MODULE_NAME):$(VARIABLE_NAME)``.

        Set in a config file; the positional APP_MODULE argument overrides it.
        """
