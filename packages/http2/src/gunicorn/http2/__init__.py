"""HTTP/2 for gunicorn (``--http-protocols h2,h1``), built on the sans-I/O ``h2`` library."""

from gunicorn.plugins import require_plugin_api

# Fail at load time, with a clear message, if core speaks another plugin API.
require_plugin_api("gunicorn-http2", 1)

__version__ = "0.1.0"
