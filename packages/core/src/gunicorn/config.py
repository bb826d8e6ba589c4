"""``Config``: the validated settings of one server, and the ``gunicorn.config`` names."""

import argparse
import ipaddress
import os
import re
import shlex
import sys

from gunicorn import __version__
from gunicorn.errors import (
    ConfigError,  # noqa: F401  (upstream exposes it here)
    naming_setting,
)
from gunicorn.settings import KNOWN_SETTINGS, SECTIONS, Setting, make_settings
from gunicorn.settings.logs import AccessLogFormat  # noqa: F401  (aiohttp.worker imports it)
from gunicorn.settings.validators import (  # noqa: F401  (public gunicorn.config names)
    ALPN_PROTOCOL_MAP,
    VALID_HTTP_PROTOCOLS,
    auto_int,
    validate_asgi_lifespan,
    validate_asgi_loop,
    validate_bool,
    validate_callable,
    validate_chdir,
    validate_class,
    validate_dict,
    validate_dirty_apps,
    validate_file_exists,
    validate_files_or_globs,
    validate_group,
    validate_header_map_behaviour,
    validate_hostport,
    validate_http2_cleartext,
    validate_http2_frame_size,
    validate_http2_stream_limit,
    validate_http2_window_size,
    validate_http_parser,
    validate_http_protocols,
    validate_list_of_existing_files,
    validate_list_of_files_or_patterns,
    validate_list_string,
    validate_pos_int,
    validate_post_request,
    validate_proxy_protocol,
    validate_reload_engine,
    validate_ssl_version,
    validate_statsd_address,
    validate_string,
    validate_string_to_addr_list,
    validate_string_to_list,
    validate_user,
)

__all__ = ["Config", "Setting", "KNOWN_SETTINGS", "make_settings", "get_default_config_file"]

# Upstream's setting classes are importable from here (``from gunicorn.config
# import AccessLogFormat``): publish every core one under its class name.
for _setting_class in list(KNOWN_SETTINGS):
    globals().setdefault(_setting_class.__name__, _setting_class)
del _setting_class

PLATFORM = sys.platform
DEFAULT_LOGGER = "gunicorn.glogging.Logger"
STATSD_LOGGER = "gunicorn.instrument.statsd.Statsd"
THREADED_WORKER = "gunicorn.workers.gthread.ThreadWorker"
SENDFILE_TRUE = ("y", "1", "yes", "true")


def __getattr__(name):
    # upstream's name -> reloader class map, loaded only when asked for
    if name == "reloader_engines":
        from gunicorn.reloader import reloader_engines

        return reloader_engines
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def get_default_config_file():
    """``./gunicorn.conf.py`` as an absolute path when it exists, else None."""
    path = os.path.join(os.path.abspath(os.getcwd()), "gunicorn.conf.py")
    if os.path.exists(path):
        return path
    return None


class Config:
    """The settings of one server: ``cfg.<name>`` reads a validated value.

    Values change only through ``set(name, value)``; assigning an attribute
    that names a setting raises, as upstream.

    Reads are on every request's path, so each setting's current value is
    mirrored into the instance ``__dict__`` (a plain attribute read, no
    ``__getattr__`` call); the ``Setting`` objects push every change here.
    ``_settings_version`` grows with each change, so caches derived from the
    settings (``gunicorn.config_derived``) can tell they are stale.
    """

    def __init__(self, usage=None, prog=None):
        self.settings = make_settings()
        self.usage = usage
        self.prog = prog or os.path.basename(sys.argv[0])
        # Restored by the arbiter on re-exec.
        self.env_orig = os.environ.copy()

    def __str__(self):
        lines = []
        width = max((len(name) for name in self.settings), default=0)
        for name in sorted(self.settings):
            value = self.settings[name].value
            if callable(value):
                value = f"<{getattr(value, '__qualname__', repr(value))}()>"
            lines.append(f"{name:{width}} = {value}")
        return "\n".join(lines)

    def __getattr__(self, name):
        # Only called for names not found normally: settings that are not
        # mirrored (a subclass overriding ``get``) or not known at all.
        settings = self.__dict__.get("settings")
        if settings is None or name not in settings:
            raise AttributeError(f"No configuration setting for: {name}")
        return settings[name].get()

    def __setattr__(self, name, value):
        if name == "settings":
            self._adopt(value)
            return
        if name in self.__dict__.get("settings", ()):
            raise AttributeError("Invalid access!")
        super().__setattr__(name, value)

    def _adopt(self, settings):
        """Make ``settings`` this Config's, mirroring each plain setting's value."""
        state = self.__dict__
        for setting in (state.get("settings") or {}).values():
            mirrors = getattr(setting, "_mirrors", ())
            if self in mirrors:
                setting._mirrors = tuple(cfg for cfg in mirrors if cfg is not self)
            state.pop(setting.name, None)
        state["settings"] = settings
        for name, setting in settings.items():
            if _mirrorable(setting) and setting.name == name:
                setting._mirrors = setting._mirrors + (self,)
                state[name] = setting.get()
        state["_settings_version"] = state.get("_settings_version", 0) + 1

    def _setting_changed(self, setting):
        # Called by Setting.value's setter (for every Config mirroring it).
        state = self.__dict__
        state[setting.name] = setting.get()
        state["_settings_version"] += 1

    def set(self, name, value):
        if name not in self.settings:
            raise AttributeError(f"No configuration setting for: {name}")
        self.settings[name].set(value)

    def get_cmd_args_from_env(self):
        if "GUNICORN_CMD_ARGS" in os.environ:
            try:
                return shlex.split(os.environ["GUNICORN_CMD_ARGS"])
            except ValueError as exc:
                raise ValueError(f"GUNICORN_CMD_ARGS: {exc}") from None
        return []

    def parser(self):
        """An argparse parser for every setting with flags, grouped by section."""
        parser = argparse.ArgumentParser(usage=self.usage, prog=self.prog)
        parser.add_argument("-v", "--version", action="version", default=argparse.SUPPRESS,
                            version=f"%(prog)s (version {__version__})\n",
                            help="show program's version number and exit")
        parser.add_argument("args", nargs="*", help=argparse.SUPPRESS)

        groups = {}
        ordered = sorted(self.settings.values(), key=_section_order)
        for setting in ordered:
            if not setting.cli:
                continue
            group = groups.get(setting.section)
            if group is None:
                group = groups[setting.section] = parser.add_argument_group(setting.section)
            setting.add_option(group)
        return parser

    @property
    def worker_class_str(self):
        uri = self.settings["worker_class"].get()
        if isinstance(uri, str):
            if _is_sync(uri) and self.threads > 1:
                return "gthread"
            return uri
        return uri.__name__

    @property
    def worker_class(self):
        from gunicorn.importing import load_class

        uri = self.settings["worker_class"].get()
        if isinstance(uri, str) and _is_sync(uri) and self.threads > 1:
            uri = THREADED_WORKER
        with naming_setting("worker_class"):
            worker_class = load_class(uri)
        if hasattr(worker_class, "setup"):
            worker_class.setup()
        return worker_class

    @property
    def address(self):
        from gunicorn.addresses import parse_address

        addresses = []
        for bind in self.settings["bind"].get():
            bind = _text(bind)
            with naming_setting("bind", bind):
                addresses.append(parse_address(bind))
        return addresses

    @property
    def uid(self):
        return self.settings["user"].get()

    @property
    def gid(self):
        return self.settings["group"].get()

    @property
    def proc_name(self):
        name = self.settings["proc_name"].get()
        if name is not None:
            return name
        return self.settings["default_proc_name"].get()

    @property
    def logger_class(self):
        from gunicorn.importing import load_class

        uri = self.settings["logger_class"].get()
        if uri == "simple":
            uri = DEFAULT_LOGGER
        statsd = self.settings.get("statsd_host")
        if uri == DEFAULT_LOGGER and statsd is not None and statsd.value is not None:
            uri = STATSD_LOGGER
        with naming_setting("logger_class"):
            logger_class = load_class(uri, default=DEFAULT_LOGGER, section="gunicorn.loggers")
        if hasattr(logger_class, "install"):
            logger_class.install()
        return logger_class

    @property
    def is_ssl(self):
        return bool(self.certfile or self.keyfile)

    @property
    def ssl_options(self):
        return {name: setting.get() for name, setting in self.settings.items()
                if setting.section == "SSL"}

    @property
    def env(self):
        env = {}
        for item in self.settings["raw_env"].get() or ():
            key, sep, value = _text(item).partition("=")
            if not sep:
                raise RuntimeError(f"Invalid value for raw_env: environment setting {item!r} "
                                   "invalid (KEY=VALUE expected)")
            env[key] = value
        return env

    @property
    def sendfile(self):
        value = self.settings["sendfile"].get()
        if value is not None:
            return bool(value)
        if "SENDFILE" in os.environ:
            return os.environ["SENDFILE"].lower() in SENDFILE_TRUE
        return True

    @property
    def reuse_port(self):
        return self.settings["reuse_port"].get()

    @property
    def paste_global_conf(self):
        raw = self.settings["raw_paste_global_conf"].get()
        if raw is None:
            return None
        conf = {}
        for item in raw:
            # ``\=`` is an escaped equals sign inside the key.
            parts = re.split(r"(?<!\\)=", _text(item), maxsplit=1)
            if len(parts) != 2:
                raise RuntimeError(f"Invalid value for raw_paste_global_conf: environment setting "
                                   f"{item!r} invalid (KEY=VALUE expected)")
            key, value = (part.replace("\\=", "=") for part in parts)
            conf[key] = value
        return conf

    def forwarded_allow_networks(self):
        return _networks(self.forwarded_allow_ips)

    def proxy_allow_networks(self):
        return _networks(self.proxy_allow_ips)


def _mirrorable(setting):
    # Only settings whose value is exactly what ``get()`` returns can be mirrored.
    cls = type(setting)
    return cls.get is Setting.get and getattr(cls, "value", None) is _VALUE_PROPERTY


_VALUE_PROPERTY = Setting.__dict__["value"]


def _section_order(setting):
    try:
        section = SECTIONS.index(setting.section)
    except ValueError:
        section = len(SECTIONS)
    return (section, setting.order)


def _is_sync(uri):
    return uri == "sync" or uri.endswith("SyncWorker")


def _text(value):
    if isinstance(value, bytes):
        return value.decode("latin-1")
    return value


def _networks(addresses):
    """``ip_network`` objects for an address list; ``*`` (any peer) adds none."""
    return [ipaddress.ip_network(addr, strict=False) for addr in addresses or () if addr != "*"]
