"""Shared helpers for the gunicorn-http2 tests: an in-memory h2 client pair, and real servers."""

import os
import subprocess
from pathlib import Path
from types import SimpleNamespace

import h2.config
import h2.connection
import pytest
from gunicorn_testsupport import ServerProcess

from gunicorn.http2.connection import HTTP2Connection

PEER = ("127.0.0.1", 40000)
SERVER = ("127.0.0.1", 8000)


def make_cfg(**overrides):
    """The http2_* settings with gunicorn's defaults."""
    values = {"http2_max_concurrent_streams": 100, "http2_initial_window_size": 65535,
              "http2_max_frame_size": 16384, "http2_max_header_list_size": 65536}
    values.update(overrides)
    return SimpleNamespace(**values)


def h2_client():
    client = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True,
                                                                  header_encoding=None))
    client.initiate_connection()
    return client


class Pair:
    """A server ``HTTP2Connection`` and an h2 client, exchanging bytes in memory."""

    def __init__(self, is_ssl=False, **cfg):
        self.server = HTTP2Connection(make_cfg(**cfg), PEER, SERVER, is_ssl)
        self.server.initiate()
        self.client = h2_client()
        self.client_events = []

    def to_server(self):
        """Client bytes into the server; the server's events."""
        return self.server.receive_data(self.client.data_to_send())

    def to_client(self):
        data = self.server.data_to_send()
        if data:
            self.client_events += self.client.receive_data(data)
        return data

    def exchange(self):
        """Handshake both ways; server events returned."""
        events = self.to_server()
        self.to_client()
        events += self.to_server()
        return events

    def request(self, stream_id=1, method="GET", path="/", headers=(), body=None,
                authority="example.com", end=True):
        block = [(":method", method), (":path", path), (":scheme", "https"),
                 (":authority", authority)] + list(headers)
        self.client.send_headers(stream_id, block, end_stream=body is None and end)
        if body is not None:
            self.client.send_data(stream_id, body, end_stream=end)
        return self.to_server()


@pytest.fixture
def pair():
    p = Pair()
    p.exchange()
    return p


# -- integration: the real server -------------------------------------------

APPS = Path(__file__).parent / "apps"


@pytest.fixture(scope="session")
def cert(tmp_path_factory):
    """A self-signed certificate for localhost: ``(certfile, keyfile)``."""
    where = tmp_path_factory.mktemp("tls")
    key, crt = where / "key.pem", where / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                    str(key), "-out", str(crt), "-days", "1", "-subj", "/CN=localhost"],
                   check=True, capture_output=True, timeout=60)
    return str(crt), str(key)


def h2_server(*args, app="h2app:app", threads="4", **kw):
    """A gthread server with HTTP/2 enabled (TLS or h2c per ``args``)."""
    return ServerProcess("-k", "gthread", "--threads", threads, "--http-protocols", "h2,h1",
                         "--timeout", "20", "--graceful-timeout", "5", *args, app,
                         cwd=str(APPS), **kw)


def tls_server(cert, *args, **kw):
    return h2_server("--certfile", cert[0], "--keyfile", cert[1], *args, **kw)


def h2c_server(*args, **kw):
    return h2_server("--http2-cleartext", "prior-knowledge", *args, **kw)


@pytest.fixture(scope="module")
def tls(cert):
    with tls_server(cert) as srv:
        yield srv


@pytest.fixture(scope="module")
def h2c():
    with h2c_server() as srv:
        yield srv


def curl(*args, timeout=15):
    """Run curl; returns the CompletedProcess (stdout as bytes)."""
    return subprocess.run(["curl", "-s", "-S", "-m", "10", *args], capture_output=True,
                          timeout=timeout, env=dict(os.environ, NO_PROXY="*"))
