"""The uwsgi wire protocol for gunicorn (``--protocol uwsgi``), as spoken by nginx ``uwsgi_pass``."""

from gunicorn.plugins import require_plugin_api

__version__ = "0.1.0"

# Fail at load time, with a clear message, if core speaks another plugin API.
require_plugin_api("gunicorn-uwsgi", 1)
