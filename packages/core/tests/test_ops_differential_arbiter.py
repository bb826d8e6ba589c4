"""Master log lines found to differ from upstream 27.0.1 in the operations audit."""

import os
import signal
import socket
from types import SimpleNamespace

import pytest
from test_arbiter import FakeLog, arbiter_for_tests
from test_glogging import fake_cfg, restore_logging  # noqa: F401  (autouse)

from gunicorn.arbiter import Arbiter
from gunicorn.config import Config
from gunicorn.instrument.statsd import Statsd


@pytest.fixture
def arb(monkeypatch):
    a = arbiter_for_tests(monkeypatch)
    a.log.lines.clear()  # the constructor's own debug lines
    yield a
    for fd in a.PIPE:
        os.close(fd)


def test_debug_configuration_keeps_definition_order(arb):
    # upstream lists config, wsgi_app, bind, backlog, workers... first, not a-z
    arb.cfg = Config()
    names = [line.split(":", 1)[0].strip() for line in arb._describe_config().splitlines()]
    assert names == list(arb.cfg.settings)
    assert names[:3] == ["config", "wsgi_app", "bind"]
    assert names.index("workers") < names.index("accesslog")


def test_each_sigchld_is_logged_at_debug_as_cld(arb):
    assert isinstance(arb.log, FakeLog)
    arb.handle_chld(signal.SIGCHLD, None)
    arb.handle_chld(signal.SIGCHLD, None)
    # the handler itself only wakes the loop: logging is not signal-safe
    assert arb.log.lines == []
    assert os.read(arb.PIPE[0], 100) == b".."
    arb.log_chld_seen()
    assert arb.log.lines == [("debug", "Handling signal: cld")] * 2
    arb.log_chld_seen()
    assert len(arb.log.lines) == 2


def test_sigchld_notes_are_bounded(arb):
    for _ in range(50):
        arb.handle_chld(signal.SIGCHLD, None)
    os.read(arb.PIPE[0], 100)
    arb.log_chld_seen()
    assert 0 < len(arb.log.lines) <= Arbiter.SIG_QUEUE_LIMIT


def test_backlog_metric_is_upstreams_histogram(arb):
    # upstream 27.0.1 sends gunicorn.backlog:N|h (was gunicorn.socket.backlog:N|g here)
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    udp.settimeout(5)
    try:
        arb.log = Statsd(fake_cfg(statsd_host=udp.getsockname()))
        arb.cfg.enable_backlog_metric = True
        arb.LISTENERS = [SimpleNamespace(get_backlog=lambda: 2),
                         SimpleNamespace(get_backlog=lambda: 3)]
        arb.log_backlog()
        assert udp.recv(4096) == b"gunicorn.backlog:5|h"
    finally:
        arb.log.sock.close()
        udp.close()
