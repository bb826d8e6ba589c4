"""The asgi worker over TLS (certfile/keyfile): https and wss."""

import asyncio
import shutil
import ssl
import subprocess
from pathlib import Path

import httpx
import pytest
from gunicorn_testsupport import ServerProcess, raw_request, wait_for

websockets = pytest.importorskip("websockets", reason="the wss test needs the websockets client")

TESTS = Path(__file__).parent


@pytest.fixture(scope="module")
def cert(tmp_path_factory):
    if shutil.which("openssl") is None:
        pytest.skip("openssl command not available to make a test certificate")
    d = tmp_path_factory.mktemp("tls")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(d / "key.pem"), "-out", str(d / "cert.pem")],
                   check=True, capture_output=True)
    return d / "cert.pem", d / "key.pem"


def test_https_and_wss(cert):
    pytest.importorskip("starlette", reason="the asgi test app is a Starlette app")
    certfile, keyfile = cert
    with ServerProcess("-k", "asgi", "--certfile", str(certfile), "--keyfile", str(keyfile),
                       "apps.starlette_app:app", cwd=TESTS) as srv:
        url = f"https://127.0.0.1:{srv.port}"
        ctx = ssl.create_default_context(cafile=str(certfile))
        r = httpx.get(url + "/info/x", verify=ctx)
        assert r.json()["scheme"] == "https"
        assert r.json()["tls_version"] in (0x0303, 0x0304)

        async def main():
            async with websockets.connect(f"wss://127.0.0.1:{srv.port}/ws", ssl=ctx) as ws:
                await ws.send("secure")
                return await ws.recv()
        assert asyncio.run(main()) == "secure"


@pytest.mark.parametrize("worker", ["gevent", "gevent_pywsgi", "eventlet", "tornado"])
def test_greenlet_and_tornado_workers_over_tls(cert, worker):
    pytest.importorskip(worker.split("_")[0], reason=f"{worker} is not installed")
    certfile, keyfile = cert
    with ServerProcess("-k", worker, "--certfile", str(certfile), "--keyfile", str(keyfile),
                       "apps.flask_app:app", cwd=TESTS) as srv:
        ctx = ssl.create_default_context(cafile=str(certfile))
        r = httpx.get(f"https://127.0.0.1:{srv.port}/", verify=ctx)
        assert r.text == "hello from flask"
        if worker in ("gevent", "eventlet"):
            # plain HTTP on the TLS port: one warning line as upstream, no traceback
            raw_request(srv.port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            wait_for(lambda: "[WARNING] Invalid request from ip=127.0.0.1:" in srv.log,
                     message="the TLS warning")
            assert "Traceback" not in srv.log
            assert httpx.get(f"https://127.0.0.1:{srv.port}/", verify=ctx).status_code == 200


def test_handshake_on_connect_failure_is_one_warning(cert):
    pytest.importorskip("gevent", reason="gevent is not installed")
    certfile, keyfile = cert
    with ServerProcess("-k", "gevent", "--do-handshake-on-connect", "--certfile", str(certfile),
                       "--keyfile", str(keyfile), "apps.flask_app:app", cwd=TESTS) as srv:
        # the handshake runs as the connection is wrapped, and fails there
        raw_request(srv.port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        wait_for(lambda: "[WARNING] Invalid request from ip=127.0.0.1:" in srv.log,
                 message="the TLS warning")
        assert "Traceback" not in srv.log


def test_a_stalled_handshake_is_dropped_after_the_worker_timeout(cert):
    # A client that connects and never finishes its handshake holds a slot:
    # bounded like a plain connection's first request (asyncio's default: 60 s).
    import socket
    import time

    certfile, keyfile = cert
    with ServerProcess("-k", "asgi", "--timeout", "2", "--certfile", str(certfile),
                       "--keyfile", str(keyfile), "--asgi-lifespan", "off",
                       "apps.bare_app:app", cwd=TESTS) as srv:
        with socket.create_connection(("127.0.0.1", srv.port), timeout=20) as raw:
            raw.sendall(b"\x16\x03\x01")  # the start of a ClientHello, then silence
            started = time.monotonic()
            assert raw.recv(4096) == b""
            assert time.monotonic() - started < 10
