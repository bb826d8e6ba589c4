"""Drive h2load (nghttp2) for the HTTP/2 scenario and read its text report."""

import os
import re
import socket
import subprocess
import tempfile

H2LOAD = "/usr/bin/h2load"

# RFC 9113 section 3.4: the client connection preface, then the client's SETTINGS frame
# (here empty: 9-byte frame header, length 0, type 0x4, no flags, stream 0).
CLIENT_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
EMPTY_SETTINGS = b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"

_UNITS_TO_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}
_FINISHED = re.compile(r"^finished in ([\d.]+)(us|ms|s), ([\d.]+) req/s")
_REQUESTS = re.compile(
    r"^requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, "
    r"(\d+) errored, (\d+) timeout")
_STATUS = re.compile(r"^status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx")
_TRAFFIC = re.compile(r"^traffic: \S+ \((\d+)\) total.* \S+ \((\d+)\) data")
_REQUEST_TIME = re.compile(r"^time for request:\s+(\S+)\s+(\S+)\s+(\S+)")
_PROTOCOL = re.compile(r"^Application protocol: (\S+)")


class H2LoadError(RuntimeError):
    """h2load failed, printed no summary, or did not speak HTTP/2."""


def _ms(text):
    match = re.fullmatch(r"([\d.]+)(us|ms|s)", text)
    if not match:
        raise ValueError(f"not an h2load duration: {text!r}")
    return float(match.group(1)) * _UNITS_TO_MS[match.group(2)]


def parse_report(text):
    """The numbers of h2load's end-of-run report, as a dict; raises H2LoadError if the
    report is missing (h2load could not start, or was killed)."""
    found = {}
    for line in text.splitlines():
        line = line.strip()
        if m := _FINISHED.match(line):
            found["seconds"] = _ms(m.group(1) + m.group(2)) / 1000.0
            found["rps"] = float(m.group(3))
        elif m := _REQUESTS.match(line):
            keys = ("total", "started", "done", "succeeded", "failed", "errored", "timeout")
            found.update(zip(keys, map(int, m.groups()), strict=True))
        elif m := _STATUS.match(line):
            found.update(zip(("s2xx", "s3xx", "s4xx", "s5xx"), map(int, m.groups()), strict=True))
        elif m := _TRAFFIC.match(line):
            found["bytes"], found["data_bytes"] = int(m.group(1)), int(m.group(2))
        elif m := _REQUEST_TIME.match(line):
            found["min_ms"], found["max_ms"], found["mean_ms"] = map(_ms, m.groups())
        elif m := _PROTOCOL.match(line):
            found["protocol"] = m.group(1)
    missing = {"rps", "done", "s2xx"} - found.keys()
    if missing:
        raise H2LoadError(f"no h2load summary ({', '.join(sorted(missing))} missing): "
                          f"{text.strip()[-300:]}")
    return found


def _percentile(ordered, pct):
    """Nearest-rank percentile of an ascending list (None when it is empty)."""
    if not ordered:
        return None
    rank = max(1, -(-len(ordered) * pct // 100))  # ceil without floats
    return ordered[int(rank) - 1]


def latencies_ms(log_text):
    """Ascending response times (ms) of the completed requests in an h2load --log-file.

    Columns: start (us since epoch), status (-1 for a failed stream), microseconds until
    the end of the response. Failed streams are left out: they are counted as errors.
    """
    out = []
    for line in log_text.splitlines():
        cols = line.split("\t")
        if len(cols) < 3 or cols[1].strip() == "-1":
            continue
        try:
            out.append(int(cols[2]) / 1000.0)
        except ValueError:
            continue
    out.sort()
    return out


def metrics(report, latencies):
    """The same record the wrk scenarios produce, from parse_report() and latencies_ms()."""
    non2xx = report["s4xx"] + report["s5xx"]  # as wrk counts: 3xx is not an error
    socket_errors = report.get("errored", 0)  # connection and stream failures, timeouts too
    # No log lines (nothing completed): percentiles are None, shown as n/a.
    return {
        "rps": report["rps"],
        "requests": report["done"],
        "p50_ms": _percentile(latencies, 50),
        "p90_ms": _percentile(latencies, 90),
        "p99_ms": _percentile(latencies, 99),
        "max_ms": latencies[-1] if latencies else report.get("max_ms"),
        "mean_ms": report.get("mean_ms"),
        "socket_errors": socket_errors,
        "non2xx": non2xx,
        "errors": socket_errors + non2xx,
        "error_detail": {k: report.get(k, 0) for k in
                         ("failed", "errored", "timeout", "s3xx", "s4xx", "s5xx")},
        "transfer_bytes": report.get("bytes", 0),
        "protocol": report.get("protocol"),
    }


def h2load_argv(url, duration, warmup, clients, streams, threads, log_file=None):
    """h2load over cleartext HTTP/2 with prior knowledge (the default for http:// URLs),
    bounded in time (-D after --warm-up-time: it stops every client when the time is up,
    answered or not) and in connections and streams. No -N: h2load 1.52 aborts on a
    libev assertion when an inactivity timeout is set in a timed run."""
    argv = [H2LOAD, "-c", str(clients), "-m", str(streams), "-t", str(threads),
            "-D", str(int(duration))]
    if warmup > 0:
        argv += ["--warm-up-time", str(int(warmup))]
    if log_file:
        argv += ["--log-file", log_file]
    return argv + [url]


def _run(argv, timeout):
    try:
        done = subprocess.run(argv, capture_output=True, text=True, stdin=subprocess.DEVNULL,
                              timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise H2LoadError(f"h2load did not finish: {exc}") from exc
    except OSError as exc:
        raise H2LoadError(f"h2load could not run: {exc}") from exc
    text = done.stdout + "\n" + done.stderr
    if done.returncode != 0 and "finished in" not in text:
        raise H2LoadError(f"h2load rc={done.returncode}: {text.strip()[-300:]}")
    return text


def run_h2load(url, duration, warmup, clients, streams, threads, workdir):
    """One warm-up plus measured h2load run; returns the metrics record."""
    fd, log_file = tempfile.mkstemp(prefix="h2load-", suffix=".tsv", dir=workdir)
    os.close(fd)
    try:
        argv = h2load_argv(url, duration, warmup, clients, streams, threads, log_file)
        report = parse_report(_run(argv, timeout=warmup + duration + 30))
        with open(log_file, errors="replace") as f:
            latencies = latencies_ms(f.read())
    finally:
        os.unlink(log_file)
    if report.get("protocol") not in (None, "h2c", "h2"):
        raise H2LoadError(f"h2load negotiated {report['protocol']}, not HTTP/2")
    return metrics(report, latencies)


def check_answer(url, expect_body_bytes, timeout=15):
    """One h2load request: None if it got a 2xx over HTTP/2 with a body of the expected
    size, else what was wrong (h2load reports sizes, not bodies)."""
    argv = [H2LOAD, "-n", "1", "-c", "1", "-m", "1", "-N", "5", url]
    try:
        report = parse_report(_run(argv, timeout=timeout))
    except H2LoadError as exc:
        return f"h2 check request failed: {exc}"
    if report.get("errored"):
        # Typically a server that ignored the preface (an HTTP/1.1-only worker).
        return "h2 check: no HTTP/2 answer to a prior-knowledge request (stream errored)"
    if report.get("succeeded") != 1 or report["s2xx"] != 1:
        return (f"h2 check: {report.get('succeeded', 0)} succeeded, {report['s2xx']} 2xx, "
                f"{report['s4xx'] + report['s5xx']} 4xx/5xx")
    if report.get("data_bytes") != expect_body_bytes:
        return f"h2 check: body of {report.get('data_bytes')} bytes, not {expect_body_bytes}"
    return None


def answers_preface(port, timeout=1.0):
    """True once the server reacts to the HTTP/2 client preface at all (a reply or a
    close): the readiness probe of the h2 scenario. Whether the reply is HTTP/2 is left
    to check_answer(), so that a server that only speaks HTTP/1.1 fails with a reason
    at once instead of looking unready for the whole start timeout."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(CLIENT_PREFACE + EMPTY_SETTINGS)
        sock.recv(1)  # a timeout (no worker yet) raises OSError: the probe retries
    return True
