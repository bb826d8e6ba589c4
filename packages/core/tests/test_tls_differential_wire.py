"""What clients and apps see over TLS, held to upstream 27.0.1 (TLS differential audit):
the https scheme, the peer certificate through ``gunicorn.socket``, no HTTPS variable,
``%(H)s``, client certificates required or optional, plain HTTP on the TLS port."""

import json
import socket
import ssl
import subprocess

import pytest
from gunicorn_testsupport import ServerProcess, wait_for

pytestmark = pytest.mark.timeout(90)

APP = '''
import json

def app(environ, start_response):
    sock = environ["gunicorn.socket"]
    cert = sock.getpeercert()
    body = json.dumps({
        "scheme": environ["wsgi.url_scheme"],
        "https": environ.get("HTTPS"),
        "tls_keys": sorted(k for k in environ if "SSL" in k.upper() or "CERT" in k.upper()),
        "peer": dict(x[0] for x in cert["subject"]) if cert else None,
    }).encode()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])
    return [body]
'''


def _openssl(d, *args):
    subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True, timeout=30)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    d = tmp_path_factory.mktemp("pki")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    _openssl(d, "req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
             "-subj", "/CN=Test CA")
    for name, extra in (("server", ["-extfile", "san.cnf"]), ("client", [])):
        (d / "san.cnf").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
        _openssl(d, "req", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr",
                 "-subj", f"/CN={name}1")
        _openssl(d, "x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                 "-CAcreateserial", "-out", f"{name}.pem", "-days", "2", *extra)
    (d / "app.py").write_text(APP)
    return d


def _client(pki, with_cert):
    ctx = ssl.create_default_context(cafile=str(pki / "ca.pem"))
    if with_cert:
        ctx.load_cert_chain(str(pki / "client.pem"), str(pki / "client.key"))
    return ctx


def _get(port, ctx):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as tls:
            tls.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            data = b""
            while chunk := tls.recv(65536):
                data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return head.split(b"\r\n", 1)[0], json.loads(body)


def _server(pki, worker, cert_reqs):
    return ServerProcess("-k", worker, "-w", "1", "--no-control-socket", "--chdir", str(pki),
                         "--certfile", str(pki / "server.pem"), "--keyfile", str(pki / "server.key"),
                         "--ca-certs", str(pki / "ca.pem"), "--cert-reqs", str(cert_reqs),
                         "--access-logfile", "-", "--access-logformat", "proto=%(H)s status=%(s)s",
                         "app:app", cwd=pki)


@pytest.mark.parametrize("worker", ["sync", "gthread"])
def test_optional_client_certificate(pki, worker):
    with _server(pki, worker, ssl.CERT_OPTIONAL) as server:
        status, seen = _get(server.port, _client(pki, with_cert=True))
        assert status == b"HTTP/1.1 200 OK"
        # upstream puts nothing about TLS in the environ: the app asks the socket
        assert seen == {"scheme": "https", "https": None, "tls_keys": [], "peer": {"commonName": "client1"}}
        status, seen = _get(server.port, _client(pki, with_cert=False))
        assert status == b"HTTP/1.1 200 OK" and seen["peer"] is None
        wait_for(lambda: server.log.count("proto=HTTP/1.1 status=200") == 2, 10,
                 message=f"two access lines\n{server.log}")


@pytest.mark.parametrize("worker", ["sync", "gthread"])
def test_required_client_certificate(pki, worker):
    with _server(pki, worker, ssl.CERT_REQUIRED) as server:
        with pytest.raises((ssl.SSLError, ConnectionError)):
            _get(server.port, _client(pki, with_cert=False))
        wait_for(lambda: "PEER_DID_NOT_RETURN_A_CERTIFICATE" in server.log, 10,
                 message=f"the refused handshake logged\n{server.log}")
        assert "Traceback" not in server.log
        status, seen = _get(server.port, _client(pki, with_cert=True))
        assert status == b"HTTP/1.1 200 OK" and seen["peer"] == {"commonName": "client1"}


@pytest.mark.parametrize("worker", ["sync", "gthread"])
def test_plain_http_on_the_tls_port(pki, worker):
    with _server(pki, worker, ssl.CERT_NONE) as server:
        assert _get(server.port, _client(pki, with_cert=False))[0] == b"HTTP/1.1 200 OK"
        pids = server.worker_pids()
        try:
            answer = server.request(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        except ConnectionResetError:
            answer = b""
        assert answer == b""  # no HTTP answer in clear text, as upstream
        wait_for(lambda: "Invalid request from ip=127.0.0.1: [SSL: HTTP_REQUEST]" in server.log,
                 10, message=f"the warning\n{server.log}")
        status, seen = _get(server.port, _client(pki, with_cert=False))
        assert status == b"HTTP/1.1 200 OK" and seen["scheme"] == "https"
        assert server.worker_pids() == pids
        assert "Traceback" not in server.log


def _raw_answer(port, data):
    """What a plain client reads after sending ``data``: bytes, or "reset"."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        raw.sendall(data)
        try:
            return raw.recv(4096)
        except ConnectionResetError:
            return "reset"


@pytest.mark.parametrize("worker", ["sync", "gthread"])
def test_plain_http_on_the_tls_port_gets_a_clean_close_not_a_reset(pki, worker):
    # curl then says "Empty reply from server", as with upstream, not
    # "Connection reset by peer" (the unread request made close() send RST).
    with _server(pki, worker, ssl.CERT_NONE) as server:
        assert _get(server.port, _client(pki, with_cert=False))[0] == b"HTTP/1.1 200 OK"
        for _ in range(3):
            assert _raw_answer(server.port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" * 20) == b""


def _serial_served(port, pki):
    ctx = ssl.create_default_context(cafile=str(pki / "ca.pem"))
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as tls:
            return tls.getpeercert()["serialNumber"]


@pytest.mark.parametrize("worker", ["sync", "gthread"])
def test_a_renewed_certificate_is_served_without_a_restart(pki, tmp_path, worker):
    # certbot-style renewal: the files are replaced in place; upstream builds a
    # context per connection, so the new certificate goes out at once.
    for name in ("server.pem", "server.key"):
        (tmp_path / name).write_bytes((pki / name).read_bytes())
    with ServerProcess("-k", worker, "-w", "1", "--no-control-socket", "--chdir", str(pki),
                       "--certfile", str(tmp_path / "server.pem"),
                       "--keyfile", str(tmp_path / "server.key"), "app:app", cwd=pki) as server:
        first = _serial_served(server.port, pki)
        renewed = tmp_path / "renewed"
        renewed.mkdir()
        (renewed / "san.cnf").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
        ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        _openssl(renewed, "req", *ec, "-keyout", "server.key", "-out", "server.csr",
                 "-subj", "/CN=server2")
        _openssl(renewed, "x509", "-req", "-in", "server.csr", "-CA", str(pki / "ca.pem"),
                 "-CAkey", str(pki / "ca.key"), "-CAcreateserial", "-CAserial",
                 str(renewed / "ca.srl"), "-out", "server.pem", "-days", "2",
                 "-extfile", "san.cnf")
        for name in ("server.key", "server.pem"):
            (renewed / name).replace(tmp_path / name)
        wait_for(lambda: _serial_served(server.port, pki) != first, 10,
                 message=f"the renewed certificate\n{server.log}")
