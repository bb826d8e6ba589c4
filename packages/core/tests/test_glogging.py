"""Logger basics: logger names, levels, handlers per setting, access-log enablement.

Also holds the fake cfg and the logging-state fixture the other test_glogging_* and
test_statsd* files import.
"""

import io
import logging
import os
import sys
import types

import pytest

from gunicorn import glogging
from gunicorn.glogging import Logger

DEFAULT_ACCESS_FORMAT = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s"'

LOGGING_DEFAULTS = {
    "accesslog": None,
    "errorlog": "-",
    "loglevel": "info",
    "access_log_format": DEFAULT_ACCESS_FORMAT,
    "capture_output": False,
    "logconfig": None,
    "logconfig_dict": {},
    "logconfig_json": None,
    "syslog": False,
    "syslog_addr": "udp://localhost:514",
    "syslog_prefix": None,
    "syslog_facility": "user",
    "disable_redirect_access_to_syslog": False,
    "enable_stdio_inheritance": False,
    "proc_name": "gunicorn",
    "statsd_host": None,
    "statsd_prefix": "",
    "dogstatsd_tags": "",
    "user": os.geteuid(),
    "group": os.getegid(),
}


def fake_cfg(**overrides):
    """A stand-in for gunicorn.config.Config holding the logging settings."""
    unknown = set(overrides) - set(LOGGING_DEFAULTS)
    assert not unknown, unknown
    values = dict(LOGGING_DEFAULTS)
    values.update(overrides)
    return types.SimpleNamespace(**values)


_WATCHED = ("", "gunicorn.error", "gunicorn.access")


@pytest.fixture(autouse=True)
def restore_logging():
    """Loggers are process-global: put handlers, levels and propagation back."""
    saved = {}
    for name in _WATCHED:
        log = logging.getLogger(name)
        saved[name] = (list(log.handlers), log.level, log.propagate, log.disabled)
    yield
    for name, (handlers, level, propagate, disabled) in saved.items():
        log = logging.getLogger(name)
        for handler in list(log.handlers):
            if handler not in handlers:
                log.removeHandler(handler)
                handler.close()
        for handler in handlers:
            if handler not in log.handlers:
                log.addHandler(handler)
        log.setLevel(level)
        log.propagate = propagate
        log.disabled = disabled


def own_stream_handler(log):
    found = [h for h in log.handlers if getattr(h, "_gunicorn", False)]
    assert len(found) == 1, found
    return found[0]


def test_logger_names_and_propagation():
    log = Logger(fake_cfg())
    assert log.error_log is logging.getLogger("gunicorn.error")
    assert log.access_log is logging.getLogger("gunicorn.access")
    assert log.error_log.propagate is False
    assert log.access_log.propagate is False


def test_public_attributes():
    cfg = fake_cfg()
    log = Logger(cfg)
    assert log.cfg is cfg
    assert set(Logger.LOG_LEVELS) == {"critical", "error", "warning", "info", "debug"}
    assert Logger.LOG_LEVELS["warning"] == logging.WARNING
    assert Logger.error_fmt == "%(asctime)s [%(process)d] [%(levelname)s] %(message)s"
    assert Logger.datefmt == "[%Y-%m-%d %H:%M:%S %z]"
    assert Logger.syslog_fmt == "[%(process)d] %(message)s"
    assert Logger.access_fmt == "%(message)s"
    assert Logger.atoms_wrapper_class is glogging.SafeAtoms
    assert isinstance(log.error_handlers, list) and isinstance(log.access_handlers, list)


@pytest.mark.parametrize("name,level", [
    ("debug", logging.DEBUG), ("INFO", logging.INFO), ("Warning", logging.WARNING),
    ("error", logging.ERROR), ("critical", logging.CRITICAL), ("bogus", logging.INFO),
])
def test_loglevel_setting(name, level):
    log = Logger(fake_cfg(loglevel=name))
    assert log.error_log.level == level
    assert log.access_log.level == logging.INFO


def test_errorlog_dash_goes_to_stderr(capsys):
    log = Logger(fake_cfg())
    log.info("hello %s", "world")
    err = capsys.readouterr().err
    assert "[INFO] hello world" in err
    assert "[%d]" % os.getpid() in err
    assert log.error_handlers == [own_stream_handler(log.error_log)]


def test_accesslog_dash_goes_to_stdout(capsys):
    log = Logger(fake_cfg(accesslog="-"))
    log.access_log.info("line")
    assert capsys.readouterr().out == "line\n"
    assert log.access_handlers == [own_stream_handler(log.access_log)]


def test_accesslog_none_installs_no_handler():
    log = Logger(fake_cfg())
    assert not [h for h in log.access_log.handlers if getattr(h, "_gunicorn", False)]
    assert log.access_handlers == []


def test_every_level_method_reaches_error_log():
    log = Logger(fake_cfg(loglevel="debug"))
    stream = io.StringIO()
    own_stream_handler(log.error_log).setStream(stream)
    log.critical("c1")
    log.error("e1")
    log.warning("w1")
    log.info("i1")
    log.debug("d1")
    try:
        raise ValueError("boom")
    except ValueError:
        log.exception("x1")
    log.log("warning", "by-name")
    log.log(logging.ERROR, "by-int %d", 7)
    out = stream.getvalue()
    for text in ("[CRITICAL] c1", "[ERROR] e1", "[WARNING] w1", "[INFO] i1", "[DEBUG] d1",
                 "[ERROR] x1", "ValueError: boom", "[WARNING] by-name", "[ERROR] by-int 7"):
        assert text in out


def test_loglevel_filters_lower_messages():
    log = Logger(fake_cfg(loglevel="warning"))
    stream = io.StringIO()
    own_stream_handler(log.error_log).setStream(stream)
    log.info("quiet")
    log.warning("loud")
    assert "quiet" not in stream.getvalue()
    assert "loud" in stream.getvalue()


def test_setup_again_replaces_handlers_instead_of_stacking():
    cfg = fake_cfg(accesslog="-")
    log = Logger(cfg)
    log.setup(cfg)
    Logger(cfg)  # a second instance (e.g. after reload) shares the global loggers
    own_stream_handler(log.error_log)
    own_stream_handler(log.access_log)


def test_setup_keeps_foreign_handlers():
    foreign = logging.NullHandler()
    logging.getLogger("gunicorn.error").addHandler(foreign)
    Logger(fake_cfg())
    assert foreign in logging.getLogger("gunicorn.error").handlers


@pytest.mark.parametrize("settings,enabled", [
    ({}, False),
    ({"accesslog": "-"}, True),
    ({"accesslog": "/tmp/x.log"}, True),
    ({"logconfig": "/nonexistent.ini"}, True),
    ({"logconfig_dict": {"version": 1}}, True),
    ({"logconfig_json": "/nonexistent.json"}, True),
    ({"syslog": True}, True),
    ({"syslog": True, "disable_redirect_access_to_syslog": True}, False),
    ({"disable_redirect_access_to_syslog": True}, False),
])
def test_access_log_enabled_rules(settings, enabled):
    # Build without running setup: some of these settings point at missing files.
    log = Logger.__new__(Logger)
    log.cfg = fake_cfg(**settings)
    assert log.access_log_enabled is enabled


def test_access_disabled_writes_nothing(capsys):
    log = Logger(fake_cfg())
    calls = []
    log.atoms = lambda *a: calls.append(a) or {}
    log.access(types.SimpleNamespace(status="200 OK", headers=[], sent=0), None, {}, None)
    assert calls == []
    assert capsys.readouterr().out == ""


def test_unwritable_errorlog_is_a_clear_error(tmp_path):
    target = tmp_path / "missing-dir" / "error.log"
    with pytest.raises(RuntimeError, match="isn't writable"):
        Logger(fake_cfg(errorlog=str(target)))


class Upper(logging.Formatter):
    def format(self, record):
        return super().format(record).upper()


def test_subclass_setup_replacing_handlers_with_set_handler(capsys):
    # A pattern third-party loggers use: own formatter on gunicorn's handlers.
    class Custom(Logger):
        def setup(self, cfg):
            super().setup(cfg)
            self._set_handler(self.error_log, cfg.errorlog, Upper("%(message)s"))
            self._set_handler(self.access_log, cfg.accesslog, Upper("%(message)s"),
                              stream=sys.stdout)

    log = Custom(fake_cfg(accesslog="-"))
    log.info("quiet words")
    log.access_log.info("access words")
    captured = capsys.readouterr()
    assert captured.err == "QUIET WORDS\n"
    assert captured.out == "ACCESS WORDS\n"
    assert log.error_handlers == [own_stream_handler(log.error_log)]
    assert log.access_handlers == [own_stream_handler(log.access_log)]


def test_subclass_removing_handlers_to_propagate_to_root():
    class ToRoot(Logger):
        def setup(self, cfg):
            super().setup(cfg)
            self.error_log.propagate = True
            self._set_handler(self.error_log, None, None)

    records = []

    class Grab(logging.Handler):
        def emit(self, record):
            records.append(record.getMessage())

    grab = Grab()
    logging.getLogger().addHandler(grab)
    try:
        log = ToRoot(fake_cfg())
        assert log._get_gunicorn_handler(log.error_log) is None
        assert log.error_handlers == []
        log.warning("to root")
    finally:
        logging.getLogger().removeHandler(grab)
    assert records == ["to root"]


def test_setup_revives_loggers_a_failed_logging_config_disabled():
    # dictConfig with disable_existing_loggers disables them before it can fail
    log = Logger(fake_cfg())
    log.error_log.disabled = log.access_log.disabled = True
    log.setup(fake_cfg())
    assert not log.error_log.disabled and not log.access_log.disabled
