#!/usr/bin/env python3
"""Side-by-side HTTP benchmark of this gunicorn against upstream gunicorn and peers.

Standard library only. Builds one venv per server under benchmarks/.venvs/, then runs
every selected scenario against every selected server with wrk (h2load for the HTTP/2
scenario), round-robin across
servers, and prints one markdown table per scenario (also saved, with the raw rounds,
to benchmarks/results/<timestamp>.json). See docs/benchmarks.md.
"""

import argparse
import datetime
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import h2load, load, nginx, procs, report, runlock, scenarios, schedule, servers, venvs  # noqa: E402
from harness.session import ServerSession  # noqa: E402

RESULTS_DIR = os.path.join(venvs.BENCH_DIR, "results")
# Rough costs for the up-front estimate: a server start and stop, a scenario's checks
# and wrk start, and opening the idle connections.
START_OVERHEAD_S = 1.5
RUN_OVERHEAD_S = 0.5
IDLE_OVERHEAD_S = 1.5
VERSIONS_OF = ["gunicorn", "gevent", "uvloop", "uvicorn", "httptools", "granian",
               "hypercorn", "waitress", "pyuwsgi", "h2", "gunicorn-workers-async", "gunicorn-uwsgi",
               "gunicorn-http2"]


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--servers", default="default",
                   help="comma list of server names or groups: default, all, ours, upstream, "
                        "peers (see --list)")
    p.add_argument("--scenarios", default="default",
                   help="comma list: hello, close, 64k, upload, idle, uwsgi, h2; "
                        "or default/all")
    p.add_argument("--workers", type=int, default=1, help="worker processes per server")
    p.add_argument("--threads", type=int, default=4,
                   help="threads per gthread worker (and waitress)")
    p.add_argument("--wrk-threads", type=int, default=1,
                   help="load generator threads (wrk -t, and h2load -t in the h2 scenario)")
    p.add_argument("--connections", type=int, default=50, help="wrk connections")
    p.add_argument("--h2-connections", type=int, default=8,
                   help="h2load connections (-c) in the h2 scenario")
    p.add_argument("--h2-streams", type=int, default=10,
                   help="h2load concurrent streams per connection (-m) in the h2 scenario")
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
    p.add_argument("--lock-wait", type=float, default=1200,
                   help="seconds to wait for another benchmark run on this machine to end")
    args = p.parse_args(argv)
    if args.quick:
        args.rounds, args.duration = 1, 2
    if args.ours_python:
        # Servers run with the apps folder as cwd, so a relative path would break.
        args.ours_python = os.path.abspath(args.ours_python)
        if not os.access(args.ours_python, os.X_OK):
            p.error(f"--ours-python {args.ours_python} is not an executable")
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


def estimate_seconds(plan, args):
    total = 0.0
    for scenario, specs in plan:
        per = args.warmup + args.duration + RUN_OVERHEAD_S
        if scenario.idle_connections:
            per += IDLE_OVERHEAD_S
        total += per * len(specs) * args.rounds
    starts = {(spec.name, sc.mode) for sc, specs in plan for spec in specs}
    return total + len(starts) * START_OVERHEAD_S * args.rounds


def run_rounds(plan, args, pythons, unavailable, tuning, workdir):
    """Every round: for each scenario, each server in comparison order; returns records.

    Plain-HTTP servers are all started at the round's start and stopped at its end (an
    idle server costs next to nothing), so the rows compared with each other are
    measured seconds apart; the h2 scenario's servers (started with cleartext HTTP/2)
    likewise, after the plain ones are stopped. Behind nginx, one backend runs at a time.
    """
    runs = []
    for rnd in range(args.rounds):
        for mode_name, mode in schedule.modes(plan):
            sessions = {}
            via_nginx = mode_name == "uwsgi"

            def session_for(spec, mode_name=mode_name, sessions=sessions):
                if spec.name in unavailable:
                    return None
                session = sessions.get(spec.name)
                if session is not None and session.alive():
                    return session
                if session is not None:
                    session.stop()  # reap what is left of the one that died
                session = ServerSession(spec, pythons[spec.venv], tuning, workdir,
                                        mode=mode_name)
                try:
                    session.start()
                except procs.StartError as exc:
                    # A server that cannot start will not start next time either.
                    unavailable[spec.name] = f"not available: start failed: {exc}"
                    return None
                sessions[spec.name] = session
                return session

            try:
                if not via_nginx:
                    everyone = []
                    for _, specs in mode:
                        everyone += [s for s in specs if s not in everyone]
                    for spec in everyone:
                        session_for(spec)
                for scenario, specs in mode:
                    for spec in schedule.comparison_order(specs, rnd):
                        session = session_for(spec)
                        if session is None:
                            record = {"server": spec.name, "scenario": scenario.name,
                                      "ok": False, "error": unavailable[spec.name]}
                        else:
                            record = session.measure(scenario, args)
                            if via_nginx:
                                session.stop()
                                del sessions[spec.name]
                        record["round"] = rnd
                        runs.append(record)
                        _log_run(record)
            finally:
                # Also on Ctrl-C: servers run in their own session and would outlive us.
                for session in sessions.values():
                    session.stop()
    return runs


def git_commit():
    try:
        return subprocess.run(["git", "-C", venvs.REPO_DIR, "rev-parse", "HEAD"],
                              capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return None


def _terminate(signum, frame):
    # Unwind through the finally blocks that stop the servers we started.
    raise SystemExit(128 + signum)


def main(argv=None):
    signal.signal(signal.SIGTERM, _terminate)
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
    if any(s.http2 for s in chosen) and not os.access(h2load.H2LOAD, os.X_OK):
        log(f"{h2load.H2LOAD} not found: the h2 scenario needs it (apt-get install "
            "nghttp2-client)")
        chosen = [s for s in chosen if not s.http2]
    if any(not s.http2 for s in chosen) and not os.access(load.WRK, os.X_OK):
        log(f"{load.WRK} not found: apt-get install wrk")
        return 2
    if any(s.via_nginx_uwsgi for s in chosen) and not nginx.available():
        log(f"{nginx.NGINX} not found: the uwsgi scenario needs nginx")
        chosen = [s for s in chosen if not s.via_nginx_uwsgi]
    plan = [(sc, [s for s in selected if scenarios.applies(sc, s)]) for sc in chosen]
    plan = [(sc, specs) for sc, specs in plan if specs]

    try:
        lock = runlock.acquire(args.lock_wait, log)
    except runlock.BusyError as exc:
        log(str(exc))
        return 3
    try:
        return _run(args, selected, chosen, plan)
    finally:
        lock.close()


def _run(args, selected, chosen, plan):
    needed = [s for s in selected if any(s in specs for _, specs in plan)]
    log("preparing venvs ...")
    pythons = prepare_pythons(needed, args.ours_python)
    unavailable = {s.name: f"not available: {pythons[s.venv]}" for s in needed
                   if not isinstance(pythons[s.venv], str)}
    tuning = servers.Tuning(workers=args.workers, threads=args.threads)
    config = {k: getattr(args, k) for k in ("workers", "threads", "wrk_threads", "connections",
                                            "duration", "warmup", "rounds", "idle_connections",
                                            "h2_connections", "h2_streams")}
    config["loadavg_start"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    config["ours_python"] = args.ours_python or venvs.venv_python("ours")
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    log(f"plan: {', '.join(f'{sc.name}x{len(sp)}' for sc, sp in plan)}; "
        f"estimated {estimate_seconds(plan, args) / 60:.1f} min")

    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="gunicorn-bench-") as workdir:
        runs = run_rounds(plan, args, pythons, unavailable, tuning, workdir)
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
            "skipped": report.skipped(chosen, selected),
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
        p99 = "n/a" if m["p99_ms"] is None else f"{m['p99_ms']:.2f}"
        log(f"{where} {m['rps']:9.0f} req/s  p99 {p99:>7} ms  errors {m['errors']}"
            f"  rss {rss / 1024 if rss else 0:.1f} MiB")
    else:
        log(f"{where} FAILED: {(record['error'] or '').splitlines()[0][:120]}")


if __name__ == "__main__":
    sys.exit(main())
