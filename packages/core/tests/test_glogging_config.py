"""Logger and Statsd built from the real gunicorn.config.Config."""

import datetime
import io
import os
import socket
import tempfile
import types

from test_glogging import LOGGING_DEFAULTS, own_stream_handler, restore_logging  # noqa: F401

from gunicorn.config import Config
from gunicorn.glogging import Logger
from gunicorn.instrument.statsd import Statsd


def make_config(**settings):
    cfg = Config()
    for name, value in settings.items():
        cfg.set(name, value)
    return cfg


def test_fake_cfg_defaults_match_config():
    # Keeps the fake cfg of the other test files honest.
    cfg = Config()
    for name, value in LOGGING_DEFAULTS.items():
        if name in ("user", "group"):
            continue
        assert getattr(cfg, name) == value, name


def test_default_config_logger():
    cfg = make_config()
    log = cfg.logger_class(cfg)
    assert type(log) is Logger
    assert not log.access_log_enabled
    assert log.access_handlers == []
    assert len(log.error_handlers) == 1


def test_access_line_with_config(tmp_path):
    access = tmp_path / "access.log"
    cfg = make_config(accesslog=str(access),
                      access_log_format='%(h)s "%(r)s" %(s)s %({x-id}i)s %(p)s')
    log = cfg.logger_class(cfg)
    req = types.SimpleNamespace(method="GET", uri="/x?y=1", path="/x", query="y=1",
                                version=(1, 1), headers=[("X-ID", "42")])
    resp = types.SimpleNamespace(status="200 OK", headers=[], sent=2, response_length=2)
    environ = {"REMOTE_ADDR": "10.1.1.1", "REQUEST_METHOD": "GET", "RAW_URI": "/x?y=1",
               "SERVER_PROTOCOL": "HTTP/1.1"}
    log.access(resp, req, environ, datetime.timedelta(milliseconds=3))
    log.access_handlers[0].flush()
    assert access.read_text() == '10.1.1.1 "GET /x?y=1 HTTP/1.1" 200 42 <%d>\n' % os.getpid()


def test_loglevel_from_config():
    cfg = make_config(loglevel="DEBUG")
    log = cfg.logger_class(cfg)
    stream = io.StringIO()
    own_stream_handler(log.error_log).setStream(stream)
    log.debug("visible")
    assert "[DEBUG] visible" in stream.getvalue()


def test_syslog_from_config():
    listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    listener.bind(("127.0.0.1", 0))
    listener.settimeout(5)
    try:
        cfg = make_config(syslog=True,
                          syslog_addr="udp://127.0.0.1:%d" % listener.getsockname()[1],
                          syslog_prefix="cfgtest", syslog_facility="local1")
        log = cfg.logger_class(cfg)
        assert log.access_log_enabled
        log.error("x")
        # local1 (17) * 8 + err (3)
        assert listener.recv(4096) == b"<139>gunicorn.cfgtest.error: [%d] x\x00" % os.getpid()
    finally:
        listener.close()


def test_statsd_chosen_and_sending():
    listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    listener.bind(("127.0.0.1", 0))
    listener.settimeout(5)
    try:
        cfg = make_config(statsd_host="127.0.0.1:%d" % listener.getsockname()[1],
                          statsd_prefix="svc")
        log = cfg.logger_class(cfg)
        assert isinstance(log, Statsd)
        log.gauge("gunicorn.workers", 2)
        assert listener.recv(4096) == b"svc.gunicorn.workers:2|g"
    finally:
        listener.close()


def test_statsd_unix_from_config():
    directory = tempfile.mkdtemp(prefix="stc")
    path = os.path.join(directory, "s.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(path)
    listener.settimeout(5)
    try:
        cfg = make_config(statsd_host="unix:" + path)
        log = cfg.logger_class(cfg)
        log.increment("hits", 1)
        assert listener.recv(4096) == b"hits:1|c|@1.0"
    finally:
        listener.close()
        os.unlink(path)
        os.rmdir(directory)


def test_logconfig_dict_from_config(tmp_path):
    out = tmp_path / "out.log"
    cfg = make_config(logconfig_dict={
        "version": 1,
        "formatters": {"plain": {"format": "%(levelname)s %(message)s"}},
        "handlers": {"f": {"class": "logging.FileHandler", "filename": str(out),
                           "formatter": "plain"}},
        "loggers": {"gunicorn.error": {"handlers": ["f"], "level": "INFO",
                                       "propagate": False}},
    })
    log = cfg.logger_class(cfg)
    log.info("configured")
    for handler in log.error_log.handlers:
        handler.flush()
    assert out.read_text() == "INFO configured\n"
