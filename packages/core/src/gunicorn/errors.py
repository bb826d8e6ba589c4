"""Exceptions shared by the config, the application loader and the arbiter."""


class HaltServer(BaseException):
    """Stops the master; raised where continuing would be worse than exiting.

    A ``BaseException`` so that broad ``except Exception`` blocks in hooks and
    workers cannot swallow the request to stop.
    """

    def __init__(self, reason, exit_status=1):
        super().__init__(reason, exit_status)
        self.reason = reason
        self.exit_status = exit_status

    def __str__(self):
        return f"<HaltServer {self.reason!r} {self.exit_status}>"


class ConfigError(Exception):
    """A setting has a value that cannot be used."""


class AppImportError(Exception):
    """The application named on the command line could not be loaded."""
