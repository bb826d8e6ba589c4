"""The server's error and access logs: levels, handlers, access-log atoms, syslog, logconfig."""

import base64
import binascii
import datetime
import json
import logging
import logging.config
import logging.handlers
import os
import socket
import sys
import threading
import time
import traceback

from gunicorn.config_derived import derived_from_settings
from gunicorn.errors import naming_setting

LOG_LEVELS = {
    "critical": logging.CRITICAL,
    "error": logging.ERROR,
    "warning": logging.WARNING,
    "info": logging.INFO,
    "debug": logging.DEBUG,
}

# Names accepted by --log-syslog-facility; the stdlib table already holds the RFC 5424 codes.
SYSLOG_FACILITIES = dict(logging.handlers.SysLogHandler.facility_names)

SYSLOG_DEFAULT_PORT = 514

# Base for logconfig_dict / logconfig_json: a user mapping replaces these keys one by one.
CONFIG_DEFAULTS = {
    "version": 1,
    "disable_existing_loggers": False,
    "root": {"level": "INFO", "handlers": ["console"]},
    "loggers": {
        "gunicorn.error": {
            "level": "INFO",
            "handlers": ["error_console"],
            "propagate": True,
            "qualname": "gunicorn.error",
        },
        "gunicorn.access": {
            "level": "INFO",
            "handlers": ["console"],
            "propagate": True,
            "qualname": "gunicorn.access",
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "generic",
            "stream": "ext://sys.stdout",
        },
        "error_console": {
            "class": "logging.StreamHandler",
            "formatter": "generic",
            "stream": "ext://sys.stderr",
        },
    },
    "formatters": {
        "generic": {
            "format": "%(asctime)s [%(process)d] [%(levelname)s] %(message)s",
            "datefmt": "[%Y-%m-%d %H:%M:%S %z]",
            "class": "logging.Formatter",
        },
    },
}

# Common Log Format months are English whatever the process locale says.
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun",
           "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

_ONE_MICROSECOND = datetime.timedelta(microseconds=1)


def loggers():
    """Every logger the process has made, the root one included."""
    found = [logging.getLogger()]
    for name in list(logging.root.manager.loggerDict):
        logger = logging.root.manager.loggerDict.get(name)
        if isinstance(logger, logging.Logger):
            found.append(logger)
    return found


class SafeAtoms(dict):
    """Access-log atoms for %-formatting: quotes escaped, unknown names render as '-'."""

    def __init__(self, atoms):
        # The default format wraps r, f and a in double quotes: escape them in every string.
        dict.__init__(self, {
            key: value.replace('"', '\\"') if type(value) is str and '"' in value else value
            for key, value in atoms.items()
        })

    # No __getitem__ override: exact hits stay in C, dict calls __missing__ for the rest.
    def __missing__(self, key):
        if key.startswith("{"):
            # {Header-Name}i / {Header}o / {VAR}e: names are stored lower-cased.
            lowered = key.lower()
            if lowered != key and dict.__contains__(self, lowered):
                return dict.__getitem__(self, lowered)
        return "-"


def parse_syslog_address(addr):
    """Turn a syslog_addr setting into (socktype, address) for SysLogHandler.

    unix:// paths return socktype None (the handler tries datagram then
    stream) unless '#dgram' or '#stream' pins it.
    """
    if addr.startswith("unix://"):
        path, _, kind = addr[len("unix://"):].partition("#")
        socktype = {"dgram": socket.SOCK_DGRAM, "stream": socket.SOCK_STREAM}.get(kind)
        return socktype, path
    if addr.startswith("udp://"):
        socktype, rest = socket.SOCK_DGRAM, addr[len("udp://"):]
    elif addr.startswith("tcp://"):
        socktype, rest = socket.SOCK_STREAM, addr[len("tcp://"):]
    else:
        raise RuntimeError("invalid syslog address: %r" % addr)

    if rest.startswith("["):
        # [ipv6]:port
        host, _, tail = rest[1:].partition("]")
        port = tail[1:] if tail.startswith(":") else ""
    elif rest.count(":") == 1:
        host, _, port = rest.partition(":")
    else:
        host, port = rest, ""
    host = host.lower() or "localhost"
    if not port:
        return socktype, (host, SYSLOG_DEFAULT_PORT)
    if not port.isdigit():
        raise RuntimeError("%r is not a valid port number." % port)
    return socktype, (host, int(port))


def _status_code(status):
    """The numeric part of a status: '200 OK', b'200 OK', 200 or an HTTPStatus."""
    if status is None:
        return "-"
    if isinstance(status, bytes):
        status = status.decode("latin-1")
    if isinstance(status, str):
        parts = status.split(None, 1)
        return parts[0] if parts else "-"
    return str(int(status))


def _as_timedelta(request_time):
    if isinstance(request_time, datetime.timedelta):
        return request_time
    if isinstance(request_time, (int, float)):
        return datetime.timedelta(seconds=request_time)
    return datetime.timedelta(0)


def _protocol_name(version):
    if isinstance(version, tuple) and len(version) == 2:
        return "HTTP/%s.%s" % version
    return None


def _text(value):
    if isinstance(value, bytes):
        return value.decode("latin-1")
    return value


def _header_pairs(headers):
    """(name, value) pairs from a list of pairs or a mapping; other shapes give nothing."""
    if headers is None:
        return ()
    if hasattr(headers, "items"):
        headers = headers.items()
    try:
        return [(name if type(name) is str else _text(name),
                 value if type(value) is str else _text(value))
                for name, value in headers]
    except (TypeError, ValueError):
        return ()


def _environ_headers(environ):
    """Request headers rebuilt from HTTP_* keys, for callers that pass no req."""
    pairs = []
    for key, value in environ.items():
        if isinstance(key, str) and key.startswith("HTTP_"):
            pairs.append((key[5:].replace("_", "-"), value))
    for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(key):
            pairs.append((key.replace("_", "-"), environ[key]))
    return pairs


@derived_from_settings
def _access_log_enabled(cfg):
    """Whether ``cfg`` sends access lines anywhere (a file, a logging config, syslog)."""
    return bool(
        getattr(cfg, "accesslog", None)
        or getattr(cfg, "logconfig", None)
        or getattr(cfg, "logconfig_dict", None)
        or getattr(cfg, "logconfig_json", None)
        or (getattr(cfg, "syslog", False)
            and not getattr(cfg, "disable_redirect_access_to_syslog", False)))


class Logger:
    """The error log (gunicorn.error) and access log (gunicorn.access) of a server."""

    LOG_LEVELS = LOG_LEVELS
    loglevel = logging.INFO

    error_fmt = r"%(asctime)s [%(process)d] [%(levelname)s] %(message)s"
    datefmt = r"[%Y-%m-%d %H:%M:%S %z]"
    access_fmt = "%(message)s"
    syslog_fmt = "[%(process)d] %(message)s"

    atoms_wrapper_class = SafeAtoms

    def __init__(self, cfg):
        self.error_log = logging.getLogger("gunicorn.error")
        self.error_log.propagate = False
        self.access_log = logging.getLogger("gunicorn.access")
        self.access_log.propagate = False
        self.error_handlers = []
        self.access_handlers = []
        self.logfile = None
        self.lock = threading.Lock()
        self.cfg = cfg
        self.setup(cfg)

    # -- configuration ---------------------------------------------------

    def setup(self, cfg):
        """(Re)build handlers from cfg; runs at start and again on HUP."""
        self.cfg = cfg
        self.loglevel = self.LOG_LEVELS.get(str(cfg.loglevel).lower(), logging.INFO)
        # A logging config that failed halfway may have disabled them
        # (disable_existing_loggers): this setup decides afresh.
        self.error_log.disabled = False
        self.access_log.disabled = False
        self.error_log.setLevel(self.loglevel)
        self.access_log.setLevel(logging.INFO)
        self._drop_own_handlers()

        errorlog = getattr(cfg, "errorlog", "-")
        with naming_setting("errorlog"):
            if getattr(cfg, "capture_output", False) and errorlog not in (None, "-"):
                self._capture_stdio(errorlog)
            self._set_handler(self.error_log, errorlog,
                              logging.Formatter(self.error_fmt, self.datefmt))
        accesslog = getattr(cfg, "accesslog", None)
        if accesslog is not None:
            with naming_setting("accesslog"):
                self._set_handler(self.access_log, accesslog,
                                  logging.Formatter(self.access_fmt), stream=sys.stdout)

        if getattr(cfg, "syslog", False):
            self._set_syslog_handler(self.error_log, cfg, self.syslog_fmt, "error")
            if not getattr(cfg, "disable_redirect_access_to_syslog", False):
                self._set_syslog_handler(self.access_log, cfg, self.syslog_fmt, "access")

        self._apply_logconfig(cfg)

    def _drop_own_handlers(self):
        # Handlers from any earlier setup (this or another Logger instance) carry _gunicorn.
        for log in (self.error_log, self.access_log):
            for handler in list(log.handlers):
                if getattr(handler, "_gunicorn", False):
                    log.removeHandler(handler)
                    handler.close()
        self.error_handlers = []
        self.access_handlers = []

    # _get_gunicorn_handler, _set_handler and _set_syslog_handler keep their upstream
    # names and signatures: custom loggers call them from their own setup().

    def _owned(self, log):
        if log is self.error_log:
            return self.error_handlers
        if log is self.access_log:
            return self.access_handlers
        return []

    def _install(self, log, handler, formatter):
        handler.setFormatter(formatter)
        handler._gunicorn = True
        log.addHandler(handler)
        self._owned(log).append(handler)

    def _get_gunicorn_handler(self, log):
        """The first handler gunicorn installed on log, or None."""
        for handler in log.handlers:
            if getattr(handler, "_gunicorn", False):
                return handler
        return None

    def _set_handler(self, log, output, fmt, stream=None):
        """Replace gunicorn's output handler on log: '-' a stream, a path a file, None none."""
        previous = self._get_gunicorn_handler(log)
        if previous is not None:
            log.removeHandler(previous)
            owned = self._owned(log)
            if previous in owned:
                owned.remove(previous)
            previous.close()
        if output is None:
            return
        if output == "-":
            handler = logging.StreamHandler(stream)
        else:
            try:
                handler = logging.FileHandler(output)
            except OSError as exc:
                raise RuntimeError("'%s' isn't writable [%r]" % (output, exc)) from None
            self._give_to_worker_user(handler.baseFilename)
        self._install(log, handler, fmt)

    def _give_to_worker_user(self, path):
        # Workers run as cfg.user and must be able to reopen the file after rotation.
        uid = getattr(self.cfg, "uid", None)
        if uid is None:
            uid = getattr(self.cfg, "user", None)
        gid = getattr(self.cfg, "gid", None)
        if gid is None:
            gid = getattr(self.cfg, "group", None)
        if not isinstance(uid, int) or not isinstance(gid, int):
            return
        try:
            os.chown(path, uid, gid)
        except OSError:
            pass

    def _set_syslog_handler(self, log, cfg, fmt, name):
        """Add a syslog handler tagged gunicorn.<prefix>.<name> using format fmt."""
        prefix = getattr(cfg, "syslog_prefix", None)
        if not prefix:
            prefix = (getattr(cfg, "proc_name", None) or "gunicorn").replace(":", ".")
        tag = "gunicorn.%s.%s" % (prefix, name)
        formatter = logging.Formatter("%s: %s" % (tag.replace("%", "%%"), fmt))

        facility_name = str(getattr(cfg, "syslog_facility", "user")).lower()
        try:
            facility = SYSLOG_FACILITIES[facility_name]
        except KeyError:
            raise RuntimeError("Invalid value for syslog_facility: unknown syslog facility "
                               "name: %r" % facility_name) from None

        addr = getattr(cfg, "syslog_addr", None) or "udp://localhost:%d" % SYSLOG_DEFAULT_PORT
        with naming_setting("syslog_addr"):
            socktype, address = parse_syslog_address(addr)
            try:
                handler = logging.handlers.SysLogHandler(
                    address=address, facility=facility, socktype=socktype)
            except OSError as exc:
                raise RuntimeError("cannot reach syslog at %r: %s" % (addr, exc)) from None
        self._install(log, handler, formatter)

    def _apply_logconfig(self, cfg):
        logconfig_dict = getattr(cfg, "logconfig_dict", None)
        logconfig_json = getattr(cfg, "logconfig_json", None)
        logconfig = getattr(cfg, "logconfig", None)
        if logconfig_dict:
            with naming_setting("logconfig_dict"):
                self._dict_config(logconfig_dict)
        elif logconfig_json:
            with naming_setting("logconfig_json"):
                try:
                    with open(logconfig_json) as source:
                        loaded = json.load(source)
                except FileNotFoundError:
                    raise RuntimeError("log config JSON '%s' not found" % logconfig_json) from None
                except (OSError, ValueError) as exc:
                    raise RuntimeError("log config JSON '%s': %s" % (logconfig_json, exc)) from None
                if not isinstance(loaded, dict):
                    raise RuntimeError("log config JSON '%s' is not an object" % logconfig_json)
                self._dict_config(loaded)
        elif logconfig:
            with naming_setting("logconfig"):
                if not os.path.exists(logconfig):
                    raise RuntimeError("log config '%s' not found" % logconfig)
                defaults = {"__file__": logconfig, "here": os.path.dirname(logconfig)}
                try:
                    logging.config.fileConfig(
                        logconfig, defaults=defaults, disable_existing_loggers=False)
                except Exception as exc:
                    raise RuntimeError("log config '%s': %s" % (logconfig, exc)) from None

    @staticmethod
    def _dict_config(user_config):
        config = dict(CONFIG_DEFAULTS)
        config.update(user_config)
        # Keep the default handlers/formatters the user did not redefine, so the
        # default root (console) still resolves when only some sections are given.
        for section in ("handlers", "formatters"):
            merged = dict(CONFIG_DEFAULTS[section])
            merged.update(user_config.get(section) or {})
            config[section] = merged
        try:
            logging.config.dictConfig(config)
        except (AttributeError, ImportError, ValueError, TypeError, KeyError) as exc:
            raise RuntimeError(str(exc))

    def _capture_stdio(self, path):
        """Point fds 1 and 2 at the error log file so stray prints land there."""
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:
                pass
        with self.lock:
            if self.logfile is not None:
                self.logfile.close()
            self.logfile = open(path, "a+")
            os.dup2(self.logfile.fileno(), 1)
            os.dup2(self.logfile.fileno(), 2)

    # -- error log ---------------------------------------------------------

    def critical(self, msg, *args, **kwargs):
        self.error_log.critical(msg, *args, **kwargs)

    def error(self, msg, *args, **kwargs):
        self.error_log.error(msg, *args, **kwargs)

    def warning(self, msg, *args, **kwargs):
        self.error_log.warning(msg, *args, **kwargs)

    def info(self, msg, *args, **kwargs):
        self.error_log.info(msg, *args, **kwargs)

    def debug(self, msg, *args, **kwargs):
        self.error_log.debug(msg, *args, **kwargs)

    def exception(self, msg, *args, **kwargs):
        self.error_log.exception(msg, *args, **kwargs)

    def log(self, lvl, msg, *args, **kwargs):
        if isinstance(lvl, str):
            lvl = self.LOG_LEVELS.get(lvl.lower(), logging.INFO)
        self.error_log.log(lvl, msg, *args, **kwargs)

    def _report_once(self, key, text, level=logging.ERROR):
        # A broken format or odd response would repeat on every request: say it once.
        reported = self.__dict__.setdefault("_reported", set())
        if key in reported:
            return
        reported.add(key)
        try:
            self.error_log.log(level, text)
        except Exception:
            pass

    # -- access log --------------------------------------------------------

    @property
    def access_log_enabled(self):
        # Asked on every request: worked out once per settings change of a
        # gunicorn Config, on every call for any other cfg object.
        return _access_log_enabled(self.cfg)

    def now(self):
        """Local time as the Common Log Format writes it: [10/Oct/2000:13:55:36 -0700]."""
        second = int(time.time())
        cached = self.__dict__.get("_now_cache")
        if cached is not None and cached[0] == second:
            return cached[1]
        now = datetime.datetime.fromtimestamp(second).astimezone()
        text = "[%02d/%s/%04d:%02d:%02d:%02d %s]" % (
            now.day, _MONTHS[now.month - 1], now.year,
            now.hour, now.minute, now.second, now.strftime("%z"))
        # One access line per request, many per second: format each second once.
        self._now_cache = (second, text)
        return text

    def atoms(self, resp, req, environ, request_time):
        """The raw atom values for one request (see the access_log_format setting)."""
        environ = environ if environ is not None else {}
        elapsed = _as_timedelta(request_time)
        micros = elapsed // _ONE_MICROSECOND
        sent = getattr(resp, "sent", None)

        method = environ.get("REQUEST_METHOD") or getattr(req, "method", None)
        raw_uri = environ.get("RAW_URI") or getattr(req, "uri", None)
        if not raw_uri and environ.get("PATH_INFO"):
            # ASGI-built environs carry no RAW_URI: rebuild the target from its parts.
            query = environ.get("QUERY_STRING")
            raw_uri = environ["PATH_INFO"] + ("?" + query if query else "")
        protocol = (environ.get("SERVER_PROTOCOL")
                    or _protocol_name(getattr(req, "version", None)))
        if method or raw_uri or protocol:
            request_line = "%s %s %s" % (method or "-", raw_uri or "-", protocol or "-")
        else:
            request_line = "-"

        atoms = {
            "h": environ.get("REMOTE_ADDR") or "-",
            "l": "-",
            "u": self._get_user(environ) or "-",
            "t": self.now(),
            "r": request_line,
            "s": _status_code(getattr(resp, "status", None)),
            "m": method or "-",
            "U": environ.get("PATH_INFO", getattr(req, "path", None) or "-"),
            "q": environ.get("QUERY_STRING", getattr(req, "query", None) or "-"),
            "H": protocol or "-",
            "b": str(sent) if sent is not None else "-",
            "B": sent,
            "f": environ.get("HTTP_REFERER", "-"),
            "a": environ.get("HTTP_USER_AGENT", "-"),
            "T": micros // 1_000_000,
            "D": micros,
            "M": micros // 1000,
            "L": "%d.%06d" % divmod(micros, 1_000_000),
            "p": "<%s>" % os.getpid(),
        }

        request_headers = getattr(req, "headers", None)
        if request_headers is None and isinstance(req, (list, tuple, dict)):
            request_headers = req
        if request_headers is None:
            request_headers = _environ_headers(environ)
        atoms.update({"{%s}i" % name.lower(): value
                      for name, value in _header_pairs(request_headers)})
        atoms.update({"{%s}o" % name.lower(): value
                      for name, value in _header_pairs(getattr(resp, "headers", None))})
        atoms.update({"{%s}e" % key.lower(): value
                      for key, value in environ.items() if type(key) is str})
        return atoms

    def access(self, resp, req, environ, request_time):
        """Write one access-log line; never raises into the worker."""
        if not self.access_log_enabled:
            return
        if not self.access_log.isEnabledFor(logging.INFO):
            return
        fmt = getattr(self.cfg, "access_log_format", None) or (
            '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s"')
        try:
            safe_atoms = self.atoms_wrapper_class(self.atoms(resp, req, environ, request_time))
            # Format once here: inside a handler a bad format only prints to stderr.
            fmt % safe_atoms
        except Exception as exc:
            self._report_once(
                ("access", fmt, type(exc).__name__, str(exc)),
                "Failed to format access log line with %r (reported once):\n%s"
                % (fmt, traceback.format_exc()))
            return
        try:
            # The atoms travel as record.args, so custom formatters can read them.
            self.access_log.info(fmt, safe_atoms)
        except Exception as exc:
            self._report_once(
                ("access-emit", type(exc).__name__, str(exc)),
                "Failed to write access log line (reported once):\n%s"
                % traceback.format_exc())

    def _get_user(self, environ):
        """The user name of HTTP Basic credentials (RFC 7617), or None."""
        auth = environ.get("HTTP_AUTHORIZATION")
        if not isinstance(auth, str):
            return None
        scheme, _, credentials = auth.strip().partition(" ")
        if scheme.lower() != "basic" or not credentials:
            return None
        try:
            decoded = base64.b64decode(credentials.strip().encode("ascii")).decode("utf-8")
        except (TypeError, ValueError, binascii.Error, UnicodeError) as exc:
            self.debug("Couldn't get username: %s", exc)
            return None
        user, sep, _ = decoded.partition(":")
        return user if sep else None

    # -- files ---------------------------------------------------------------

    def reopen_files(self):
        """Reopen every log file by name, so a rotated file is let go (USR1)."""
        errorlog = getattr(self.cfg, "errorlog", "-")
        if getattr(self.cfg, "capture_output", False) and errorlog not in (None, "-"):
            self._capture_stdio(errorlog)
        for log in loggers():
            for handler in list(log.handlers):
                if isinstance(handler, logging.FileHandler):
                    self._reopen_handler(handler)

    @staticmethod
    def _reopen_handler(handler):
        handler.acquire()
        try:
            stream = handler.stream
            if stream is None:
                return
            handler.stream = None
            try:
                stream.flush()
            finally:
                stream.close()
            handler.stream = handler._open()
            if hasattr(handler, "_statstream"):
                # WatchedFileHandler remembers dev/inode of what it opened.
                handler._statstream()
        finally:
            handler.release()

    def close_on_exec(self):
        """Keep log file descriptors out of re-exec'ed or spawned programs."""
        for log in loggers():
            for handler in list(log.handlers):
                if not isinstance(handler, logging.FileHandler):
                    continue
                handler.acquire()
                try:
                    if handler.stream is not None:
                        os.set_inheritable(handler.stream.fileno(), False)
                finally:
                    handler.release()
