#!/usr/bin/env python3
"""Side-by-side HTTP benchmark of this gunicorn against upstream gunicorn and peers.

Standard library only. Builds one venv per server under benchmarks/.venvs/, then runs
every selected scenario against every selected server with wrk, round-robin across
servers, and prints one markdown table per scenario (also saved, with the raw rounds,
to benchmarks/results/<timestamp>.json). See docs/benchmarks.md.
"""

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import load, nginx, procs, report, scenarios, servers, venvs  # noqa: E402

RESULTS_DIR = os.path.join(venvs.BENCH_DIR, "results")
START_OVERHEAD_S = 2.0  # rough per-run cost of start, probe and stop, for the estimate
IDLE_OVERHEAD_S = 2.0
VERSIONS_OF = ["gunicorn", "gevent", "uvloop", "uvicorn", "httptools", "granian",
               "hypercorn", "waitress", "pyuwsgi", "gunicorn-workers-async", "gunicorn-uwsgi"]


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--servers", default="default",
                   help="comma list of server names or groups: default, all, ours, upstream, "
                        "peers (see --list)")
    p.add_argument("--scenarios", default="default",
                   help="comma list: hello, close, 64k, upload, idle, uwsgi; or default/all")
    p.add_argument("--workers", type=int, default=1, help="worker processes per server")
    p.add_argument("--threads", type=int, default=4,
                   help="threads per gthread worker (and waitress)")
    p.add_argument("--wrk-threads", type=int, default=1)
    p.add_argument("--connections", type=int, default=50, help="wrk connections")
    p.add_argument("--duration", type=int, default=5, help="seconds per measured run")
    p.add_argument("--warmup", type=int, default=1, help="seconds of discarded warm-up")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--idle-connections", type=int, default=1000)
    p.add_argument("--quick", action="store_true", help="smoke run: 1 round of 2 s")
    p.add_argument("--ours-python", default=None,
                   help="python of an existing env with this gunicorn installed "
                        "(default: build benchmarks/.venvs/ours from the checkout)")
    p.add_argument("--results-dir", default=RESULTS_DIR)
    p.add_argument("--no-save", action="store_true", help="do not write the JSON file")
    p.add_argument("--list", action="store_true", help="list servers and scenarios, then exit")
    args = p.parse_args(argv)
    if args.quick:
        args.rounds, args.duration = 1, 2
    return args


def list_choices():
    print("servers (* = default):")
    for s in servers.SERVERS:
        print(f"  {'*' if s.default else ' '} {s.name:16} venv={s.venv:10} {s.note}")
    print("scenarios (* = default):")
    for s in scenarios.SCENARIOS:
        print(f"  {'*' if s.default else ' '} {s.name:8} {s.title}")


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def prepare_pythons(selected, ours_python):
    """venv name -> python path, or -> an error string when that venv cannot be had."""
    pythons = {}
    for name in sorted({s.venv for s in selected}):
        if name == "ours" and ours_python:
            pythons[name] = ours_python
            continue
        try:
            pythons[name] = venvs.ensure_venv(name, log=log)
        except venvs.VenvError as exc:
            pythons[name] = exc
    return pythons


def check_response(port, scenario):
    """One request shaped like the scenario's, so a wrong answer is caught before load."""
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        if scenario.path == "/upload":
            conn.request("POST", "/upload", body=b"x" * scenarios.UPLOAD_BYTES,
                         headers={"Content-Type": "application/octet-stream"})
            expect = str(scenarios.UPLOAD_BYTES).encode()
        else:
            conn.request("GET", scenario.path)
            expect = b"x" * 65536 if scenario.path == "/64k" else b"Hello, World!"
        resp = conn.getresponse()
        body = resp.read()
    except (OSError, http.client.HTTPException) as exc:
        return f"check request failed: {exc}"
    finally:
        conn.close()
    if resp.status != 200 or body != expect:
        return f"wrong answer: {resp.status} {body[:40]!r}"
    return None


class IdleHolder:
    """The idle-connections helper process, started and stopped by PID."""

    def __init__(self, port, count, max_seconds):
        script = os.path.join(os.path.dirname(load.__file__), "idle_holder.py")
        self.proc = subprocess.Popen(
            [sys.executable, script, str(port), str(count), str(max_seconds)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.info = {}

    def wait_ready(self, timeout=40):
        import selectors

        with selectors.DefaultSelector() as sel:
            sel.register(self.proc.stdout, selectors.EVENT_READ)
            if not sel.select(timeout=timeout):
                raise load.LoadError("idle holder did not get ready")
        self.info.update(json.loads(self.proc.stdout.readline() or "{}"))
        return self.info

    def finish(self):
        try:
            # communicate() closes stdin, which tells the holder to report and exit.
            out, _ = self.proc.communicate(timeout=15)
            for line in out.splitlines():
                self.info.update(json.loads(line))
        except (subprocess.TimeoutExpired, ValueError, OSError):
            self.proc.kill()
            self.proc.wait(timeout=5)
        return self.info


def run_one(spec, scenario, python, args, tuning, workdir):
    """Start the server (and nginx or the idle holder if the scenario needs them), warm
    up, measure, stop. Returns the run record; never leaves a process behind."""
    record = {"server": spec.name, "scenario": scenario.name, "ok": False, "error": None}
    started = []
    holder = None
    env = dict(os.environ, PYTHONPATH=servers.APPS_DIR, PYTHONUNBUFFERED="1")
    env.pop("PYTHONHOME", None)
    try:
        port = procs.free_port()
        protocol = "uwsgi" if scenario.via_nginx_uwsgi else "http"
        log_path = os.path.join(workdir, f"{spec.name}-{scenario.name}.log")
        server = procs.ServerProcess(spec.argv(python, port, tuning, protocol), log_path,
                                     env=env, cwd=servers.APPS_DIR)
        started.append(server.start())
        front_port = port
        if scenario.via_nginx_uwsgi:
            front_port = procs.free_port()
            server.wait_ready(lambda: _connects(port))
            front = nginx.nginx_process(workdir, front_port, port)
            started.append(front.start())
            front.wait_ready(lambda: load.http_ok(front_port), timeout=15)
        else:
            server.wait_ready(lambda: load.http_ok(port))
    except procs.StartError as exc:
        record["error"] = f"not available: start failed: {exc}"
        record["start_failed"] = True
        _stop_all(started)
        return record
    try:
        problem = check_response(front_port, scenario)
        if problem:
            record["error"] = f"failed: {problem}"
            return record
        if scenario.idle_connections:
            holder = IdleHolder(front_port, args.idle_connections,
                                max_seconds=args.warmup + args.duration + 60)
            holder.wait_ready()
        script = load.write_script(workdir, scenario.lua)
        url = f"http://127.0.0.1:{front_port}{scenario.path}"
        wrk_args = dict(threads=args.wrk_threads, connections=args.connections,
                        script=script, headers=scenario.headers)
        sampler = procs.RssSampler(server)
        sampler.start()
        try:
            if args.warmup > 0:
                load.run_wrk(url, args.warmup, **wrk_args)
            record["metrics"] = load.run_wrk(url, args.duration, **wrk_args)
        finally:
            record["peak_rss_kib"] = sampler.finish()
        record["worker_pids_seen"] = len(sampler.peak_kib)
        record["ok"] = True
    except load.LoadError as exc:
        record["error"] = f"failed: {exc}"
    finally:
        if holder is not None:
            record["idle"] = holder.finish()
        _stop_all(started)
    return record


def _connects(port):
    import socket

    with socket.create_connection(("127.0.0.1", port), timeout=1):
        return True


def _stop_all(started):
    for proc in reversed(started):
        proc.stop()


def estimate_seconds(plan, args):
    total = 0.0
    for scenario, specs in plan:
        per = args.warmup + args.duration + START_OVERHEAD_S
        if scenario.idle_connections:
            per += IDLE_OVERHEAD_S
        total += per * len(specs) * args.rounds
    return total


def git_commit():
    try:
        return subprocess.run(["git", "-C", venvs.REPO_DIR, "rev-parse", "HEAD"],
                              capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return None


def main(argv=None):
    args = parse_args(argv)
    if args.list:
        list_choices()
        return 0
    try:
        selected = servers.select([t.strip() for t in args.servers.split(",") if t.strip()])
        chosen = scenarios.select([t.strip() for t in args.scenarios.split(",") if t.strip()])
    except KeyError as exc:
        log(f"unknown name {exc}; try --list")
        return 2
    if not os.access(load.WRK, os.X_OK):
        log(f"{load.WRK} not found: apt-get install wrk")
        return 2
    if any(s.via_nginx_uwsgi for s in chosen) and not nginx.available():
        log(f"{nginx.NGINX} not found: the uwsgi scenario needs nginx")
        chosen = [s for s in chosen if not s.via_nginx_uwsgi]
    plan = [(sc, [s for s in selected if scenarios.applies(sc, s)]) for sc in chosen]
    plan = [(sc, specs) for sc, specs in plan if specs]
    needed = [s for s in selected if any(s in specs for _, specs in plan)]

    log("preparing venvs ...")
    pythons = prepare_pythons(needed, args.ours_python)
    unavailable = {s.name: f"not available: {pythons[s.venv]}" for s in needed
                   if not isinstance(pythons[s.venv], str)}
    tuning = servers.Tuning(workers=args.workers, threads=args.threads)
    config = {k: getattr(args, k) for k in ("workers", "threads", "wrk_threads", "connections",
                                            "duration", "warmup", "rounds", "idle_connections")}
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    log(f"plan: {', '.join(f'{sc.name}x{len(sp)}' for sc, sp in plan)}; "
        f"estimated {estimate_seconds(plan, args) / 60:.1f} min")

    runs = []
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="gunicorn-bench-") as workdir:
        for rnd in range(args.rounds):
            for scenario, specs in plan:
                # Rotate the order each round so no server always runs first or last.
                shift = rnd % len(specs)
                for spec in specs[shift:] + specs[:shift]:
                    if spec.name in unavailable:
                        runs.append({"server": spec.name, "scenario": scenario.name,
                                     "round": rnd, "ok": False,
                                     "error": unavailable[spec.name]})
                        continue
                    record = run_one(spec, scenario, pythons[spec.venv], args, tuning,
                                     workdir)
                    record["round"] = rnd
                    runs.append(record)
                    if record.get("start_failed"):
                        # A server that cannot start will not start next round either.
                        unavailable[spec.name] = record["error"]
                    _log_run(record)
    elapsed = time.monotonic() - began

    summary = report.summarize(chosen, selected, runs)
    table = report.markdown(chosen, selected, summary, config)
    print(table)
    if not args.no_save:
        payload = {
            "meta": {
                "timestamp": stamp, "git_commit": git_commit(), "elapsed_s": round(elapsed, 1),
                "python": platform.python_version(), "machine": platform.machine(),
                "cpus": os.cpu_count(), "loadavg_end": list(os.getloadavg()),
                "kernel": platform.release(),
                "versions": {name: venvs.installed_versions(py, VERSIONS_OF)
                             for name, py in pythons.items() if isinstance(py, str)},
            },
            "config": config,
            "servers": {s.name: {"venv": s.venv, "worker_class": s.worker_class,
                                 "interface": s.interface, "baselines": list(s.baselines)}
                        for s in needed},
            "runs": runs,
            "summary": summary,
            "markdown": table,
        }
        path = report.write_json(args.results_dir, stamp, payload)
        log(f"results: {path} ({elapsed / 60:.1f} min)")
    return 0


def _log_run(record):
    where = f"[r{record['round']}] {record['scenario']:7} {record['server']:16}"
    if record["ok"]:
        m = record["metrics"]
        rss = record.get("peak_rss_kib")
        log(f"{where} {m['rps']:9.0f} req/s  p99 {m['p99_ms']:7.2f} ms  errors {m['errors']}"
            f"  rss {rss / 1024 if rss else 0:.1f} MiB")
    else:
        log(f"{where} FAILED: {(record['error'] or '').splitlines()[0][:120]}")


if __name__ == "__main__":
    sys.exit(main())
