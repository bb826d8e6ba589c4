"""The uwsgi wire protocol for gunicorn (``--protocol uwsgi``), as spoken by nginx ``uwsgi_pass``."""

from gunicorn.plugins import require_plugin_api

# Fail at load time, with a clear message, if core speaks another plugin API.
require_plugin_api("gunicorn-uwsgi", 1)

__version__ = "0.1.0"

# The error names upstream exports from this package; the protocol class itself is
# gunicorn.uwsgi.protocol.UWSGIProtocol (entry point gunicorn.protocols: uwsgi).
__all__ = [
    "UWSGIParseException",
    "InvalidUWSGIHeader",
    "UnsupportedModifier",
    "ForbiddenUWSGIRequest",
]


def __getattr__(name):
    # Loaded on first use: core imports this package at start-up for its setting
    # (gunicorn.uwsgi.settings) even when the protocol is http.
    if name in __all__:
        from gunicorn.uwsgi import errors
        return getattr(errors, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
