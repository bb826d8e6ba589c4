"""Drive wrk with a generated Lua script and read its summary back as JSON."""

import http.client
import json
import os
import subprocess

WRK = "/usr/bin/wrk"
MARK = "BENCHJSON "

# wrk calls done() once at the end; printing one JSON line avoids parsing its text report.
REPORT_LUA = r"""
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCHJSON {"requests":%.0f,"duration_us":%.0f,"bytes":%.0f,' ..
    '"connect":%.0f,"read":%.0f,"write":%.0f,"status":%.0f,"timeout":%.0f,' ..
    '"p50_us":%.0f,"p90_us":%.0f,"p99_us":%.0f,"max_us":%.0f,"mean_us":%.1f}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean))
end
"""


class LoadError(RuntimeError):
    """wrk failed or printed no summary."""


def write_script(directory, prelude):
    path = os.path.join(directory, "scenario.lua")
    with open(path, "w") as f:
        f.write((prelude or "") + "\n" + REPORT_LUA)
    return path


def run_wrk(url, duration, threads, connections, script, headers=(), timeout_s=2):
    """Run wrk once; returns its summary dict with req/s, latencies in ms, error counts."""
    argv = [WRK, "-t", str(threads), "-c", str(connections), "-d", f"{int(duration)}s",
            "--timeout", f"{timeout_s}s", "--latency", "-s", script]
    for header in headers:
        argv += ["-H", header]
    argv.append(url)
    try:
        done = subprocess.run(argv, capture_output=True, text=True, stdin=subprocess.DEVNULL,
                              timeout=duration + 30)
    except subprocess.TimeoutExpired as exc:
        raise LoadError(f"wrk did not finish: {exc}") from exc
    for line in done.stdout.splitlines():
        if line.startswith(MARK):
            raw = json.loads(line[len(MARK):])
            break
    else:
        raise LoadError(f"wrk rc={done.returncode}: {(done.stderr or done.stdout)[-500:]}")
    seconds = raw["duration_us"] / 1e6 or 1.0
    socket_errors = raw["connect"] + raw["read"] + raw["write"] + raw["timeout"]
    return {
        "rps": raw["requests"] / seconds,
        "requests": raw["requests"],
        "p50_ms": raw["p50_us"] / 1000.0,
        "p90_ms": raw["p90_us"] / 1000.0,
        "p99_ms": raw["p99_us"] / 1000.0,
        "max_ms": raw["max_us"] / 1000.0,
        "socket_errors": socket_errors,
        "non2xx": raw["status"],
        "errors": socket_errors + raw["status"],
        "error_detail": {k: raw[k] for k in ("connect", "read", "write", "timeout", "status")},
        "transfer_bytes": raw["bytes"],
    }


def http_ok(port, path="/", timeout=1.0):
    """True once GET path answers 200: the readiness probe for every HTTP front."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        resp.read()
        return resp.status == 200
    except (http.client.HTTPException, ConnectionError, TimeoutError):
        return False
    finally:
        conn.close()
