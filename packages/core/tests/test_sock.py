"""sock.py: binding TCP/IPv6/unix listeners, inherited fds, retries, close, TLS contexts."""

import logging
import os
import socket
import ssl
import stat
import subprocess
import threading
from types import SimpleNamespace

import pytest

from gunicorn import sock

LOG = logging.getLogger("test.sock")


def make_conf(*addresses, **overrides):
    conf = dict(address=list(addresses), backlog=64, reuse_port=False, is_ssl=False,
                umask=0, uid=os.geteuid(), gid=os.getegid(), certfile=None, keyfile=None,
                ca_certs=None, cert_reqs=ssl.CERT_NONE, ciphers=None, http_protocols=["h1"],
                suppress_ragged_eofs=True, do_handshake_on_connect=False,
                ssl_context=lambda conf, factory: factory())
    conf.update(overrides)
    return SimpleNamespace(**conf)


@pytest.fixture
def listeners():
    made = []
    yield made
    sock.close_sockets(made)


def test_tcp_listener(listeners):
    listeners += sock.create_sockets(make_conf(("127.0.0.1", 0)), LOG)
    (lnr,) = listeners
    assert isinstance(lnr, sock.TCPSocket)
    host, port = lnr.getsockname()
    assert str(lnr) == f"http://127.0.0.1:{port}"
    assert lnr.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR)
    assert lnr.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    assert not lnr.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT)
    assert lnr.get_inheritable()
    assert lnr.getblocking() is False
    with socket.create_connection(("127.0.0.1", port), timeout=2):
        pass


def test_https_str_and_reuse_port(listeners):
    conf = make_conf(("127.0.0.1", 0), is_ssl=True, reuse_port=True)
    listeners += sock.create_sockets(conf, LOG)
    assert str(listeners[0]).startswith("https://127.0.0.1:")
    assert listeners[0].getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT)


def _has_ipv6():
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not _has_ipv6(), reason="no IPv6 loopback on this host")
def test_ipv6_listener(listeners):
    listeners += sock.create_sockets(make_conf(("::1", 0)), LOG)
    lnr = listeners[0]
    assert isinstance(lnr, sock.TCP6Socket)
    port = lnr.getsockname()[1]
    assert str(lnr) == f"http://[::1]:{port}"


def test_several_binds(listeners, tmp_path):
    path = str(tmp_path / "g.sock")
    listeners += sock.create_sockets(make_conf(("127.0.0.1", 0), path), LOG)
    assert [type(lnr) for lnr in listeners] == [sock.TCPSocket, sock.UnixSocket]


def test_unix_listener_umask_and_str(tmp_path, listeners):
    path = str(tmp_path / "g.sock")
    old = os.umask(0o022)
    try:
        listeners += sock.create_sockets(make_conf(path, umask=0o077), LOG)
        # the process umask is restored afterwards
        assert os.umask(0o022) == 0o022
    finally:
        os.umask(old)
    lnr = listeners[0]
    assert str(lnr) == f"unix:{path}"
    mode = os.stat(path).st_mode
    assert stat.S_ISSOCK(mode)
    assert mode & 0o077 == 0
    with socket.socket(socket.AF_UNIX) as c:
        c.connect(path)


def test_unix_stale_socket_is_replaced(tmp_path, listeners):
    path = str(tmp_path / "stale.sock")
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(path)
    stale.close()  # the file stays behind, as after a crash
    listeners += sock.create_sockets(make_conf(path), LOG)
    assert os.path.exists(path)


def test_unix_path_that_is_not_a_socket(tmp_path):
    path = tmp_path / "regular"
    path.write_text("keep me")
    with pytest.raises(ValueError, match="is not a socket"):
        sock.create_sockets(make_conf(str(path)), LOG)
    assert path.read_text() == "keep me"


def test_close_sockets_unlinks_unix_only_when_asked(tmp_path):
    path = str(tmp_path / "g.sock")
    lnrs = sock.create_sockets(make_conf(path), LOG)
    sock.close_sockets(lnrs, unlink=False)
    assert os.path.exists(path)
    lnrs = sock.create_sockets(make_conf(path), LOG)
    sock.close_sockets(lnrs)
    assert not os.path.exists(path)


def test_inherited_fds_are_adopted(tmp_path, listeners):
    tcp = socket.socket()
    tcp.bind(("127.0.0.1", 0))
    tcp.listen()
    unix = socket.socket(socket.AF_UNIX)
    unix.bind(str(tmp_path / "i.sock"))
    unix.listen()
    port = tcp.getsockname()[1]
    fds = [tcp.detach(), unix.detach()]
    # addresses to bind are ignored when fds are inherited
    listeners += sock.create_sockets(make_conf(("127.0.0.1", 1)), LOG, fds=fds)
    assert [type(lnr) for lnr in listeners] == [sock.TCPSocket, sock.UnixSocket]
    assert listeners[0].getsockname()[1] == port
    assert str(listeners[1]) == f"unix:{tmp_path / 'i.sock'}"
    # the fd numbers survive, so a re-exec can pass them on unchanged
    assert [lnr.fileno() for lnr in listeners] == fds


def test_fd_bind_address(listeners):
    tcp = socket.socket()
    tcp.bind(("127.0.0.1", 0))
    tcp.listen()
    port = tcp.getsockname()[1]
    listeners += sock.create_sockets(make_conf(tcp.detach()), LOG)
    assert listeners[0].getsockname() == ("127.0.0.1", port)


def test_busy_address_gives_up_with_clear_error(monkeypatch, caplog):
    monkeypatch.setattr(sock.time, "sleep", lambda s: None)
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    addr = busy.getsockname()
    try:
        with caplog.at_level(logging.DEBUG, logger="test.sock"), \
                pytest.raises(SystemExit) as exc:
            sock.create_sockets(make_conf(addr), LOG)
    finally:
        busy.close()
    assert exc.value.code == 1
    assert caplog.text.count("Connection in use") == sock.BIND_ATTEMPTS
    assert f"Can't connect to {addr}" in caplog.text


def test_missing_tls_files_fail_early(tmp_path):
    with pytest.raises(RuntimeError, match="certfile"):
        sock.create_sockets(make_conf(("127.0.0.1", 0), certfile=str(tmp_path / "no.pem")), LOG)


def test_type_error_for_unknown_address():
    with pytest.raises(TypeError):
        sock._sock_type(3.5)


# -- TLS ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def cert(tmp_path_factory):
    d = tmp_path_factory.mktemp("tls")
    key, crt = d / "key.pem", d / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", str(key),
                    "-out", str(crt), "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                   check=True, capture_output=True)
    return str(crt), str(key)


def _handshake(server_ctx_conf, alpn):
    """Run one TLS handshake over a socketpair; return the server side socket state."""
    a, b = socket.socketpair()
    client_ctx = ssl.create_default_context()
    client_ctx.check_hostname = False
    client_ctx.verify_mode = ssl.CERT_NONE
    client_ctx.set_alpn_protocols(alpn)
    result = {}

    def client():
        with client_ctx.wrap_socket(b, server_hostname="localhost") as c:
            result["client_alpn"] = c.selected_alpn_protocol()
            c.sendall(b"x")

    t = threading.Thread(target=client)
    t.start()
    server = sock.ssl_wrap_socket(a, server_ctx_conf)
    server.do_handshake()
    server.recv(1)
    t.join(5)
    result["server"] = server
    return result


def test_ssl_context_hook_gets_default_factory(cert):
    crt, key = cert
    seen = {}

    def hook(conf, factory):
        ctx = factory()
        seen["conf"] = conf
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        return ctx

    conf = make_conf(certfile=crt, keyfile=key, ssl_context=hook, cert_reqs=ssl.CERT_NONE)
    ctx = sock.ssl_context(conf)
    assert isinstance(ctx, ssl.SSLContext)
    assert seen["conf"] is conf
    assert ctx.verify_mode == ssl.CERT_NONE


def test_alpn_h2_negotiated(cert):
    crt, key = cert
    conf = make_conf(certfile=crt, keyfile=key, http_protocols=["h2", "h1"])
    result = _handshake(conf, ["h2", "http/1.1"])
    assert result["client_alpn"] == "h2"
    assert sock.get_negotiated_protocol(result["server"]) == "h2"
    assert sock.is_http2_negotiated(result["server"])
    result["server"].close()


def test_alpn_h1_only(cert):
    crt, key = cert
    conf = make_conf(certfile=crt, keyfile=key, http_protocols="h1")
    result = _handshake(conf, ["h2", "http/1.1"])
    assert sock.get_negotiated_protocol(result["server"]) == "http/1.1"
    assert not sock.is_http2_negotiated(result["server"])
    result["server"].close()


def test_negotiated_protocol_of_plain_socket():
    a, b = socket.socketpair()
    with a, b:
        assert sock.get_negotiated_protocol(a) is None
        assert not sock.is_http2_negotiated(a)


def test_backlog_counts_unaccepted_connections(listeners, tmp_path):
    listeners += sock.create_sockets(make_conf(("127.0.0.1", 0), str(tmp_path / "b.sock")), LOG)
    tcp, unix = listeners
    assert tcp.get_backlog() == 0
    assert unix.get_backlog() is None
    clients = [socket.create_connection(tcp.getsockname(), timeout=2) for _ in range(3)]
    try:
        from gunicorn_testsupport import wait_for
        wait_for(lambda: tcp.get_backlog() == 3, 5, message="3 queued connections")
    finally:
        for c in clients:
            c.close()


def test_worker_reuse_port_sockets(listeners, tmp_path):
    conf = make_conf(("127.0.0.1", 0), str(tmp_path / "w.sock"), reuse_port=True)
    listeners += sock.create_sockets(conf, LOG)
    port = listeners[0].getsockname()[1]
    conf.address = [("127.0.0.1", port), str(tmp_path / "w.sock")]
    own = sock.worker_reuse_port_sockets(conf, LOG)
    listeners += own
    assert [type(s) for s in own] == [sock.TCPSocket]
    assert own[0].getsockname()[1] == port
    conf.reuse_port = False
    assert sock.worker_reuse_port_sockets(conf, LOG) == []


def test_close_sockets_twice_is_harmless(tmp_path):
    lnrs = sock.create_sockets(make_conf(("127.0.0.1", 0)), LOG)
    sock.close_sockets(lnrs)
    sock.close_sockets(lnrs)
    assert lnrs[0].sock is None
