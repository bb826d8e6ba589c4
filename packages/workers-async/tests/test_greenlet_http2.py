"""HTTP/2 on the gevent and eventlet workers (gunicorn-http2's blocking driver, streams in greenlets).

Real servers (h2c prior knowledge and upgrade, TLS with ALPN h2) checked with curl,
h2load and a raw h2 client; gevent_pywsgi and tornado must warn and never offer h2.
"""

import hashlib
import importlib.util
import os
import shutil
import signal
import socket
import ssl
import subprocess
import time
from pathlib import Path

import pytest
from gunicorn_testsupport import ServerProcess
from h2_support import H2Client, http2_installed

pytestmark = pytest.mark.timeout(30)

TESTS = Path(__file__).parent
APP = "apps.green_h2_app:app"
GREEN_WORKERS = ["gevent", "eventlet"]
BIG = 1 << 20
UPLOAD = 768 * 1024
H2_WARNING = "HTTP/2 is not supported by the %s worker"


def _installed(name):
    return importlib.util.find_spec(name) is not None


def needs(worker):
    """Skip unless the worker's library, gunicorn-http2 and h2 are there.

    Even an HTTP/1.1-only worker needs gunicorn-http2: without it, h2 in
    http_protocols stops the boot.
    """
    library = {"gevent_pywsgi": "gevent"}.get(worker, worker)
    if not _installed(library):
        pytest.skip(f"{library} is not installed")
    if not http2_installed():
        pytest.skip("gunicorn-http2 (or h2) is not installed")
    if not shutil.which("curl"):
        pytest.skip("curl is not installed")


@pytest.fixture(scope="session")
def cert(tmp_path_factory):
    """A self-signed certificate for localhost: ``(certfile, keyfile)``."""
    if not shutil.which("openssl"):
        pytest.skip("openssl is not installed")
    where = tmp_path_factory.mktemp("tls")
    key, crt = where / "key.pem", where / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                    str(key), "-out", str(crt), "-days", "1", "-subj", "/CN=localhost"],
                   check=True, capture_output=True, timeout=20)
    return str(crt), str(key)


def server(worker, *args):
    return ServerProcess("-k", worker, "-w", "1", "--http-protocols", "h2,h1",
                         "--graceful-timeout", "5", "--timeout", "20", *args, APP,
                         cwd=str(TESTS))


def curl(*args):
    """curl's body and ``%{http_version}`` after a newline."""
    done = subprocess.run(["curl", "-s", "-S", "-m", "10", "-w", "\n%{http_version}", *args],
                          capture_output=True, timeout=15, env=dict(os.environ, NO_PROXY="*"))
    assert done.returncode == 0, done.stderr
    body, _, version = done.stdout.rpartition(b"\n")
    return body, version.decode()


# One server per worker and transport runs every check below (a boot costs
# seconds; under xdist a module fixture would boot once per process).

def check_prior_knowledge_and_http11_on_one_port(srv):
    assert curl("--http2-prior-knowledge", srv.url("/")) == (b"HTTP/2.0", "2")
    # Not the preface: the same port still speaks HTTP/1.1.
    assert curl("--http1.1", srv.url("/")) == (b"HTTP/1.1", "1.1")
    assert "Invalid request" not in srv.log


def check_preface_in_pieces(srv):
    # "P" or "PR" alone could still become POST or PUT: the worker waits for more.
    for size in (1, 2):
        client = H2Client(srv.port, split_preface=size)
        try:
            assert client.response(client.get("/"))[2] == b"HTTP/2.0"
        finally:
            client.close()


def check_upgrade(srv):
    # curl --http2 on http:// sends Upgrade: h2c; the answer comes on stream 1.
    assert curl("--http2", srv.url("/")) == (b"HTTP/2.0", "2")


def check_h2load(srv):
    if not shutil.which("h2load"):
        return
    done = subprocess.run(["h2load", "-n", "300", "-c", "4", "-m", "10", srv.url("/")],
                          capture_output=True, text=True, timeout=20)
    assert "300 succeeded, 0 failed, 0 errored" in done.stdout, done.stdout + done.stderr


def check_slow_streams_on_one_connection_run_concurrently(srv):
    client = H2Client(srv.port)
    try:
        started = time.monotonic()
        slow = [client.get("/slow?1.5"), client.get("/slow?1.5")]
        # While both sleep, a third stream is answered.
        fast = client.get("/")
        assert client.response(fast)[2] == b"HTTP/2.0"
        assert not any(client.ended(sid) for sid in slow)
        assert [client.response(sid)[:3:2] for sid in slow] == [("200", b"slow")] * 2
        # One after the other they would take 3 s.
        assert time.monotonic() - started < 2.7
    finally:
        client.close()


def check_large_response_waits_for_window_without_blocking_the_hub(srv):
    client = H2Client(srv.port)
    client.auto_ack = False
    other = H2Client(srv.port)
    try:
        sid = client.get("/big")
        # The 64 KiB window is spent: the rest waits for our WINDOW_UPDATE ...
        client.wait(lambda: client.received(sid) >= 65535)
        client.sock.settimeout(0.5)
        client.read_once()
        client.sock.settimeout(5)
        assert client.received(sid) == 65535
        # ... while the worker serves other connections.
        assert other.response(other.get("/"))[2] == b"HTTP/2.0"
        client.auto_ack = True
        client.acknowledge_all(sid)
        status, _, body, _ = client.response(sid, timeout=10)
        assert status == "200" and body == b"b" * BIG
    finally:
        client.close()
        other.close()
    body, version = curl("--http2-prior-knowledge", srv.url("/big"))
    assert (len(body), version) == (BIG, "2")


def check_upload_through_the_default_window(srv, tmp_path):
    data = os.urandom(UPLOAD)
    upload = tmp_path / "upload.bin"
    upload.write_bytes(data)
    body, version = curl("--http2-prior-knowledge", "--data-binary", f"@{upload}",
                         srv.url("/upload"))
    assert version == "2"
    assert body == b"%d %s" % (UPLOAD, hashlib.sha256(data).hexdigest().encode())


def check_graceful_term(srv):
    """TERM: the stream in the app is finished, the idle connection gets GOAWAY(NO_ERROR)."""
    import h2.events

    idle = H2Client(srv.port)
    slow = subprocess.Popen(["curl", "-s", "-m", "10", "--http2-prior-knowledge",
                             srv.url("/slow?1.5")], stdout=subprocess.PIPE,
                            env=dict(os.environ, NO_PROXY="*"))
    try:
        assert idle.response(idle.get("/"))[2] == b"HTTP/2.0"
        time.sleep(0.5)
        srv.signal(signal.SIGTERM)
        assert slow.communicate(timeout=10) == (b"slow", None)
        assert slow.returncode == 0
        idle.wait(lambda: idle.of(0, h2.events.ConnectionTerminated), timeout=5)
        assert idle.of(0, h2.events.ConnectionTerminated)[0].error_code == 0
        assert srv.wait(10) == 0, srv.log
    finally:
        slow.kill()
        slow.wait()
        idle.close()


@pytest.mark.parametrize("worker", GREEN_WORKERS)
def test_h2c(worker, tmp_path):
    needs(worker)
    with server(worker, "--http2-cleartext", "both") as srv:
        check_prior_knowledge_and_http11_on_one_port(srv)
        check_preface_in_pieces(srv)
        check_upgrade(srv)
        check_slow_streams_on_one_connection_run_concurrently(srv)
        check_large_response_waits_for_window_without_blocking_the_hub(srv)
        check_upload_through_the_default_window(srv, tmp_path)
        check_h2load(srv)
        check_graceful_term(srv)


@pytest.mark.parametrize("worker", GREEN_WORKERS)
def test_tls_alpn(worker, cert):
    needs(worker)
    with server(worker, "--certfile", cert[0], "--keyfile", cert[1]) as srv:
        url = f"https://127.0.0.1:{srv.port}/"
        assert curl("--http2", "-k", url) == (b"HTTP/2.0", "2")
        assert curl("--http1.1", "-k", url) == (b"HTTP/1.1", "1.1")
        client = H2Client(srv.port, tls=True)
        try:
            sids = [client.get("/slow?0.5") for _ in range(3)]
            assert [client.response(sid)[2] for sid in sids] == [b"slow"] * 3
        finally:
            client.close()


def test_h2c_only_from_trusted_peers():
    # The hook is shared by both workers (base_async): gevent stands for both.
    needs("gevent")
    with server("gevent", "--http2-cleartext", "prior-knowledge",
                "--forwarded-allow-ips", "10.9.9.9") as srv:
        done = subprocess.run(["curl", "-s", "-m", "5", "--http2-prior-knowledge", srv.url("/")],
                              capture_output=True, timeout=10)
        # Loopback is not trusted here: the preface is read as (bad) HTTP/1.1.
        assert b"HTTP/2.0" not in done.stdout
        assert "Invalid HTTP Version" in srv.log
        assert curl("--http1.1", srv.url("/")) == (b"HTTP/1.1", "1.1")


def _alpn_choice(port):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols(["h2", "http/1.1"])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as tls:
            return tls.selected_alpn_protocol()


@pytest.mark.parametrize("worker", ["gevent_pywsgi", "tornado"])
def test_http1_only_workers_warn_and_never_offer_h2(worker, cert):
    needs(worker)
    with server(worker, "--certfile", cert[0], "--keyfile", cert[1]) as srv:
        assert _alpn_choice(srv.port) == "http/1.1"
        url = f"https://127.0.0.1:{srv.port}/"
        assert curl("--http2", "-k", url) == (b"HTTP/1.1", "1.1")
        srv.stop()
        assert srv.log.count(H2_WARNING % worker) == 1, srv.log
