"""Settings this distribution adds (``gunicorn.settings`` entry point): uwsgi keep-alive."""

from gunicorn.settings.base import Setting
from gunicorn.settings.validators import validate_bool


class UWSGIKeepAlive(Setting):
    name = "uwsgi_keepalive"
    section = "Server Mechanics"
    cli = ["--uwsgi-keepalive"]
    action = "store_true"
    validator = validate_bool
    default = False
    desc = """\
        Keep a uwsgi connection open for another packet after each response.

        Off by default, as in uWSGI: nginx opens a new uwsgi connection for
        every request (even with ``keepalive`` in its ``upstream`` block), so
        the connection is closed as soon as the response is written rather than
        waiting for the front end to close it. Turn it on for a front end that
        sends several packets on one connection. ``--protocol uwsgi`` only.
        """
