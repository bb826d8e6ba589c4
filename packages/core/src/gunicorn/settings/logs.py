"""Settings of the "Logging" section: error and access logs, syslog, statsd."""

import sys

from gunicorn.settings.base import Setting
from gunicorn.settings.validators import (
    validate_bool,
    validate_class,
    validate_dict,
    validate_statsd_address,
    validate_string,
)

SECTION = "Logging"


class _Flag(Setting):
    section = SECTION
    action = "store_true"
    validator = validate_bool
    default = False


class _String(Setting):
    section = SECTION
    meta = "STRING"
    validator = validate_string
    default = None


class AccessLog(_String):
    name = "accesslog"
    cli = ["--access-logfile"]
    meta = "FILE"
    desc = """\
        The access log file to write to; ``-`` means stdout. None disables it.
        """


class DisableRedirectAccessToSyslog(_Flag):
    name = "disable_redirect_access_to_syslog"
    cli = ["--disable-redirect-access-to-syslog"]
    desc = """\
        Do not send access log lines to syslog when syslog is on.
        """


class AccessLogFormat(_String):
    name = "access_log_format"
    cli = ["--access-logformat"]
    default = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s"'
    desc = """\
        The access log format: ``%(atom)s`` placeholders over the log atoms.
        """


class ErrorLog(_String):
    name = "errorlog"
    cli = ["--error-logfile", "--log-file"]
    meta = "FILE"
    default = "-"
    desc = """\
        The error log file to write to; ``-`` means stderr.
        """


class Loglevel(_String):
    name = "loglevel"
    cli = ["--log-level"]
    meta = "LEVEL"
    default = "info"
    desc = """\
        The granularity of error log output: debug, info, warning, error, critical.
        """


class CaptureOutput(_Flag):
    name = "capture_output"
    cli = ["--capture-output"]
    desc = """\
        Redirect stdout and stderr of workers to the error log file.
        """


class LoggerClass(Setting):
    name = "logger_class"
    section = SECTION
    cli = ["--logger-class"]
    meta = "STRING"
    validator = validate_class
    default = "gunicorn.glogging.Logger"
    desc = """\
        The logger class: a dotted path, a ``gunicorn.loggers`` entry point name,
        or ``simple``.

        With the default logger, setting statsd_host switches to the statsd one.
        """


class LogConfig(_String):
    name = "logconfig"
    cli = ["--log-config"]
    meta = "FILE"
    desc = """\
        A logging configuration file in ``logging.config.fileConfig`` format.
        """


class LogConfigDict(Setting):
    name = "logconfig_dict"
    section = SECTION
    validator = validate_dict
    default = {}
    desc = """\
        A ``logging.config.dictConfig`` mapping; set in a config file.
        """

    @classmethod
    def initial_default(cls):
        return {}


class LogConfigJson(_String):
    name = "logconfig_json"
    cli = ["--log-config-json"]
    meta = "FILE"
    desc = """\
        A JSON file holding a ``logging.config.dictConfig`` mapping.
        """


def _default_syslog_address():
    if sys.platform == "darwin":
        return "unix:///var/run/syslog"
    if sys.platform.startswith(("freebsd", "dragonfly")):
        return "unix:///var/run/log"
    if sys.platform.startswith("openbsd"):
        return "unix:///dev/log"
    return "udp://localhost:514"


class SyslogTo(_String):
    name = "syslog_addr"
    cli = ["--log-syslog-to"]
    meta = "SYSLOG_ADDR"
    default = _default_syslog_address()
    desc = """\
        Where syslog messages go: ``udp://HOST:PORT``, ``tcp://HOST:PORT`` or
        ``unix://PATH[#dgram]``.
        """


class Syslog(_Flag):
    name = "syslog"
    cli = ["--log-syslog"]
    desc = """\
        Send Gunicorn logs to syslog.
        """


class SyslogPrefix(_String):
    name = "syslog_prefix"
    cli = ["--log-syslog-prefix"]
    meta = "SYSLOG_PREFIX"
    desc = """\
        The program name used in syslog entries.
        """


class SyslogFacility(_String):
    name = "syslog_facility"
    cli = ["--log-syslog-facility"]
    meta = "SYSLOG_FACILITY"
    default = "user"
    desc = """\
        The syslog facility name.
        """


class EnableStdioInheritance(_Flag):
    name = "enable_stdio_inheritance"
    cli = ["-R", "--enable-stdio-inheritance"]
    desc = """\
        Keep stdio file descriptors in daemon mode (and set PYTHONUNBUFFERED).
        """


class StatsdHost(Setting):
    name = "statsd_host"
    section = SECTION
    cli = ["--statsd-host"]
    meta = "STATSD_ADDR"
    validator = validate_statsd_address
    default = None
    desc = """\
        The statsd server: ``HOST:PORT`` or ``unix://PATH``. Enables metrics.
        """


class DogstatsdTags(_String):
    name = "dogstatsd_tags"
    cli = ["--dogstatsd-tags"]
    meta = "DOGSTATSD_TAGS"
    default = ""
    desc = """\
        Comma-separated ``key:value`` tags appended to statsd metrics.
        """


class StatsdPrefix(_String):
    name = "statsd_prefix"
    cli = ["--statsd-prefix"]
    meta = "STATSD_PREFIX"
    default = ""
    desc = """\
        A prefix for statsd metric names (a trailing dot is added).
        """


class BacklogMetric(_Flag):
    name = "enable_backlog_metric"
    cli = ["--enable-backlog-metric"]
    desc = """\
        Emit the listen backlog as the statsd histogram ``gunicorn.backlog`` (Linux only).
        """
