"""Renewed certificates without a restart, as upstream 27.0.1's context per connection
gives, but one context per worker while the files stay the same."""

import os
import socket
import ssl
import subprocess
import threading
from types import SimpleNamespace

import pytest

from gunicorn import sock

pytestmark = pytest.mark.timeout(60)


def _new_pair(d, name):
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", f"{name}.key",
                    "-out", f"{name}.pem", "-days", "2", "-subj", f"/CN={name}"],
                   cwd=d, check=True, capture_output=True, timeout=30)
    return (d / f"{name}.pem").read_bytes(), (d / f"{name}.key").read_bytes()


@pytest.fixture
def files(tmp_path):
    pairs = {name: _new_pair(tmp_path, name) for name in ("first", "second")}
    crt, key = tmp_path / "live.pem", tmp_path / "live.key"
    crt.write_bytes(pairs["first"][0])
    key.write_bytes(pairs["first"][1])
    return SimpleNamespace(crt=crt, key=key, pairs=pairs)


def make_conf(files, hook):
    return SimpleNamespace(certfile=str(files.crt), keyfile=str(files.key), ca_certs=None,
                           cert_reqs=ssl.CERT_NONE, ciphers=None, http_protocols=["h1"],
                           suppress_ragged_eofs=True, do_handshake_on_connect=False,
                           is_ssl=True, ssl_context=hook)


def counting_hook():
    calls = []

    def hook(conf, factory):
        calls.append(1)
        return factory()

    return hook, calls


def served_certificate(conf):
    """The certificate (PEM) a client sees in one handshake through ``ssl_wrap_socket``."""
    a, b = socket.socketpair()
    client_ctx = ssl.create_default_context()
    client_ctx.check_hostname = False
    client_ctx.verify_mode = ssl.CERT_NONE
    seen = {}

    def client():
        with client_ctx.wrap_socket(b, server_hostname="localhost") as c:
            seen["der"] = c.getpeercert(binary_form=True)
            c.sendall(b"x")

    t = threading.Thread(target=client)
    t.start()
    server = sock.ssl_wrap_socket(a, conf)
    try:
        server.do_handshake()
        server.recv(1)
    finally:
        t.join(5)
        server.close()
    return ssl.DER_cert_to_PEM_cert(seen["der"])


def _same_cert(pem_a, pem_b):
    return ssl.PEM_cert_to_DER_cert(pem_a) == ssl.PEM_cert_to_DER_cert(pem_b.decode())


def _replace(path, data):
    # as certbot and most deploy tools do: a new file renamed over the old one
    tmp = path.with_suffix(".new")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def test_one_context_while_files_stay_the_same(files):
    hook, calls = counting_hook()
    conf = make_conf(files, hook)
    for _ in range(3):
        assert _same_cert(served_certificate(conf), files.pairs["first"][0])
    assert len(calls) == 1


def test_renewed_files_are_served_without_restart(files):
    hook, calls = counting_hook()
    conf = make_conf(files, hook)
    assert _same_cert(served_certificate(conf), files.pairs["first"][0])
    _replace(files.crt, files.pairs["second"][0])
    _replace(files.key, files.pairs["second"][1])
    assert _same_cert(served_certificate(conf), files.pairs["second"][0])
    assert _same_cert(served_certificate(conf), files.pairs["second"][0])
    assert len(calls) == 2


def test_half_renewed_files_keep_the_previous_context(files):
    hook, calls = counting_hook()
    cache = sock.TLSContextCache(make_conf(files, hook))
    first = cache.get()
    _replace(files.crt, files.pairs["second"][0])  # its key is not there yet
    assert cache.get() is first
    _replace(files.key, files.pairs["second"][1])
    assert cache.get() is not first


def test_cache_applies_adjust_and_raises_without_a_previous_context(files):
    cache = sock.TLSContextCache(make_conf(files, None),
                                 adjust=lambda ctx: ctx.set_alpn_protocols(["http/1.1"]))
    assert isinstance(cache.get(), ssl.SSLContext)
    files.key.write_bytes(files.pairs["second"][1])
    broken = sock.TLSContextCache(make_conf(files, None))
    with pytest.raises(ssl.SSLError):
        broken.get()
