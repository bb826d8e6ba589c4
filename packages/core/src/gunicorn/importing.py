"""Turn strings from the command line into objects: apps, worker and logger classes."""

import ast
import importlib
import inspect
import logging
import os
import sys
import traceback

from gunicorn import plugins
from gunicorn.errors import AppImportError

DEFAULT_APP_VARIABLE = "application"


def import_app(module):
    """Load the WSGI app named by ``module[:expression]``.

    The expression is a variable name or a call of a module-level factory with
    literal arguments, e.g. ``create_app('prod', debug=False)``. It is parsed
    with ``ast`` and never evaluated as code.
    """
    module_name, sep, expression = module.partition(":")
    if not sep:
        expression = DEFAULT_APP_VARIABLE

    try:
        mod = importlib.import_module(module_name)
    except ImportError:
        if module_name.endswith(".py") and os.path.exists(module_name):
            hint = module_name.rsplit(".", 1)[0]
            raise ImportError(
                f"Failed to find application, did you mean '{hint}:{expression}'?"
            ) from None
        raise

    name, args, kwargs = _parse_app_expression(expression)

    try:
        app = getattr(mod, name)
    except AttributeError:
        if logging.root.level == logging.DEBUG:
            traceback.print_exc()
        raise AppImportError(f"Failed to find attribute {name!r} in {module_name!r}.") from None

    if args is not None:
        app = _call_factory(app, args, kwargs)

    if app is None:
        raise AppImportError(f"Failed to find application object: {expression!r}")
    if not callable(app):
        raise AppImportError("Application object must be callable.")
    return app


def _parse_app_expression(expression):
    """``name`` -> (name, None, None); ``name(1, x='y')`` -> (name, [1], {'x': 'y'})."""
    try:
        node = ast.parse(expression.strip(), mode="eval").body
    except SyntaxError:
        raise AppImportError(
            f"Failed to parse {expression!r} as an attribute name or function call."
        ) from None

    if isinstance(node, ast.Name):
        return node.id, None, None
    if not isinstance(node, ast.Call):
        raise AppImportError(
            f"Failed to parse {expression!r} as an attribute name or function call."
        )
    if not isinstance(node.func, ast.Name):
        raise AppImportError(f"Function reference must be a simple name: {expression!r}")
    try:
        args = [ast.literal_eval(arg) for arg in node.args]
        kwargs = {kw.arg: ast.literal_eval(kw.value) for kw in node.keywords}
    except ValueError:
        raise AppImportError(
            f"Failed to parse arguments as literal values: {expression!r}"
        ) from None
    if None in kwargs:
        # ``**mapping`` has no keyword name and no literal meaning here.
        raise AppImportError(f"Failed to parse arguments as literal values: {expression!r}")
    return node.func.id, args, kwargs


def _call_factory(factory, args, kwargs):
    try:
        return factory(*args, **kwargs)
    except TypeError:
        # A TypeError raised by the call itself (wrong arguments) is the user's
        # spec; one raised inside the factory body is a bug to show as is.
        if _failed_at_call(sys.exc_info()[2], factory):
            # one line, as for the other spec errors: the frame adds nothing
            raise AppImportError(
                "".join(traceback.format_exception_only(*sys.exc_info()[:2])).strip()
            ) from None
        raise


def _failed_at_call(tb, factory):
    code = getattr(factory, "__code__", None)
    while tb is not None:
        if code is not None and tb.tb_frame.f_code is code:
            return False
        tb = tb.tb_next
    return True


def get_arity(f):
    """How many positional parameters ``f`` declares (``self`` excluded for methods)."""
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return sum(1 for p in inspect.signature(f).parameters.values() if p.kind in positional)


def accepts_positional(f, count):
    """True when ``f`` can be called with exactly ``count`` positional arguments."""
    try:
        params = inspect.signature(f).parameters.values()
    except (TypeError, ValueError):
        return False
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    required = sum(1 for p in params if p.kind in positional and p.default is p.empty)
    total = sum(1 for p in params if p.kind in positional)
    var = any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in params)
    kw_required = any(p.kind is inspect.Parameter.KEYWORD_ONLY and p.default is p.empty
                      for p in params)
    return not kw_required and required <= count and (count <= total or var)


def load_class(uri, default="gunicorn.workers.sync.SyncWorker", section="gunicorn.workers"):
    """Resolve a worker (or logger) class from what the user wrote.

    Accepts a class object, a short name (``SUPPORTED_WORKERS`` for workers,
    then an entry point of ``section``), ``egg:dist#name`` and a dotted path.
    """
    if inspect.isclass(uri):
        return uri

    if uri.startswith("egg:"):
        dist, sep, name = uri[len("egg:"):].rpartition("#")
        if not sep:
            dist, name = name, default
        try:
            return plugins.load_entry_point(section, name, dist=dist)
        except Exception as exc:
            raise RuntimeError(f"class uri {uri!r} invalid or not found: {exc}") from exc

    name = uri.lstrip("#")
    if "." not in name:
        return _load_short_name(uri, name, section)
    return _import_dotted(uri, name)


def _load_short_name(uri, name, section):
    kind = "worker class" if section == plugins.WORKERS_GROUP else "class"
    if section == plugins.WORKERS_GROUP:
        from gunicorn.workers import SUPPORTED_WORKERS

        path = SUPPORTED_WORKERS.get(name)
        if path is not None:
            plugins.require_extension(kind, name)
            return _import_dotted(uri, path)
    ep = plugins.find_entry_point(section, name)
    if ep is None:
        plugins.require_extension(kind, name)
        raise RuntimeError(
            f"class uri {uri!r} invalid or not found: no such name in {section!r}"
        )
    try:
        return ep.load()
    except ImportError as exc:
        raise RuntimeError(f"class uri {uri!r} invalid or not found: {exc}") from exc


def _import_dotted(uri, path):
    module_name, _, attr = path.rpartition(".")
    try:
        mod = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        # gunicorn.workers.ggevent.GeventWorker without gunicorn-workers-async
        missing = plugins.missing_module_extension(module_name, "worker class", uri)
        if missing is not None:
            raise missing from None
        raise RuntimeError(f"class uri {uri!r} invalid or not found: {exc!r}") from exc
    except Exception as exc:
        # Anything the module raises on import makes the class unusable.
        raise RuntimeError(f"class uri {uri!r} invalid or not found: {exc!r}") from exc
    try:
        return getattr(mod, attr)
    except AttributeError:
        raise RuntimeError(
            f"class uri {uri!r} invalid or not found: {module_name!r} has no {attr!r}"
        ) from None
