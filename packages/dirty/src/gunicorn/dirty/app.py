"""Dirty apps: the ``DirtyApp`` base class, ``dirty_apps`` spec parsing, and app loading."""

import importlib

from gunicorn.dirty.errors import DirtyAppError, DirtyAppNotFoundError

_SPEC_HELP = "expected 'module.path:ClassName' or 'module.path:ClassName:N' (setting dirty_apps)"

# Exit status of a dirty worker, or dirty arbiter, whose apps cannot be loaded
# (as core's APP_LOAD_ERROR): restarting it cannot help.
APP_LOAD_ERROR = 4

# Methods a duck-typed app must have, besides being callable.
_REQUIRED_METHODS = ("init", "close")


class UnknownActionError(DirtyAppError, ValueError):
    """The app has no public method of that name (a ValueError too, as callers may expect)."""


class DirtyApp:
    """Base class for apps the dirty workers load.

    Each dirty worker makes one instance, calls ``init()`` once, then
    ``app(action, *args, **kwargs)`` per request and ``close()`` when it stops.
    """

    # An int: only that many dirty workers load this app (None: every worker).
    workers = None

    def init(self):
        """Load models, open connections: runs once in each dirty worker after the fork."""

    def __call__(self, action, *args, **kwargs):
        """Run the public method named ``action``."""
        # Private names stay private: a request must not reach _helpers or dunders.
        if not isinstance(action, str) or not action or action.startswith("_"):
            raise UnknownActionError(f"Unknown action: {action}", action=action)
        method = getattr(self, action, None)
        if method is None or not callable(method):
            raise UnknownActionError(f"Unknown action: {action}", action=action)
        return method(*args, **kwargs)

    def close(self):
        """Release what ``init()`` acquired: runs when the dirty worker stops."""


def parse_dirty_app_spec(spec):
    """``(import_path, workers)`` from ``module:Class`` or ``module:Class:N`` (workers None or >= 1)."""
    if not isinstance(spec, str):
        raise DirtyAppError(f"Invalid dirty app spec {spec!r}: {_SPEC_HELP}")
    parts = spec.split(":")
    if len(parts) not in (2, 3) or not all(part and part == part.strip() for part in parts[:2]):
        raise DirtyAppError(f"Invalid dirty app spec {spec!r}: {_SPEC_HELP}", app_path=spec)
    import_path = ":".join(parts[:2])
    if len(parts) == 2:
        return import_path, None
    count = parts[2]
    if not count.isdigit():
        raise DirtyAppError(
            f"Invalid worker count in dirty app spec {spec!r}: expected an integer >= 1 "
            f"after the class name, got {count!r} (setting dirty_apps)",
            app_path=spec,
        )
    if int(count) < 1:
        raise DirtyAppError(
            f"Invalid worker count in dirty app spec {spec!r}: must be >= 1, got {int(count)} "
            "(setting dirty_apps)",
            app_path=spec,
        )
    return import_path, int(count)


def _import_class(import_path):
    module_name, sep, class_name = import_path.partition(":")
    if not sep or not module_name or not class_name or ":" in class_name:
        raise DirtyAppError(
            f"Invalid dirty app path {import_path!r}: expected 'module.path:ClassName' "
            "(setting dirty_apps)",
            app_path=import_path,
        )
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        # Only a missing app module is "not found"; a missing import inside it is a bug to show.
        if exc.name and module_name.startswith(exc.name) and (
            module_name == exc.name or module_name[len(exc.name)] == "."
        ):
            raise DirtyAppNotFoundError(import_path)
        raise DirtyAppError(
            f"Failed to import {import_path}: {exc}", app_path=import_path
        )
    except Exception as exc:
        raise DirtyAppError(
            f"Failed to import {import_path}: {type(exc).__name__}: {exc}", app_path=import_path
        )
    target = module
    for name in class_name.split("."):
        target = getattr(target, name, None)
        if target is None:
            raise DirtyAppNotFoundError(import_path)
    return target


def is_dirty_app(obj):
    """True for a DirtyApp instance or anything with callable init/close that is callable."""
    if isinstance(obj, DirtyApp):
        return True
    return callable(obj) and all(callable(getattr(obj, m, None)) for m in _REQUIRED_METHODS)


def load_dirty_app(import_path):
    """Import ``module:Class`` and return a new instance (``init()`` is the worker's job)."""
    cls = _import_class(import_path)
    if not isinstance(cls, type):
        raise DirtyAppError(
            f"{import_path} is not a class (got {type(cls).__name__})", app_path=import_path
        )
    try:
        app = cls()
    except Exception as exc:
        raise DirtyAppError(
            f"Failed to instantiate {import_path}: {type(exc).__name__}: {exc}",
            app_path=import_path,
        )
    if not is_dirty_app(app):
        missing = [m for m in ("__call__", *_REQUIRED_METHODS) if not callable(getattr(app, m, None))]
        raise DirtyAppError(
            f"{import_path} is not a dirty app: subclass gunicorn.dirty.DirtyApp or define "
            f"{', '.join(missing)}",
            app_path=import_path,
        )
    return app


def load_dirty_apps(specs):
    """``{import_path: instance}`` for each ``dirty_apps`` spec (a ``:N`` suffix is allowed)."""
    apps = {}
    for spec in specs:
        import_path, _workers = parse_dirty_app_spec(spec)
        apps[import_path] = load_dirty_app(import_path)
    return apps


def get_app_workers_attribute(import_path):
    """The class attribute ``workers`` of the app at ``import_path`` (None if unset)."""
    cls = _import_class(import_path)
    return getattr(cls, "workers", None)


def check_app_class(import_path):
    """Raise DirtyAppError unless ``import_path`` names a class shaped like a dirty app.

    The arbiter asks this at start, so an entry that can never load stops the
    server once instead of every dirty worker failing to boot, forever.
    """
    cls = _import_class(import_path)
    if not isinstance(cls, type):
        raise DirtyAppError(
            f"{import_path} is not a class (got {type(cls).__name__})", app_path=import_path
        )
    if issubclass(cls, DirtyApp):
        return
    # a duck-typed app: its class defines __call__ (not only type's), init and close
    calls = any("__call__" in vars(k) for k in cls.__mro__[:-1])
    missing = ([] if calls else ["__call__"]) + [
        m for m in _REQUIRED_METHODS if not callable(getattr(cls, m, None))]
    if missing:
        raise DirtyAppError(
            f"{import_path} is not a dirty app: subclass gunicorn.dirty.DirtyApp or define "
            f"{', '.join(missing)}",
            app_path=import_path,
        )


def app_stash_tables(import_path):
    """The stash tables the app's class declares in ``stashes`` (upstream's docs:
    created when the dirty arbiter starts); ``[]`` when it declares none."""
    tables = getattr(_import_class(import_path), "stashes", None)
    if tables is None:
        return []
    if isinstance(tables, str) or not all(isinstance(t, str) for t in tables):
        raise DirtyAppError(
            f"{import_path}.stashes must be a list of table names, got {tables!r}",
            app_path=import_path,
        )
    return list(tables)


def app_worker_limit(spec):
    """How many dirty workers should load the app of ``spec``: its ``:N``, else the class's
    ``workers`` attribute, else None (all of them)."""
    import_path, count = parse_dirty_app_spec(spec)
    if count is not None:
        return count
    workers = get_app_workers_attribute(import_path)
    if workers is None:
        return None
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise DirtyAppError(
            f"{import_path}.workers must be None or an int >= 1, got {workers!r}",
            app_path=import_path,
        )
    return workers
