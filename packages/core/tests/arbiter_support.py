"""Shared pieces of the arbiter/signal integration tests: the test app, hooks, helpers."""

import re
import textwrap

import httpx
from gunicorn_testsupport import ServerProcess, wait_for

# A tiny WSGI app: /slow?S sleeps S seconds (touching started.marker first),
# / answers with the worker pid so tests can tell workers apart.
APP = textwrap.dedent('''
    import os, time

    def app(environ, start_response):
        path = environ.get("PATH_INFO", "/")
        if path == "/slow":
            open(os.path.join(os.environ["MARKER_DIR"], "started.marker"), "w").close()
            time.sleep(float(environ.get("QUERY_STRING") or 3))
        body = ("pid=%d path=%s\\n" % (os.getpid(), path)).encode()
        start_response("200 OK", [("Content-Type", "text/plain"),
                                  ("Content-Length", str(len(body)))])
        return [body]
''')

# Each server hook appends one line "<hook> <pid> <details>" to hooks.log.
HOOKS = textwrap.dedent('''
    import os
    _LOG = {log!r}

    def _w(*parts):
        with open(_LOG, "a") as f:
            f.write(" ".join(str(p) for p in parts) + "\\n")

    def on_starting(server): _w("on_starting", os.getpid())
    def when_ready(server): _w("when_ready", os.getpid(), len(server.LISTENERS))
    def pre_fork(server, worker): _w("pre_fork", os.getpid(), worker.age)
    def post_fork(server, worker): _w("post_fork", os.getpid(), worker.pid)
    def post_worker_init(worker): _w("post_worker_init", os.getpid())
    def child_exit(server, worker): _w("child_exit", os.getpid(), worker.pid)
    def worker_exit(server, worker): _w("worker_exit", os.getpid(), worker.pid)
    def worker_abort(worker): _w("worker_abort", os.getpid())
    def worker_int(worker): _w("worker_int", os.getpid())
    def nworkers_changed(server, new_value, old_value): _w("nworkers_changed", os.getpid(), new_value, old_value)
    def on_reload(server): _w("on_reload", os.getpid())
    def pre_exec(server): _w("pre_exec", os.getpid())
    def on_exit(server): _w("on_exit", os.getpid())
''')

def write_project(tmp_path, hooks=False):
    """Write app.py (and gunicorn.conf.py with every hook) into ``tmp_path``."""
    (tmp_path / "app.py").write_text(APP)
    if hooks:
        (tmp_path / "gunicorn.conf.py").write_text(HOOKS.format(log=str(tmp_path / "hooks.log")))


def worker_args():
    """The real default worker (sync); kept as a hook for running these tests on others."""
    return []


def server(tmp_path, *args, hooks=False, **kw):
    """A ServerProcess running ``app:app`` from ``tmp_path`` with fast timeouts."""
    write_project(tmp_path, hooks=hooks)
    env = {"MARKER_DIR": str(tmp_path)}
    env.update(kw.pop("env", {}))
    return ServerProcess("--graceful-timeout", "2", *worker_args(), *args, "app:app",
                         cwd=str(tmp_path), env=env, **kw)


def get(srv, path="/", timeout=10.0):
    return httpx.get(srv.url(path), timeout=timeout)


def worker_count_is(srv, n):
    return lambda: len(srv.worker_pids()) == n


def hook_lines(tmp_path, name=None):
    path = tmp_path / "hooks.log"
    if not path.exists():
        return []
    lines = [line.split() for line in path.read_text().splitlines()]
    return [line for line in lines if name is None or line[0] == name]


def booted_pids(log):
    return [int(p) for p in re.findall(r"Booting worker with pid: (\d+)", log)]


def process_gone(pid):
    """True once ``pid`` has exited (a zombie counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except FileNotFoundError:
        return True


def wait_gone(pid, timeout=10.0):
    wait_for(lambda: process_gone(pid), timeout, message=f"pid {pid} to exit")


def wait_log(srv, text, timeout=10.0):
    wait_for(lambda: text in srv.log, timeout, message=f"{text!r} in log\n{srv.log}")


def started_marker(tmp_path):
    return tmp_path / "started.marker"


