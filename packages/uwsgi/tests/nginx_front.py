"""Run a real nginx (the test's own process, no daemon, no master) that uwsgi_passes to us."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest
from gunicorn_testsupport import free_port, wait_for

NGINX = os.environ.get("UWSGI_TEST_NGINX", "/usr/sbin/nginx")
INSTALL_HINT = "apt-get install nginx-light"

# The stock uwsgi_params, spelled out so the tests do not depend on /etc/nginx.
UWSGI_PARAMS = """
uwsgi_param  QUERY_STRING       $query_string;
uwsgi_param  REQUEST_METHOD     $request_method;
uwsgi_param  CONTENT_TYPE       $content_type;
uwsgi_param  CONTENT_LENGTH     $content_length;
uwsgi_param  REQUEST_URI        $request_uri;
uwsgi_param  PATH_INFO          $document_uri;
uwsgi_param  DOCUMENT_ROOT      $document_root;
uwsgi_param  SERVER_PROTOCOL    $server_protocol;
uwsgi_param  REQUEST_SCHEME     $scheme;
uwsgi_param  HTTPS              $https if_not_empty;
uwsgi_param  REMOTE_ADDR        $remote_addr;
uwsgi_param  REMOTE_PORT        $remote_port;
uwsgi_param  SERVER_PORT        $server_port;
uwsgi_param  SERVER_NAME        $server_name;
"""

CONFIG = """
daemon off;
master_process off;
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log info;
events {{ worker_connections 256; }}
http {{
    access_log {tmp}/access.log;
    client_body_temp_path {tmp}/client_body;
    uwsgi_temp_path {tmp}/uwsgi;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    scgi_temp_path {tmp}/scgi;
    client_max_body_size 20m;
    uwsgi_read_timeout 20s;
    server {{
        listen 127.0.0.1:{port};
        server_name front.test;
        location / {{
            include {tmp}/uwsgi_params;
            uwsgi_param APP_MARK plain;
            uwsgi_pass {upstream};
        }}
        location /secure/ {{
            include {tmp}/uwsgi_params;
            uwsgi_param HTTPS on;
            uwsgi_pass {upstream};
        }}
        location /realip/ {{
            # $remote_addr (and so REMOTE_ADDR) from a header: proves the environ
            # takes the client address from the vars, not from the socket peer.
            set_real_ip_from 127.0.0.1;
            set_real_ip_from unix:;
            real_ip_header X-Test-Client;
            include {tmp}/uwsgi_params;
            uwsgi_pass {upstream};
        }}
        location /mount/ {{
            include {tmp}/uwsgi_params;
            uwsgi_param SCRIPT_NAME /mount;
            uwsgi_pass {upstream};
        }}
        location /legacy/ {{
            # uWSGI's old mount idiom: modifier1 30 strips SCRIPT_NAME from PATH_INFO.
            include {tmp}/uwsgi_params;
            uwsgi_param SCRIPT_NAME /legacy;
            uwsgi_modifier1 30;
            uwsgi_pass {upstream};
        }}
        location /slow {{
            include {tmp}/uwsgi_params;
            uwsgi_buffering off;
            uwsgi_pass {upstream};
        }}
    }}
}}
"""


def require_nginx() -> str:
    if not (os.path.isfile(NGINX) and os.access(NGINX, os.X_OK)):
        pytest.skip(f"nginx not found at {NGINX}: {INSTALL_HINT}")
    return NGINX


class NginxFront:
    """nginx on a free loopback port, forwarding with ``uwsgi_pass upstream``."""

    def __init__(self, upstream: str):
        self.binary = require_nginx()
        self.upstream = upstream
        self.port = free_port()
        self.tmp = Path(tempfile.mkdtemp(prefix="uwsgi-nginx-"))
        self.proc: subprocess.Popen | None = None

    def url(self, path="/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    @property
    def error_log(self) -> str:
        path = self.tmp / "error.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def start(self):
        (self.tmp / "uwsgi_params").write_text(UWSGI_PARAMS)
        conf = self.tmp / "nginx.conf"
        conf.write_text(CONFIG.format(tmp=self.tmp, port=self.port, upstream=self.upstream))
        self.proc = subprocess.Popen(
            [self.binary, "-p", str(self.tmp), "-c", str(conf), "-e", str(self.tmp / "error.log")],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(self._accepting, 10, message=f"nginx on {self.port}")
        return self

    def _accepting(self):
        if self.proc.poll() is not None:
            raise AssertionError(f"nginx exited with {self.proc.returncode}:\n{self.error_log}")
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                return True
        except OSError:
            return False

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            # QUIT: graceful, lets in-flight responses finish.
            self.proc.send_signal(signal.SIGQUIT)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
