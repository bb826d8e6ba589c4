"""Statsd: a Logger that also sends request and log metrics to statsd over UDP or a unix socket."""

import logging
import re
import socket

from gunicorn.glogging import Logger

METRIC_VAR = "metric"
VALUE_VAR = "value"
MTYPE_VAR = "mtype"
GAUGE_TYPE = "gauge"
COUNTER_TYPE = "counter"
HISTOGRAM_TYPE = "histogram"
TIMER_TYPE = "timer"

# A raw 'host:port' or '[v6]:port' string, as opposed to a unix socket path.
_HOST_PORT = re.compile(r"(?:\[([0-9A-Fa-f:.]+)\]|([\w.-]+)):(\d+)")


def statsd_prefix(prefix):
    """'app' and 'app..' both become 'app.'; an empty prefix stays empty."""
    prefix = (prefix or "").rstrip(".")
    return prefix + "." if prefix else ""


def statsd_target(host):
    """(family, address) for a statsd_host value.

    The validated setting is a (host, port) tuple or, for unix:PATH, the bare path
    string; raw 'unix:PATH' and 'host:port' strings are read too.
    """
    if isinstance(host, (tuple, list)):
        return socket.AF_INET, (str(host[0]), int(host[1]))
    host = str(host)
    if host.startswith("unix:"):
        path = host[len("unix:"):]
        if path.startswith("//"):
            path = path[2:]
        return socket.AF_UNIX, path
    inet = _HOST_PORT.fullmatch(host)
    if inet:
        return socket.AF_INET, (inet.group(1) or inet.group(2), int(inet.group(3)))
    return socket.AF_UNIX, host


def _open_socket(target):
    family, address = target
    if family == socket.AF_UNIX:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.connect(address)
        return sock
    host, port = address
    # Resolve once so an IPv6-only name works too.
    family, _, _, _, sockaddr = socket.getaddrinfo(host, port, 0, socket.SOCK_DGRAM)[0]
    sock = socket.socket(family, socket.SOCK_DGRAM)
    sock.connect(sockaddr)
    return sock


def _elapsed_ms(request_time):
    try:
        return request_time.total_seconds() * 1000
    except AttributeError:
        return float(request_time) * 1000


def _status_int(status):
    if isinstance(status, bytes):
        status = status.decode("latin-1")
    if isinstance(status, str):
        return int(status.split(None, 1)[0])
    return int(status)


class Statsd(Logger):
    """Logger plus statsd metrics; chosen automatically when statsd_host is set."""

    def __init__(self, cfg):
        Logger.__init__(self, cfg)
        self.prefix = statsd_prefix(getattr(cfg, "statsd_prefix", ""))
        self.dogstatsd_tags = getattr(cfg, "dogstatsd_tags", "") or ""
        self.sock = None
        try:
            self.sock = _open_socket(statsd_target(cfg.statsd_host))
        except OSError as exc:
            # an unreachable address is the user's setting, not a bug: one line
            Logger.warning(self, "Cannot open statsd socket for statsd_host %r: %s",
                           cfg.statsd_host, exc)
        except Exception:
            Logger.warning(self, "Cannot open statsd socket for %r", cfg.statsd_host,
                           exc_info=True)

    # -- log calls: metrics from extra, counts of serious messages ----------

    def critical(self, msg, *args, **kwargs):
        self._log(logging.CRITICAL, msg, args, kwargs)
        self.increment("gunicorn.log.critical", 1)

    def error(self, msg, *args, **kwargs):
        self._log(logging.ERROR, msg, args, kwargs)
        self.increment("gunicorn.log.error", 1)

    def warning(self, msg, *args, **kwargs):
        self._log(logging.WARNING, msg, args, kwargs)
        self.increment("gunicorn.log.warning", 1)

    def exception(self, msg, *args, **kwargs):
        kwargs.setdefault("exc_info", True)
        self._log(logging.ERROR, msg, args, kwargs)
        self.increment("gunicorn.log.exception", 1)

    def info(self, msg, *args, **kwargs):
        self._log(logging.INFO, msg, args, kwargs)

    def debug(self, msg, *args, **kwargs):
        self._log(logging.DEBUG, msg, args, kwargs)

    def log(self, lvl, msg, *args, **kwargs):
        if isinstance(lvl, str):
            lvl = self.LOG_LEVELS.get(lvl.lower(), logging.INFO)
        self._log(lvl, msg, args, kwargs)

    def _log(self, lvl, msg, args, kwargs):
        try:
            self._metric_from_extra(kwargs.get("extra"))
        except Exception:
            Logger.warning(self, "Failed to log to statsd", exc_info=True)
        # An empty message only carried a metric.
        if msg:
            Logger.log(self, lvl, msg, *args, **kwargs)

    def _metric_from_extra(self, extra):
        if not extra:
            return
        metric = extra.get(METRIC_VAR)
        value = extra.get(VALUE_VAR)
        mtype = extra.get(MTYPE_VAR)
        # 0 is a real reading; only a missing value is skipped.
        if not metric or value is None or not mtype:
            return
        if mtype == GAUGE_TYPE:
            self.gauge(metric, value)
        elif mtype == COUNTER_TYPE:
            self.increment(metric, value)
        elif mtype == HISTOGRAM_TYPE:
            self.histogram(metric, value)
        elif mtype == TIMER_TYPE:
            self.timer(metric, value)

    # -- access: per-request metrics -----------------------------------------

    def access(self, resp, req, environ, request_time):
        Logger.access(self, resp, req, environ, request_time)
        try:
            self.timer("gunicorn.request.duration", _elapsed_ms(request_time))
            self.increment("gunicorn.requests", 1)
            status = getattr(resp, "status", None)
            if status is not None:
                self.increment("gunicorn.request.status.%d" % _status_int(status), 1)
        except Exception:
            self._report_once(("statsd-access",), "Failed to send request metrics to statsd",
                              logging.WARNING)

    # -- metric types (statsd datagram format) --------------------------------

    def gauge(self, name, value):
        self._send("%s%s:%s|g" % (self.prefix, name, value))

    def increment(self, name, value, sampling_rate=1.0):
        self._send("%s%s:%s|c|@%s" % (self.prefix, name, value, sampling_rate))

    def decrement(self, name, value, sampling_rate=1.0):
        self._send("%s%s:-%s|c|@%s" % (self.prefix, name, value, sampling_rate))

    def timer(self, name, value):
        self._send("%s%s:%s|ms" % (self.prefix, name, value))

    def histogram(self, name, value):
        # ``|h``, as upstream 27.0.1 sends it (statsd, DogStatsD and Telegraf
        # all aggregate it like a timer)
        self._send("%s%s:%s|h" % (self.prefix, name, value))

    def _send(self, msg):
        try:
            data = msg.encode("ascii")
            if self.dogstatsd_tags:
                # DogStatsD datagram: |#tag1:value,tag2
                data += b"|#" + self.dogstatsd_tags.encode("ascii")
            if self.sock is not None:
                self.sock.send(data)
        except Exception:
            # statsd is best effort: a full buffer or a missing listener must not hurt serving.
            self._report_once(("statsd-send",), "Error sending message to statsd",
                              logging.WARNING)
