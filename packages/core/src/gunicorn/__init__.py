"""gunicorn: a pre-fork WSGI HTTP server, drop-in compatible with Gunicorn.

Only this distribution ships ``gunicorn/__init__.py``; sibling distributions
(gunicorn-http2, gunicorn-dirty, gunicorn-workers-async, gunicorn-uwsgi) add
subpackages to the same namespace, found through ``__path__`` below both when
installed as wheels and from editable checkouts.
"""

from pkgutil import extend_path

__path__ = extend_path(__path__, __name__)

__version__ = "28.0.0"
version_info = tuple(int(part) for part in __version__.split("."))
SERVER = "gunicorn"
SERVER_SOFTWARE = f"{SERVER}/{__version__}"
