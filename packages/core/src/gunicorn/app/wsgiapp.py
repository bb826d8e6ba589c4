"""``WSGIApplication``: the ``gunicorn`` command; ``run()`` is its console script."""

import os

from gunicorn.app.base import Application
from gunicorn.errors import ConfigError


class WSGIApplication(Application):
    """Serves the app named by APP_MODULE, the wsgi_app setting or --paste."""

    def init(self, parser, opts, args):
        self.app_uri = None

        if opts.paste:
            from gunicorn.app.pasterapp import has_logging_config

            config_uri = os.path.abspath(opts.paste)
            config_file = config_uri.split("#", 1)[0]
            if not os.path.exists(config_file):
                raise ConfigError(f"Invalid value for paste: {config_file!r} not found")
            self.cfg.set("default_proc_name", config_file)
            self.app_uri = config_uri
            if has_logging_config(config_file):
                self.cfg.set("logconfig", config_file)
            return None

        if args:
            self.cfg.set("default_proc_name", args[0])
            self.app_uri = args[0]
        return None

    def load_config(self):
        super().load_config()
        if self.app_uri is None:
            if self.cfg.wsgi_app is not None:
                self.app_uri = self.cfg.wsgi_app
            else:
                raise ConfigError("No application module specified.")

    def load_wsgiapp(self):
        from gunicorn.importing import import_app

        return import_app(self.app_uri)

    def load_pasteapp(self):
        from gunicorn.app.pasterapp import get_wsgi_app

        return get_wsgi_app(self.app_uri, defaults=self.cfg.paste_global_conf)

    def load(self):
        if self.cfg.paste is not None:
            return self.load_pasteapp()
        return self.load_wsgiapp()


def run(prog=None):
    """The ``gunicorn`` console script: ``gunicorn [OPTIONS] [APP_MODULE]``."""
    WSGIApplication("%(prog)s [OPTIONS] [APP_MODULE]", prog=prog).run()


if __name__ == "__main__":
    run()
