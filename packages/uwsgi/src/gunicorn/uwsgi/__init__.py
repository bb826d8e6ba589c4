"""The uwsgi wire protocol for gunicorn (``--protocol uwsgi``), as spoken by nginx ``uwsgi_pass``."""

from gunicorn.plugins import require_plugin_api

# Fail at load time, with a clear message, if core speaks another plugin API.
require_plugin_api("gunicorn-uwsgi", 1)

from gunicorn.uwsgi.errors import (  # noqa: E402  (after the API check on purpose)
    ForbiddenUWSGIRequest,
    InvalidUWSGIHeader,
    UnsupportedModifier,
    UWSGIParseException,
)

__version__ = "0.1.0"

# The error names upstream exports from this package; the protocol class itself is
# gunicorn.uwsgi.protocol.UWSGIProtocol (entry point gunicorn.protocols: uwsgi).
__all__ = [
    "UWSGIParseException",
    "InvalidUWSGIHeader",
    "UnsupportedModifier",
    "ForbiddenUWSGIRequest",
]
