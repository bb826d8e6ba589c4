"""A refused TLS handshake ends with a FIN, not a reset: plain HTTP sent to the TLS port
gets "empty reply" as from upstream 27.0.1, not "connection reset by peer"."""

import socket
import ssl
import subprocess
import threading
from types import SimpleNamespace

import pytest

from gunicorn import sock

pytestmark = pytest.mark.timeout(30)


@pytest.fixture(scope="module")
def context(tmp_path_factory):
    d = tmp_path_factory.mktemp("tls")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "key.pem",
                    "-out", "cert.pem", "-days", "2", "-subj", "/CN=localhost"],
                   cwd=d, check=True, capture_output=True, timeout=30)
    conf = SimpleNamespace(certfile=str(d / "cert.pem"), keyfile=str(d / "key.pem"),
                           ca_certs=None, cert_reqs=ssl.CERT_NONE, ciphers=None,
                           http_protocols=["h1"], ssl_context=None)
    return sock.ssl_context(conf)


def _plain_http_to_tls(context, close):
    """What a plain HTTP client reads from a TLS server that refuses it and calls ``close``."""
    listener = socket.create_server(("127.0.0.1", 0))
    refused = {}

    def serve():
        conn, _ = listener.accept()
        tls = context.wrap_socket(conn, server_side=True, do_handshake_on_connect=False)
        try:
            tls.do_handshake()
        except ssl.SSLError as exc:
            refused["reason"] = exc.reason
        close(tls)

    server = threading.Thread(target=serve)
    server.start()
    try:
        with socket.create_connection(listener.getsockname(), timeout=5) as client:
            client.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\nUser-Agent: test\r\n\r\n")
            server.join(5)
            try:
                return client.recv(4096), refused.get("reason")
            except ConnectionResetError:
                return "reset", refused.get("reason")
    finally:
        server.join(5)
        listener.close()


def test_plain_close_resets_the_client(context):
    # the behaviour the helper exists to avoid (and proof the probe can tell them apart)
    assert _plain_http_to_tls(context, lambda tls: tls.close()) == ("reset", "HTTP_REQUEST")


def test_refused_handshake_closes_cleanly(context):
    assert _plain_http_to_tls(context, sock.close_after_tls_failure) == (b"", "HTTP_REQUEST")


def test_never_blocks_and_tolerates_a_closed_socket():
    a, b = socket.socketpair()
    with b:
        a.setblocking(True)
        sock.close_after_tls_failure(a)  # nothing received: returns at once
        assert a.fileno() == -1
        sock.close_after_tls_failure(a)  # already closed: no error
