"""The load scenarios: what wrk (or h2load) sends, to which path, and what runs beside it."""

from dataclasses import dataclass

UPLOAD_BYTES = 1024 * 1024
HELLO = b"Hello, World!"  # what the apps answer at /

UPLOAD_LUA = f"""
wrk.method = "POST"
wrk.body = string.rep("x", {UPLOAD_BYTES})
wrk.headers["Content-Type"] = "application/octet-stream"
"""


@dataclass
class Scenario:
    name: str
    title: str
    path: str = "/"
    lua: str = ""
    headers: tuple = ()
    idle_connections: bool = False  # hold --idle-connections idle sockets during the run
    via_nginx_uwsgi: bool = False  # wrk -> nginx -> uwsgi_pass -> backend
    http2: bool = False  # h2load over cleartext HTTP/2 (prior knowledge) instead of wrk
    default: bool = True

    @property
    def mode(self):
        """How servers are started for it: "http", "h2c" or "uwsgi" (behind nginx)."""
        return "uwsgi" if self.via_nginx_uwsgi else "h2c" if self.http2 else "http"

    @property
    def body_bytes(self):
        """Size of the answer the check request expects."""
        return {"/64k": 65536, "/upload": len(str(UPLOAD_BYTES))}.get(self.path, len(HELLO))


SCENARIOS = [
    Scenario("hello", "Hello world, keep-alive"),
    Scenario("close", "Hello world, Connection: close", headers=("Connection: close",)),
    Scenario("64k", "64 KiB response, keep-alive", path="/64k"),
    Scenario("upload", "1 MiB upload (POST body read and discarded)", path="/upload",
             lua=UPLOAD_LUA),
    Scenario("idle", "Hello world, keep-alive, with idle keep-alive connections held open",
             idle_connections=True),
    Scenario("uwsgi", "Hello world through nginx uwsgi_pass (uwsgi protocol backend)",
             via_nginx_uwsgi=True, default=False),
    # Not default: only the gunicorn workers with HTTP/2 (and a few peers) take part.
    Scenario("h2", "Hello world over cleartext HTTP/2 (h2c prior knowledge), h2load",
             http2=True, default=False),
]

MODES = ("http", "h2c", "uwsgi")

BY_NAME = {s.name: s for s in SCENARIOS}


def select(names):
    chosen = []
    for token in names:
        group = ([s for s in SCENARIOS if s.default] if token == "default"
                 else SCENARIOS if token == "all" else [BY_NAME[token]])
        for scenario in group:
            if scenario not in chosen:
                chosen.append(scenario)
    return chosen


def skip_reason(scenario, server):
    """Why `server` sits out `scenario` (shown under its table), or None if it runs."""
    if scenario.via_nginx_uwsgi:
        return None if server.uwsgi else "no uwsgi protocol"
    if not server.http:
        return "uwsgi protocol only, no HTTP"
    if scenario.http2 and not server.http2:
        return server.no_http2 or "no cleartext HTTP/2"
    return None


def applies(scenario, server):
    """Whether `server` takes part in `scenario` at all."""
    return skip_reason(scenario, server) is None
