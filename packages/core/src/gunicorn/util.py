"""The public ``gunicorn.util`` import path, kept for third-party code.

Nothing is defined here: each name lives in the module that owns its job and
is loaded on first access, so importing ``gunicorn.util`` costs nothing and
creates no import cycles.
"""

import importlib

_HOMES = {
    # importing.py: turning strings from the command line into objects
    "import_app": "gunicorn.importing",
    "load_class": "gunicorn.importing",
    "get_arity": "gunicorn.importing",
    # addresses.py: bind addresses
    "parse_address": "gunicorn.addresses",
    "is_ipv6": "gunicorn.addresses",
    # process.py: process and file-descriptor chores
    "daemonize": "gunicorn.process",
    "set_owner_process": "gunicorn.process",
    "chown": "gunicorn.process",
    "close_on_exec": "gunicorn.process",
    "set_non_blocking": "gunicorn.process",
    "close": "gunicorn.process",
    "closerange": "gunicorn.process",
    "seed": "gunicorn.process",
    "getcwd": "gunicorn.process",
    "get_username": "gunicorn.process",
    "check_is_writable": "gunicorn.process",
    "_setproctitle": "gunicorn.process",
    "setproctitle": "gunicorn.process",
    # http: wire helpers
    "http_date": "gunicorn.http.dates",
    "is_hoppish": "gunicorn.http.hop_by_hop",
    "to_bytestring": "gunicorn.http.bytes_text",
    "bytes_to_str": "gunicorn.http.bytes_text",
    "write_error": "gunicorn.wsgi.error_page",
}


def __getattr__(name):
    try:
        home = _HOMES[name]
    except KeyError:
        raise AttributeError(f"module 'gunicorn.util' has no attribute {name!r}") from None
    return getattr(importlib.import_module(home), name)


def __dir__():
    return sorted(_HOMES)
