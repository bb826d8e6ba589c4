"""The benchmarked servers: which venv each runs from and the command line it gets."""

import os
import signal
from dataclasses import dataclass

from .venvs import BENCH_DIR

APPS_DIR = os.path.join(BENCH_DIR, "apps")
WSGI_APP = "wsgi_app:app"
ASGI_APP = "asgi_app:app"

# Same limits for every server so the idle-connections scenario measures handling, not
# a refusal: 1000 idle sockets plus the load generator exceed several servers' defaults.
KEEPALIVE_SECONDS = 75
MAX_CONNECTIONS = 2000
BACKLOG = 2048


@dataclass
class Tuning:
    """Knobs shared by every server in one run."""

    workers: int = 1
    threads: int = 4


@dataclass
class ServerSpec:
    name: str
    venv: str
    worker_class: str
    interface: str  # "wsgi" or "asgi"
    # Rows this one is divided by in the ratio columns, e.g. ours-sync -> upstream-sync.
    baselines: tuple = ()
    http: bool = True  # takes part in the plain HTTP scenarios
    uwsgi: bool = False  # can sit behind nginx uwsgi_pass
    http2: bool = False  # serves cleartext HTTP/2 with prior knowledge (the h2 scenario)
    no_http2: str = ""  # why not, for the h2 table's notes
    default: bool = False
    note: str = ""
    # SIGTERM by default: a runner started in the background passes SIGINT on ignored,
    # and servers that leave SIGINT to Python's KeyboardInterrupt then never stop.
    stop_signal: int = signal.SIGTERM

    def argv(self, python, port, tuning, protocol="http"):
        return BUILDERS[self.builder_key](self, python, port, tuning, protocol)

    @property
    def builder_key(self):
        if self.name in BUILDERS:
            return self.name
        if self.venv in ("upstream", "ours"):
            return "gunicorn"
        return self.name


def _gunicorn(spec, python, port, tuning, protocol):
    app = ASGI_APP if spec.interface == "asgi" else WSGI_APP
    argv = [
        python, "-m", "gunicorn",
        "-b", f"127.0.0.1:{port}",
        "-w", str(tuning.workers),
        "-k", spec.worker_class,
        "--keep-alive", str(KEEPALIVE_SECONDS),
        "--backlog", str(BACKLOG),
        "--graceful-timeout", "3",
        "--log-level", "warning",
    ]
    if spec.worker_class == "gthread":
        argv += ["--threads", str(tuning.threads)]
    if spec.worker_class != "sync":
        argv += ["--worker-connections", str(MAX_CONNECTIONS)]
    if protocol == "uwsgi":
        argv += ["--protocol", "uwsgi"]
    elif protocol == "h2c":
        # Cleartext HTTP/2 needs h2 among the protocols; prior knowledge means the
        # client starts with the preface (RFC 9113 section 3.3), as h2load does.
        argv += ["--http-protocols", "h2,h1", "--http2-cleartext", "prior-knowledge"]
    return argv + [app]


def _bin(python, script):
    return os.path.join(os.path.dirname(python), script)


def _uvicorn(spec, python, port, tuning, protocol):
    return [
        python, "-m", "uvicorn",
        "--host", "127.0.0.1", "--port", str(port),
        "--workers", str(tuning.workers),
        "--loop", "uvloop", "--http", "httptools",
        "--timeout-keep-alive", str(KEEPALIVE_SECONDS),
        "--backlog", str(BACKLOG),
        "--no-access-log", "--log-level", "warning",
        "--app-dir", APPS_DIR,
        ASGI_APP,
    ]


def _granian(spec, python, port, tuning, protocol):
    return [
        _bin(python, "granian"),
        "--interface", spec.interface,
        "--host", "127.0.0.1", "--port", str(port),
        "--workers", str(tuning.workers),
        "--backlog", str(BACKLOG),
        "--no-ws", "--log-level", "warning",
        "--working-dir", APPS_DIR,
        ASGI_APP if spec.interface == "asgi" else WSGI_APP,
    ]


def _hypercorn(spec, python, port, tuning, protocol):
    return [
        _bin(python, "hypercorn"),
        "-b", f"127.0.0.1:{port}",
        "-w", str(tuning.workers),
        "-k", "uvloop",
        "--keep-alive", str(KEEPALIVE_SECONDS),
        "--backlog", str(BACKLOG),
        "--log-level", "warning",
        ASGI_APP,
    ]


def _waitress(spec, python, port, tuning, protocol):
    # waitress is one process by design; --workers does not apply to it.
    return [
        _bin(python, "waitress-serve"),
        f"--listen=127.0.0.1:{port}",
        f"--threads={tuning.threads}",
        f"--connection-limit={MAX_CONNECTIONS}",
        f"--backlog={BACKLOG}",
        f"--channel-timeout={KEEPALIVE_SECONDS}",
        WSGI_APP,
    ]


def _pyuwsgi(spec, python, port, tuning, protocol):
    # Real uWSGI speaking its own binary protocol, the way nginx uwsgi_pass expects.
    return [
        _bin(python, "uwsgi"),
        "--socket", f"127.0.0.1:{port}",
        "--master", "--processes", str(tuning.workers),
        "--pythonpath", APPS_DIR,
        "--module", WSGI_APP,
        "--listen", str(BACKLOG),
        "--disable-logging",
        "--need-app",
    ]


def _python_floor(spec, python, port, tuning, protocol):
    # The bare loop is one process whatever tuning.workers says (so is pyuwsgi at 1).
    return [python, os.path.join(APPS_DIR, "bare_uwsgi_loop.py"), str(port)]


BUILDERS = {
    "gunicorn": _gunicorn,
    "uvicorn": _uvicorn,
    "granian-wsgi": _granian,
    "granian-asgi": _granian,
    "hypercorn": _hypercorn,
    "waitress": _waitress,
    "pyuwsgi": _pyuwsgi,
    "python-floor": _python_floor,
}


def _gunicorn_pair(worker_class, interface, default, extra_baselines=(), no_http2=""):
    # SIGINT is gunicorn's quick shutdown; TERM would wait out the graceful timeout.
    # Both members get the h2 scenario when upstream's worker class serves HTTP/2; ours
    # then shows "not available" with the reason until its HTTP/2 is there.
    common = dict(worker_class=worker_class, interface=interface, uwsgi=True,
                  default=default, stop_signal=signal.SIGINT, http2=not no_http2,
                  no_http2=no_http2)
    upstream = ServerSpec(name=f"upstream-{worker_class}", venv="upstream", **common)
    ours = ServerSpec(name=f"ours-{worker_class}", venv="ours",
                      baselines=(upstream.name,) + tuple(extra_baselines), **common)
    return [upstream, ours]


SERVERS = [
    *_gunicorn_pair("sync", "wsgi", default=True,
                    no_http2="the sync worker has no HTTP/2 (upstream warns and serves "
                             "HTTP/1.1 only)"),
    *_gunicorn_pair("gthread", "wsgi", default=True),
    *_gunicorn_pair("asgi", "asgi", default=True, extra_baselines=("uvicorn",)),
    *_gunicorn_pair("gevent", "wsgi", default=False),
    # Not in the default set only to keep the default run near 10 minutes.
    ServerSpec(name="uvicorn", venv="uvicorn", worker_class="uvloop+httptools",
               interface="asgi", no_http2="uvicorn has no HTTP/2"),
    # granian (--http auto) and hypercorn take h2c prior knowledge with the same command.
    ServerSpec(name="granian-wsgi", venv="granian", worker_class="wsgi", interface="wsgi",
               http2=True),
    ServerSpec(name="granian-asgi", venv="granian", worker_class="asgi", interface="asgi",
               http2=True),
    ServerSpec(name="hypercorn", venv="hypercorn", worker_class="uvloop", interface="asgi",
               http2=True),
    ServerSpec(name="waitress", venv="waitress", worker_class="threads", interface="wsgi",
               note="single process: --workers does not apply", no_http2="waitress has no HTTP/2"),
    ServerSpec(name="pyuwsgi", venv="pyuwsgi", worker_class="prefork", interface="wsgi",
               http=False, uwsgi=True, default=True, stop_signal=signal.SIGINT,
               note="uwsgi scenario only (binary uwsgi protocol behind nginx)"),
    # Reference only: how far a Python process gets with no checks at all.
    ServerSpec(name="python-floor", venv="pyuwsgi", worker_class="bare loop", interface="wsgi",
               http=False, uwsgi=True, default=False,
               note="uwsgi scenario only: a bare Python loop (apps/bare_uwsgi_loop.py), "
                    "no checks, not a server; always one process, so compare it at "
                    "--workers 1 only"),
]

BY_NAME = {s.name: s for s in SERVERS}


def select(names):
    """Resolve the --servers filter: names, 'default', 'all', 'ours', 'upstream', 'peers'."""
    chosen = []
    for token in names:
        if token == "all":
            group = SERVERS
        elif token == "default":
            group = [s for s in SERVERS if s.default]
        elif token in ("ours", "upstream"):
            group = [s for s in SERVERS if s.venv == token]
        elif token == "peers":
            group = [s for s in SERVERS if s.venv not in ("ours", "upstream")]
        elif token in BY_NAME:
            group = [BY_NAME[token]]
        else:
            raise KeyError(token)
        for spec in group:
            if spec not in chosen:
                chosen.append(spec)
    return chosen
