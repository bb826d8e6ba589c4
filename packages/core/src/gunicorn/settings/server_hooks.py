"""Settings of the "Server Hooks" section: callables run at points of the server's life.

Each default does nothing and has the arity the validator requires; a config
file may give a function or a dotted ``module.attr`` string.
"""

from gunicorn.settings.base import Setting
from gunicorn.settings.validators import validate_callable, validate_post_request

SECTION = "Server Hooks"


class _Hook(Setting):
    section = SECTION
    type = callable


class OnStarting(_Hook):
    name = "on_starting"
    validator = validate_callable(1)

    def default(server):
        pass

    desc = """\
        Called just before the master process is initialized: ``f(server)``.
        """


class OnReload(_Hook):
    name = "on_reload"
    validator = validate_callable(1)

    def default(server):
        pass

    desc = """\
        Called to recycle workers during a reload via SIGHUP: ``f(server)``.
        """


class WhenReady(_Hook):
    name = "when_ready"
    validator = validate_callable(1)

    def default(server):
        pass

    desc = """\
        Called just after the server is started: ``f(server)``.
        """


class Prefork(_Hook):
    name = "pre_fork"
    validator = validate_callable(2)

    def default(server, worker):
        pass

    desc = """\
        Called in the master just before a worker is forked: ``f(server, worker)``.
        """


class Postfork(_Hook):
    name = "post_fork"
    validator = validate_callable(2)

    def default(server, worker):
        pass

    desc = """\
        Called in the worker just after it was forked: ``f(server, worker)``.
        """


class PostWorkerInit(_Hook):
    name = "post_worker_init"
    validator = validate_callable(1)

    def default(worker):
        pass

    desc = """\
        Called just after a worker has initialized the application: ``f(worker)``.
        """


class WorkerInt(_Hook):
    name = "worker_int"
    validator = validate_callable(1)

    def default(worker):
        pass

    desc = """\
        Called when a worker exits on SIGINT or SIGQUIT: ``f(worker)``.
        """


class WorkerAbort(_Hook):
    name = "worker_abort"
    validator = validate_callable(1)

    def default(worker):
        pass

    desc = """\
        Called when a worker receives SIGABRT, usually on timeout: ``f(worker)``.
        """


class PreExec(_Hook):
    name = "pre_exec"
    validator = validate_callable(1)

    def default(server):
        pass

    desc = """\
        Called just before a new master process is forked (USR2): ``f(server)``.
        """


class PreRequest(_Hook):
    name = "pre_request"
    validator = validate_callable(2)

    def default(worker, req):
        worker.log.debug("%s %s", req.method, req.path)

    desc = """\
        Called just before a worker processes a request: ``f(worker, req)``.
        """


class PostRequest(_Hook):
    name = "post_request"
    validator = validate_post_request

    def default(worker, req, environ, resp):
        pass

    desc = """\
        Called after a worker processes a request: ``f(worker, req, environ, resp)``.

        Callables taking two or three arguments are accepted too.
        """


class ChildExit(_Hook):
    name = "child_exit"
    validator = validate_callable(2)

    def default(server, worker):
        pass

    desc = """\
        Called in the master just after a worker exited: ``f(server, worker)``.
        """


class WorkerExit(_Hook):
    name = "worker_exit"
    validator = validate_callable(2)

    def default(server, worker):
        pass

    desc = """\
        Called in the worker process just as it exits: ``f(server, worker)``.
        """


class NumWorkersChanged(_Hook):
    name = "nworkers_changed"
    validator = validate_callable(3)

    def default(server, new_value, old_value):
        pass

    desc = """\
        Called when the number of workers changes: ``f(server, new, old)``.

        ``old`` is None on the first call.
        """


class OnExit(_Hook):
    name = "on_exit"
    validator = validate_callable(1)

    def default(server):
        pass

    desc = """\
        Called just before the master exits: ``f(server)``.
        """


class NewSSLContext(_Hook):
    name = "ssl_context"
    validator = validate_callable(2)

    def default(config, default_ssl_context_factory):
        return default_ssl_context_factory()

    desc = """\
        Called when building the TLS context: ``f(config, default_factory)``.

        Must return an ``ssl.SSLContext``; ``default_factory()`` builds the
        default one from the SSL settings.
        """
