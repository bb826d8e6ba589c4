"""The uwsgi wire protocol for gunicorn (``--protocol uwsgi``), as spoken by nginx ``uwsgi_pass``."""

__version__ = "0.1.0"

# The core plugin API major version this distribution was written against.
PLUGIN_API = 1
