"""The dirty arbiter: a pool of processes beside the web workers for slow or heavy tasks."""

from gunicorn.plugins import require_plugin_api

# Fail at load time, with a clear message, if core speaks another plugin API.
require_plugin_api("gunicorn-dirty", 1)

__version__ = "0.1.0"
