"""PasteDeploy support: ``--paste`` ini files and the ``paste.server_runner`` entry.

PasteDeploy is optional; it is imported only when an ini file is used.
"""

import configparser
import os

from gunicorn.errors import ConfigError


def _loadapp():
    try:
        from paste.deploy import loadapp
    except ImportError:
        raise ConfigError("PasteDeploy is needed to load a paste config: "
                          "pip install PasteDeploy") from None
    return loadapp


def get_wsgi_app(config_uri, name=None, defaults=None):
    """Load the WSGI app from a PasteDeploy ini (``PATH`` or ``PATH#SECTION``)."""
    if ":" not in config_uri:
        config_uri = f"config:{config_uri}"
    loadapp = _loadapp()
    return loadapp(config_uri, name=name, relative_to=os.getcwd(), global_conf=defaults)


def has_logging_config(config_file):
    """True when the ini file configures logging (has a ``[loggers]`` section)."""
    parser = configparser.ConfigParser()
    parser.read([config_file])
    return parser.has_section("loggers")


def serve(app, global_conf, **local_conf):
    """``paste.server_runner`` entry point: run ``app`` with settings from the ini.

    ``host``/``port`` become ``bind``; ``config`` names a Gunicorn config file;
    every other key is a setting.
    """
    from gunicorn.app.wsgiapp import WSGIApplication
    from gunicorn.config import get_default_config_file

    config_file = global_conf["__file__"]
    gunicorn_config_file = local_conf.pop("config", None)

    host = local_conf.pop("host", "")
    port = local_conf.pop("port", "")
    if host and port:
        local_conf["bind"] = f"{host}:{port}"
    elif host:
        local_conf["bind"] = host.split(",")

    class PasterServerApplication(WSGIApplication):
        def load_config(self):
            self.cfg.set("default_proc_name", config_file)

            if has_logging_config(config_file):
                self.cfg.set("logconfig", config_file)

            if gunicorn_config_file:
                self.load_config_from_file(gunicorn_config_file)
            else:
                default = get_default_config_file()
                if default is not None:
                    self.load_config_from_file(default)

            for key, value in local_conf.items():
                if value is not None:
                    self._set(key.lower(), value, f"in {config_file}")

        def load(self):
            return app

    PasterServerApplication().run()
