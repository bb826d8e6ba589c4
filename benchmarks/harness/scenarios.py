"""The load scenarios: what wrk sends, to which path, and what runs beside it."""

from dataclasses import dataclass

UPLOAD_BYTES = 1024 * 1024

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
    default: bool = True


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
]

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


def applies(scenario, server):
    """Whether `server` takes part in `scenario` at all."""
    return server.uwsgi if scenario.via_nginx_uwsgi else server.http
