"""Our server speaking uwsgi (TCP or Unix socket) with nginx in front, for integration tests."""

from __future__ import annotations

import os
import socket
import tempfile
from pathlib import Path

from gunicorn_testsupport import ServerProcess, wait_for
from nginx_front import NginxFront, require_nginx

APPS = Path(__file__).parent / "apps"


class UnixServerProcess(ServerProcess):
    """ServerProcess bound to a Unix socket; ready once the socket accepts."""

    def __init__(self, *args, **kw):
        self.socket_path = os.path.join(tempfile.mkdtemp(prefix="uwsgi-sock-"), "gunicorn.sock")
        super().__init__("-b", f"unix:{self.socket_path}", *args, bind=False, **kw)

    def start(self):
        super().start()
        wait_for(self._unix_accepting, self.ready_timeout,
                 message=f"server on {self.socket_path}\n{self.log}")
        return self

    def _unix_accepting(self):
        if self.proc.poll() is not None:
            raise AssertionError(f"server exited with {self.proc.returncode}:\n{self.log}")
        try:
            with socket.socket(socket.AF_UNIX) as probe:
                probe.settimeout(0.5)
                probe.connect(self.socket_path)
                return True
        except OSError:
            return False


class Stack:
    """A started server and the nginx in front of it."""

    def __init__(self, transport: str, app: str, *server_args: str, env=None, tls=None):
        """``tls=(certfile, keyfile)`` serves uwsgi over TLS (nginx ``suwsgi://``)."""
        require_nginx()
        args = ["--protocol", "uwsgi", "--log-level", "debug", *server_args, app]
        if tls is not None:
            args[:0] = ["--certfile", str(tls[0]), "--keyfile", str(tls[1])]
        if transport == "unix":
            self.server = UnixServerProcess(*args, cwd=str(APPS), env=env)
            upstream = f"unix:{self.server.socket_path}"
        else:
            self.server = ServerProcess(*args, cwd=str(APPS), env=env)
            upstream = f"127.0.0.1:{self.server.port}"
            if tls is not None:
                upstream = "suwsgi://" + upstream
        self.nginx = NginxFront(upstream)
        self.transport = transport

    def url(self, path="/") -> str:
        return self.nginx.url(path)

    def __enter__(self):
        self.server.start()
        try:
            self.nginx.start()
        except BaseException:
            self.server.stop()
            raise
        return self

    def __exit__(self, *exc):
        self.nginx.stop()
        self.server.__exit__(*exc)
