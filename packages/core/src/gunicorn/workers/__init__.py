"""Worker classes; sibling distributions add modules to this package.

``SUPPORTED_WORKERS`` maps the ``-k`` short names to class paths, as upstream.
Names whose modules live in a sibling distribution are resolved through the
``gunicorn.workers`` entry points, and a missing one names the extra to install.
"""

from pkgutil import extend_path

__path__ = extend_path(__path__, __name__)

SUPPORTED_WORKERS = {
    "sync": "gunicorn.workers.sync.SyncWorker",
    "gthread": "gunicorn.workers.gthread.ThreadWorker",
    "gevent": "gunicorn.workers.ggevent.GeventWorker",
    "gevent_wsgi": "gunicorn.workers.ggevent.GeventPyWSGIWorker",
    "gevent_pywsgi": "gunicorn.workers.ggevent.GeventPyWSGIWorker",
    "eventlet": "gunicorn.workers.geventlet.EventletWorker",
    "tornado": "gunicorn.workers.gtornado.TornadoWorker",
    "asgi": "gunicorn.workers.gasgi.ASGIWorker",
}
