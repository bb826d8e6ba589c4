"""Statsd logger: datagrams received on local UDP and unix sockets."""

import datetime
import io
import logging
import os
import shutil
import socket
import tempfile
import types

import pytest
from test_glogging import fake_cfg, own_stream_handler, restore_logging  # noqa: F401

from gunicorn.glogging import Logger
from gunicorn.instrument.statsd import Statsd, statsd_prefix, statsd_target


@pytest.fixture
def listener():
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(5)
    yield sock
    sock.close()


def make_statsd(listener, **settings):
    host, port = listener.getsockname()
    settings.setdefault("statsd_host", (host, port))
    return Statsd(fake_cfg(**settings))


def drain(sock, count=None):
    """The datagrams sent so far: `count` of them (waited for), then whatever else is queued."""
    packets = []
    sock.settimeout(5)
    for _ in range(count or 0):
        packets.append(sock.recv(4096))
    # Loopback delivery is synchronous, so anything extra is already queued.
    sock.settimeout(0.02)
    try:
        while True:
            packets.append(sock.recv(4096))
    except TimeoutError:
        pass
    return packets


def test_is_a_logger():
    assert issubclass(Statsd, Logger)


@pytest.mark.parametrize("raw,prefix", [
    ("", ""), (None, ""), ("app", "app."), ("app.", "app."), ("app...", "app."),
    ("a.b", "a.b."),
])
def test_prefix_normalised(raw, prefix):
    assert statsd_prefix(raw) == prefix


@pytest.mark.parametrize("raw,target", [
    (("127.0.0.1", 9125), (socket.AF_INET, ("127.0.0.1", 9125))),
    ("localhost:9125", (socket.AF_INET, ("localhost", 9125))),
    ("statsd.sock", (socket.AF_UNIX, "statsd.sock")),
    ("run/statsd:1", (socket.AF_UNIX, "run/statsd:1")),
    ("[::1]:9000", (socket.AF_INET, ("::1", 9000))),
    ("unix:/run/statsd.sock", (socket.AF_UNIX, "/run/statsd.sock")),
    ("unix:///run/statsd.sock", (socket.AF_UNIX, "/run/statsd.sock")),
    ("/run/statsd.sock", (socket.AF_UNIX, "/run/statsd.sock")),
])
def test_statsd_target(raw, target):
    assert statsd_target(raw) == target


def test_metric_methods(listener):
    s = make_statsd(listener)
    s.gauge("g", 3)
    s.increment("c", 2)
    s.decrement("c", 1)
    s.timer("t", 12.5)
    s.histogram("h", 7)
    s.increment("sampled", 1, sampling_rate=0.5)
    assert drain(listener, 6) == [
        b"g:3|g", b"c:2|c|@1.0", b"c:-1|c|@1.0", b"t:12.5|ms", b"h:7|h", b"sampled:1|c|@0.5",
    ]


def test_prefix_and_dogstatsd_tags(listener):
    s = make_statsd(listener, statsd_prefix="shop", dogstatsd_tags="env:prod,team:web")
    s.gauge("workers", 4)
    assert drain(listener, 1) == [b"shop.workers:4|g|#env:prod,team:web"]


def test_access_sends_request_metrics(listener, capsys):
    s = make_statsd(listener, accesslog="-")
    resp = types.SimpleNamespace(status="404 Not Found", headers=[], sent=10)
    s.access(resp, None, {"REMOTE_ADDR": "127.0.0.1"},
             datetime.timedelta(seconds=1, microseconds=250000))
    assert drain(listener, 3) == [
        b"gunicorn.request.duration:1250.0|ms",
        b"gunicorn.requests:1|c|@1.0",
        b"gunicorn.request.status.404:1|c|@1.0",
    ]
    assert "127.0.0.1 - - [" in capsys.readouterr().out


def test_access_with_int_status_and_no_access_log(listener):
    s = make_statsd(listener)
    s.access(types.SimpleNamespace(status=201, headers=[], sent=0), None, {},
             datetime.timedelta(microseconds=1500))
    assert drain(listener, 3) == [
        b"gunicorn.request.duration:1.5|ms",
        b"gunicorn.requests:1|c|@1.0",
        b"gunicorn.request.status.201:1|c|@1.0",
    ]


@pytest.mark.parametrize("mtype,expected", [
    ("gauge", b"gunicorn.workers:3|g"),
    ("counter", b"gunicorn.workers:3|c|@1.0"),
    ("histogram", b"gunicorn.workers:3|h"),
    ("timer", b"gunicorn.workers:3|ms"),
])
def test_metric_from_log_extra(listener, mtype, expected):
    s = make_statsd(listener)
    s.info("", extra={"metric": "gunicorn.workers", "value": 3, "mtype": mtype})
    assert drain(listener, 1) == [expected]


def test_backlog_gauge_via_log(listener):
    s = make_statsd(listener)
    s.debug("", extra={"metric": "gunicorn.socket.backlog", "value": 12, "mtype": "gauge"})
    assert drain(listener, 1) == [b"gunicorn.socket.backlog:12|g"]


def test_zero_emitted_none_skipped(listener):
    s = make_statsd(listener)
    s.log(logging.INFO, "", extra={"metric": "m", "value": 0, "mtype": "gauge"})
    s.log("info", "", extra={"metric": "m", "value": None, "mtype": "gauge"})
    s.info("", extra={"metric": "m", "value": 1, "mtype": "unknown"})
    s.info("", extra={"value": 1, "mtype": "gauge"})
    assert drain(listener, 1) == [b"m:0|g"]


def test_message_with_extra_is_also_logged(listener):
    s = make_statsd(listener)
    stream = io.StringIO()
    own_stream_handler(s.error_log).setStream(stream)
    s.info("workers now %d", 5, extra={"metric": "w", "value": 5, "mtype": "gauge"})
    s.info("", extra={"metric": "w", "value": 6, "mtype": "gauge"})
    assert drain(listener, 2) == [b"w:5|g", b"w:6|g"]
    assert stream.getvalue().count("[INFO]") == 1
    assert "workers now 5" in stream.getvalue()


def test_serious_log_levels_are_counted(listener):
    s = make_statsd(listener)
    own_stream_handler(s.error_log).setStream(io.StringIO())
    s.critical("c")
    s.error("e")
    s.warning("w")
    try:
        raise ValueError("x")
    except ValueError:
        s.exception("x")
    s.info("i")
    s.debug("d")
    assert drain(listener, 4) == [
        b"gunicorn.log.critical:1|c|@1.0",
        b"gunicorn.log.error:1|c|@1.0",
        b"gunicorn.log.warning:1|c|@1.0",
        b"gunicorn.log.exception:1|c|@1.0",
    ]


@pytest.fixture
def short_tmp():
    path = tempfile.mkdtemp(prefix="stsd")
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_unix_datagram_socket(short_tmp):
    path = os.path.join(short_tmp, "statsd.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(5)
    try:
        s = Statsd(fake_cfg(statsd_host="unix:" + path))
        s.increment("gunicorn.requests", 1)
        assert sock.recv(4096) == b"gunicorn.requests:1|c|@1.0"
    finally:
        sock.close()


def test_socket_errors_are_swallowed(short_tmp):
    # No listener: opening fails; later sends must not raise.
    s = Statsd(fake_cfg(statsd_host="unix:" + os.path.join(short_tmp, "absent.sock")))
    own_stream_handler(s.error_log).setStream(io.StringIO())
    s.gauge("g", 1)
    s.access(types.SimpleNamespace(status="200 OK", headers=[], sent=0), None, {},
             datetime.timedelta(0))


def test_send_failure_reported_once(listener):
    s = make_statsd(listener)
    stream = io.StringIO()
    own_stream_handler(s.error_log).setStream(stream)

    class Broken:
        def send(self, data):
            raise OSError("ENOBUFS")

    s.sock = Broken()
    for _ in range(3):
        s.increment("x", 1)
    assert stream.getvalue().count("Error sending message to statsd") == 1


def test_bad_status_does_not_raise(listener):
    s = make_statsd(listener)
    own_stream_handler(s.error_log).setStream(io.StringIO())
    s.access(types.SimpleNamespace(status="weird", headers=[], sent=0), None, {},
             datetime.timedelta(0))
    assert drain(listener, 2) == [b"gunicorn.request.duration:0.0|ms",
                                   b"gunicorn.requests:1|c|@1.0"]


class RecordingSocket:
    """Stands in for the UDP socket, as third-party tests of Statsd do."""

    def __init__(self):
        self.msgs = []

    def send(self, data):
        self.msgs.append(data)


def test_replaceable_sock_attribute(listener):
    s = make_statsd(listener, dogstatsd_tags="yucatan,libertine:rhubarb")
    s.sock = RecordingSocket()
    s.info("Blah", extra={"mtype": "gauge", "metric": "gunicorn.test", "value": 666})
    s.access(types.SimpleNamespace(status="200 OK"), None, {}, datetime.timedelta(seconds=7))
    assert s.sock.msgs == [
        b"gunicorn.test:666|g|#yucatan,libertine:rhubarb",
        b"gunicorn.request.duration:7000.0|ms|#yucatan,libertine:rhubarb",
        b"gunicorn.requests:1|c|@1.0|#yucatan,libertine:rhubarb",
        b"gunicorn.request.status.200:1|c|@1.0|#yucatan,libertine:rhubarb",
    ]
