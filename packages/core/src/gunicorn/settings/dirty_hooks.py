"""Settings of the "Dirty Arbiter Hooks" section: callables run by the dirty arbiter."""

from gunicorn.settings.base import Setting
from gunicorn.settings.validators import validate_callable

SECTION = "Dirty Arbiter Hooks"


class _Hook(Setting):
    section = SECTION
    type = callable


class OnDirtyStarting(_Hook):
    name = "on_dirty_starting"
    validator = validate_callable(1)

    def default(arbiter):
        pass

    desc = """\
        Called just before the dirty arbiter initializes: ``f(arbiter)``.
        """


class DirtyPostFork(_Hook):
    name = "dirty_post_fork"
    validator = validate_callable(2)

    def default(arbiter, worker):
        pass

    desc = """\
        Called just after a dirty worker was forked: ``f(arbiter, worker)``.
        """


class DirtyWorkerInit(_Hook):
    name = "dirty_worker_init"
    validator = validate_callable(1)

    def default(worker):
        pass

    desc = """\
        Called after a dirty worker loaded its apps: ``f(worker)``.
        """


class DirtyWorkerExit(_Hook):
    name = "dirty_worker_exit"
    validator = validate_callable(2)

    def default(arbiter, worker):
        pass

    desc = """\
        Called after a dirty worker exited: ``f(arbiter, worker)``.
        """
