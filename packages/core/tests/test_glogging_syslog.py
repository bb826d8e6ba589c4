"""Syslog: address parsing, and messages received on local UDP, TCP and unix sockets."""

import logging
import os
import shutil
import socket
import tempfile
import types

import pytest
from test_glogging import fake_cfg, restore_logging  # noqa: F401

from gunicorn.glogging import SYSLOG_FACILITIES, Logger, parse_syslog_address

PID = os.getpid()


@pytest.mark.parametrize("addr,expected", [
    ("udp://localhost:514", (socket.SOCK_DGRAM, ("localhost", 514))),
    ("udp://LogHost", (socket.SOCK_DGRAM, ("loghost", 514))),
    ("udp://", (socket.SOCK_DGRAM, ("localhost", 514))),
    ("udp://10.0.0.1:5140", (socket.SOCK_DGRAM, ("10.0.0.1", 5140))),
    ("tcp://example.com:601", (socket.SOCK_STREAM, ("example.com", 601))),
    ("tcp://[::1]:6514", (socket.SOCK_STREAM, ("::1", 6514))),
    ("udp://[FE80::1]", (socket.SOCK_DGRAM, ("fe80::1", 514))),
    ("unix:///dev/log", (None, "/dev/log")),
    ("unix:///var/run/syslog#dgram", (socket.SOCK_DGRAM, "/var/run/syslog")),
    ("unix:///var/run/syslog#stream", (socket.SOCK_STREAM, "/var/run/syslog")),
])
def test_parse_syslog_address(addr, expected):
    assert parse_syslog_address(addr) == expected


@pytest.mark.parametrize("addr", ["localhost:514", "http://x", "udp://host:port"])
def test_parse_syslog_address_rejects(addr):
    with pytest.raises(RuntimeError):
        parse_syslog_address(addr)


def test_facilities_table():
    assert SYSLOG_FACILITIES["user"] == 1
    assert SYSLOG_FACILITIES["local7"] == 23
    assert SYSLOG_FACILITIES["daemon"] == 3


@pytest.fixture
def udp_listener():
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(5)
    yield sock
    sock.close()


def test_syslog_udp_error_and_access(udp_listener):
    port = udp_listener.getsockname()[1]
    log = Logger(fake_cfg(syslog=True, syslog_addr="udp://127.0.0.1:%d" % port,
                          proc_name="my:app"))
    log.error("boom %s", "here")
    # user facility (1) * 8 + err (3)
    assert udp_listener.recv(4096) == b"<11>gunicorn.my.app.error: [%d] boom here\x00" % PID
    log.access(types.SimpleNamespace(status="200 OK", headers=[], sent=2), None,
               {"REMOTE_ADDR": "127.0.0.1"}, None)
    data = udp_listener.recv(4096)
    # user (1) * 8 + info (6)
    assert data.startswith(b"<14>gunicorn.my.app.access: [%d] 127.0.0.1 - - [" % PID)
    assert log.access_log_enabled


def test_syslog_prefix_and_facility(udp_listener):
    port = udp_listener.getsockname()[1]
    log = Logger(fake_cfg(syslog=True, syslog_addr="udp://127.0.0.1:%d" % port,
                          syslog_prefix="shop", syslog_facility="LOCAL0"))
    log.warning("w")
    # local0 (16) * 8 + warning (4)
    assert udp_listener.recv(4096) == b"<132>gunicorn.shop.error: [%d] w\x00" % PID


def test_syslog_without_access_redirect(udp_listener):
    port = udp_listener.getsockname()[1]
    log = Logger(fake_cfg(syslog=True, syslog_addr="udp://127.0.0.1:%d" % port,
                          disable_redirect_access_to_syslog=True))
    assert not log.access_log_enabled
    assert log.access_handlers == []
    log.access_log.info("not sent")
    log.info("sent")
    assert udp_listener.recv(4096).endswith(b"] sent\x00")


def test_unknown_facility_is_an_error():
    with pytest.raises(RuntimeError, match="facility"):
        Logger(fake_cfg(syslog=True, syslog_facility="nope"))


def test_syslog_handlers_replaced_on_second_setup(udp_listener):
    port = udp_listener.getsockname()[1]
    cfg = fake_cfg(syslog=True, syslog_addr="udp://127.0.0.1:%d" % port)
    log = Logger(cfg)
    log.setup(cfg)
    syslogs = [h for h in log.error_log.handlers
               if isinstance(h, logging.handlers.SysLogHandler)]
    assert len(syslogs) == 1


@pytest.fixture
def short_tmp():
    # AF_UNIX paths are limited to ~107 bytes: pytest's tmp_path can be too long.
    path = tempfile.mkdtemp(prefix="glog")
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_syslog_unix_datagram(short_tmp):
    path = os.path.join(short_tmp, "log.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(path)
    listener.settimeout(5)
    try:
        log = Logger(fake_cfg(syslog=True, syslog_addr="unix://%s#dgram" % path,
                              syslog_facility="daemon"))
        log.info("over unix")
        # daemon (3) * 8 + info (6)
        assert listener.recv(4096) == b"<30>gunicorn.gunicorn.error: [%d] over unix\x00" % PID
    finally:
        listener.close()


def test_syslog_unix_without_type_hint(short_tmp):
    path = os.path.join(short_tmp, "log.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(path)
    listener.settimeout(5)
    try:
        log = Logger(fake_cfg(syslog=True, syslog_addr="unix://%s" % path))
        log.critical("crit")
        assert listener.recv(4096) == b"<10>gunicorn.gunicorn.error: [%d] crit\x00" % PID
    finally:
        listener.close()


def test_syslog_tcp():
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.settimeout(5)
    try:
        port = server.getsockname()[1]
        log = Logger(fake_cfg(syslog=True, syslog_addr="tcp://127.0.0.1:%d" % port,
                              disable_redirect_access_to_syslog=True))
        conn, _ = server.accept()
        conn.settimeout(5)
        log.error("tcp msg")
        expected = b"<11>gunicorn.gunicorn.error: [%d] tcp msg\x00" % PID
        data = b""
        while len(data) < len(expected):
            chunk = conn.recv(4096)
            assert chunk
            data += chunk
        assert data == expected
        conn.close()
    finally:
        server.close()


def test_syslog_unix_socket_may_appear_later(short_tmp):
    # Like openlog(3): a syslogd that is not up yet is neither fatal nor raised into callers.
    path = os.path.join(short_tmp, "late.sock")
    log = Logger(fake_cfg(syslog=True, syslog_addr="unix://%s" % path))
    log.error("lost")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(path)
    listener.settimeout(5)
    try:
        log.error("found")
        assert listener.recv(4096).endswith(b"] found\x00")
    finally:
        listener.close()
