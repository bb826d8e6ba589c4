"""Entry-point groups, the plugin API version, and "install gunicorn[extra]" messages.

Sibling distributions (gunicorn-http2, gunicorn-dirty, gunicorn-workers-async,
gunicorn-uwsgi) plug into core only through the entry-point groups named here.
Core never imports their packages directly: it finds them by entry point or by
``importlib.util.find_spec``, so a missing sibling is reported, not crashed on.
"""

import importlib
import importlib.util
from importlib import metadata

from gunicorn import __version__

PLUGIN_API_VERSION = (1, 0)

WORKERS_GROUP = "gunicorn.workers"
PROTOCOLS_GROUP = "gunicorn.protocols"
SETTINGS_GROUP = "gunicorn.settings"
COMPANIONS_GROUP = "gunicorn.companions"
CONTROL_COMMANDS_GROUP = "gunicorn.control_commands"
LOGGERS_GROUP = "gunicorn.loggers"


class Extension:
    """What a name needs: the sibling distribution, its package, and the pip extra."""

    __slots__ = ("distribution", "package", "extra", "requires")

    def __init__(self, distribution, package, extra, requires=()):
        self.distribution = distribution
        self.package = package        # module that only the sibling ships
        self.extra = extra            # ``pip install gunicorn[extra]``
        self.requires = requires      # third-party top-level modules it needs


_ASYNC = "gunicorn-workers-async"
_GEVENT = Extension(_ASYNC, "gunicorn.workers.ggevent", "gevent", ("gevent",))
_EVENTLET = Extension(_ASYNC, "gunicorn.workers.geventlet", "eventlet", ("eventlet",))
_TORNADO = Extension(_ASYNC, "gunicorn.workers.gtornado", "tornado", ("tornado",))
_ASGI = Extension(_ASYNC, "gunicorn.workers.gasgi", "asgi")
_UWSGI = Extension("gunicorn-uwsgi", "gunicorn.uwsgi", "uwsgi")
_HTTP2 = Extension("gunicorn-http2", "gunicorn.http2", "http2", ("h2",))
_DIRTY = Extension("gunicorn-dirty", "gunicorn.dirty", "dirty")

# (kind, name) -> Extension; "kind" is the wording used in the message.
EXTENSIONS = {
    ("worker class", "gevent"): _GEVENT,
    ("worker class", "gevent_wsgi"): _GEVENT,
    ("worker class", "gevent_pywsgi"): _GEVENT,
    ("worker class", "eventlet"): _EVENTLET,
    ("worker class", "tornado"): _TORNADO,
    ("worker class", "asgi"): _ASGI,
    ("protocol", "uwsgi"): _UWSGI,
    ("http_protocols", "h2"): _HTTP2,
    ("setting", "dirty_apps"): _DIRTY,
    ("setting", "dirty_workers"): _DIRTY,
}


class MissingExtension(RuntimeError):
    """A name belongs to a sibling distribution (or library) that is not installed.

    A ``RuntimeError`` so that ``BaseApplication.run`` prints it as one
    ``Error:`` line and exits 1.
    """

    #: Its message already says which setting needs which extra (naming_setting).
    names_setting = True

    def __init__(self, kind, name, missing, extra):
        self.kind = kind
        self.name = name
        self.missing = missing
        self.extra = extra
        super().__init__(f"{kind} {name!r} needs {missing}: pip install gunicorn[{extra}]")


def require_plugin_api(dist_name, major):
    """Called by a sibling when loaded: fail clearly if core speaks another API."""
    if int(major) != PLUGIN_API_VERSION[0]:
        have = ".".join(str(part) for part in PLUGIN_API_VERSION)
        raise RuntimeError(
            f"{dist_name} needs gunicorn plugin API {major}.x, but gunicorn {__version__} "
            f"provides {have}: install versions of gunicorn and {dist_name} that match"
        )
    return PLUGIN_API_VERSION


def entry_points(group):
    """Every entry point in ``group``, first registration of each name winning."""
    seen = {}
    for ep in metadata.entry_points(group=group):
        seen.setdefault(ep.name, ep)
    return list(seen.values())


def find_entry_point(group, name, dist=None):
    """The entry point ``name`` in ``group`` (of distribution ``dist`` if given), or None."""
    for ep in metadata.entry_points(group=group):
        if ep.name != name:
            continue
        if dist is not None and _dist_name(ep) not in (dist, _normalize(dist)):
            continue
        return ep
    return None


def load_entry_point(group, name, dist=None):
    """Load entry point ``name`` from ``group``; LookupError when nothing registers it."""
    ep = find_entry_point(group, name, dist)
    if ep is None:
        where = f" of distribution {dist!r}" if dist else ""
        raise LookupError(f"no entry point {name!r} in group {group!r}{where}")
    return ep.load()


def _normalize(dist):
    return dist.lower().replace("_", "-").replace(".", "-")


def _dist_name(ep):
    dist = getattr(ep, "dist", None)
    if dist is None:
        return None
    return _normalize(dist.metadata["Name"] or "")


def extension_for(kind, name):
    """The ``Extension`` a name needs, or None when core provides it."""
    return EXTENSIONS.get((kind, name))


def missing_extension(kind, name):
    """A ``MissingExtension`` for ``name`` when what it needs is absent, else None."""
    ext = extension_for(kind, name)
    if ext is None:
        return None
    if not _module_available(ext.package):
        return MissingExtension(kind, name, f"the {ext.distribution} distribution", ext.extra)
    for module in ext.requires:
        if not _module_available(module):
            return MissingExtension(kind, name, f"the {module!r} package", ext.extra)
    return None


def missing_module_extension(module, kind, name):
    """A ``MissingExtension`` when ``module`` is shipped by a sibling that is absent."""
    for ext in EXTENSIONS.values():
        if module == ext.package or module.startswith(ext.package + "."):
            if not _module_available(ext.package):
                return MissingExtension(kind, name, f"the {ext.distribution} distribution",
                                        ext.extra)
    return None


def require_extension(kind, name):
    """Raise ``MissingExtension`` when ``name`` needs something not installed."""
    error = missing_extension(kind, name)
    if error is not None:
        raise error


def _module_available(module):
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        # find_spec imports parents; a parent that fails to import means absent.
        return False


def check_config(cfg):
    """Raise ``MissingExtension`` for settings whose sibling is not installed,
    ``RuntimeError`` for a protocol no installed distribution registers and for
    ``--paste`` without PasteDeploy.

    Only looks for the modules (no import), so it is safe before daemonizing
    and before a worker class's ``setup()`` (e.g. gevent's monkey patching).
    """
    worker = getattr(cfg, "worker_class_str", None)
    if isinstance(worker, str):
        require_extension("worker class", worker)
    protocol = getattr(cfg, "protocol", "http")
    if protocol:
        require_extension("protocol", protocol)
        # (Core's own "http" is there even without distribution metadata: a
        # source tree on PYTHONPATH serves it, see wsgi.serve.protocol_class.)
        if protocol != "http" and find_entry_point(PROTOCOLS_GROUP, protocol) is None:
            # else every worker would fail to boot on it (exit 3, a traceback each)
            known = ", ".join(sorted({ep.name for ep in entry_points(PROTOCOLS_GROUP)})) or "none"
            raise RuntimeError(f"Invalid value for protocol: {protocol!r} is not a known "
                               f"protocol (installed: {known})")
    for proto in getattr(cfg, "http_protocols", None) or ():
        require_extension("http_protocols", proto)
    paste = getattr(cfg, "paste", None)
    if isinstance(paste, str) and not _module_available("paste.deploy"):
        # else the master starts and every worker fails to boot on the import
        raise RuntimeError(f"Invalid value for paste: {paste!r} needs the PasteDeploy package: "
                           "pip install PasteDeploy")
    if getattr(cfg, "dirty_apps", None):
        require_extension("setting", "dirty_apps")
    if getattr(cfg, "dirty_workers", 0):
        require_extension("setting", "dirty_workers")


def load_protocol(name):
    """The protocol class registered as ``name`` in ``gunicorn.protocols``."""
    require_extension("protocol", name)
    try:
        return load_entry_point(PROTOCOLS_GROUP, name)
    except LookupError:
        known = ", ".join(sorted(ep.name for ep in entry_points(PROTOCOLS_GROUP))) or "none"
        raise RuntimeError(f"unknown protocol {name!r} (installed: {known})") from None


def companions():
    """``[(name, class)]`` of arbiter companions registered by installed siblings."""
    return [(ep.name, ep.load()) for ep in entry_points(COMPANIONS_GROUP)]


def control_commands():
    """``{name: handler}`` of control commands registered by installed siblings."""
    return {ep.name: ep.load() for ep in entry_points(CONTROL_COMMANDS_GROUP)}


def settings_modules():
    """Import every module registered in ``gunicorn.settings``; return their names."""
    names = []
    for ep in entry_points(SETTINGS_GROUP):
        # The value names a module; importing it defines (and registers) Settings.
        importlib.import_module(ep.value.split(":", 1)[0].strip())
        names.append(ep.value)
    return names
