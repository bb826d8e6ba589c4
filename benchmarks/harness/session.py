"""One server's life within a round: start it (behind nginx if needed), measure
scenarios against it, stop it; plus the idle-connections helper process."""

import http.client
import json
import os
import selectors
import signal
import socket
import subprocess
import sys

from . import h2load, load, nginx, procs, scenarios, servers


class IdleHolder:
    """The idle-connections helper process, started and stopped by PID."""

    def __init__(self, port, count, max_seconds):
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "idle_holder.py")
        self.proc = subprocess.Popen(
            [sys.executable, script, str(port), str(count), str(max_seconds)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.info = {}

    def wait_ready(self, timeout=40):
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


def check_response(port, scenario):
    """One request shaped like the scenario's, so a wrong answer is caught before load."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        if scenario.path == "/upload":
            conn.request("POST", "/upload", body=b"x" * scenarios.UPLOAD_BYTES,
                         headers={"Content-Type": "application/octet-stream"})
            expect = str(scenarios.UPLOAD_BYTES).encode()
        else:
            conn.request("GET", scenario.path)
            expect = b"x" * 65536 if scenario.path == "/64k" else scenarios.HELLO
        resp = conn.getresponse()
        body = resp.read()
    except (OSError, http.client.HTTPException) as exc:
        return f"check request failed: {exc}"
    finally:
        conn.close()
    if resp.status != 200 or body != expect:
        return f"wrong answer: {resp.status} {body[:40]!r}"
    return None


def _connects(port):
    with socket.create_connection(("127.0.0.1", port), timeout=1):
        return True


class ServerSession:
    """A started server; `front_port` is where the load connects (nginx for uwsgi).

    `mode` is the scenarios' mode: "http", "h2c" (started with cleartext HTTP/2) or
    "uwsgi" (speaking uwsgi behind our own nginx).
    """

    def __init__(self, spec, python, tuning, workdir, mode="http"):
        if mode not in scenarios.MODES:
            raise ValueError(f"unknown mode {mode!r}")
        self.spec = spec
        self.python = python
        self.tuning = tuning
        self.workdir = workdir
        self.mode = mode
        self.via_nginx_uwsgi = mode == "uwsgi"
        self.started = []
        self.server = None
        self.front_port = None
        self.starts = 0

    def start(self):
        """Raises procs.StartError (after cleaning up) if the server will not serve."""
        self.starts += 1
        env = dict(os.environ, PYTHONPATH=servers.APPS_DIR, PYTHONUNBUFFERED="1")
        env.pop("PYTHONHOME", None)
        port = procs.free_port()
        protocol = self.mode
        log_path = os.path.join(self.workdir, f"{self.spec.name}-{protocol}-{self.starts}.log")
        self.server = procs.ServerProcess(
            self.spec.argv(self.python, port, self.tuning, protocol), log_path,
            env=env, cwd=servers.APPS_DIR)
        try:
            self.started.append(self.server.start())
            if self.via_nginx_uwsgi:
                self.server.wait_ready(lambda: _connects(port))
                front_port = procs.free_port()
                front = nginx.nginx_process(self.workdir, front_port, port)
                self.started.append(front.start())
                front.wait_ready(lambda: load.http_ok(front_port), timeout=15)
                self.front_port = front_port
            elif self.mode == "h2c":
                # With prior knowledge an h2c server may refuse HTTP/1.1 outright.
                self.server.wait_ready(lambda: h2load.answers_preface(port))
                self.front_port = port
            else:
                self.server.wait_ready(lambda: load.http_ok(port))
                self.front_port = port
        except procs.StartError:
            self.stop()
            raise
        return self

    def alive(self):
        return bool(self.started) and all(p.alive() for p in self.started)

    def stop(self):
        for proc in reversed(self.started):
            proc.stop(self.spec.stop_signal if proc is self.server else signal.SIGTERM)
        self.started = []

    def measure(self, scenario, args):
        """Warm up, then one measured wrk run; returns the run record (ok or not)."""
        record = {"server": self.spec.name, "scenario": scenario.name, "ok": False,
                  "error": None}
        if scenario.http2:
            return self._measure_h2(scenario, args, record)
        problem = check_response(self.front_port, scenario)
        if problem:
            record["error"] = f"failed: {problem}"
            return record
        holder = None
        try:
            if scenario.idle_connections:
                holder = IdleHolder(self.front_port, args.idle_connections,
                                    max_seconds=args.warmup + args.duration + 60)
                holder.wait_ready()
            script = load.write_script(self.workdir, scenario.lua)
            url = f"http://127.0.0.1:{self.front_port}{scenario.path}"
            wrk_args = dict(threads=args.wrk_threads, connections=args.connections,
                            script=script, headers=scenario.headers)
            sampler = procs.RssSampler(self.server)
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
        return self._finish(record)

    def _measure_h2(self, scenario, args, record):
        """The h2 scenario: one h2load run (warm-up included) over cleartext HTTP/2."""
        url = f"http://127.0.0.1:{self.front_port}{scenario.path}"
        problem = h2load.check_answer(url, scenario.body_bytes)
        if problem:
            record["error"] = f"failed: {problem}"
            return self._finish(record)
        sampler = procs.RssSampler(self.server)
        sampler.start()
        try:
            record["metrics"] = h2load.run_h2load(
                url, args.duration, args.warmup, clients=args.h2_connections,
                streams=args.h2_streams, threads=args.wrk_threads, workdir=self.workdir)
            record["ok"] = True
        except h2load.H2LoadError as exc:
            record["error"] = f"failed: {exc}"
        finally:
            record["peak_rss_kib"] = sampler.finish()
        record["worker_pids_seen"] = len(sampler.peak_kib)
        return self._finish(record)

    def _finish(self, record):
        """Attach the server's state and, for a failure, its last log line."""
        log_tail = procs.tail(self.server.log_path)
        if not record["ok"]:
            record["log_tail"] = log_tail
        died = not self.alive()
        record["server_died"] = died
        last = procs.last_line(log_tail)
        if not record["ok"] and last:
            record["error"] += f" (server {'exited' if died else 'log'}: {last})"
        return record
