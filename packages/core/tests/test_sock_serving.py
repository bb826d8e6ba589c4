"""The real server on unix sockets, two binds, IPv6, inherited fds and a busy port."""

import os
import signal
import socket
import stat

import httpx
import pytest
from arbiter_support import server, wait_for, wait_log
from gunicorn_testsupport import free_port

pytestmark = pytest.mark.timeout(60)


def _unix_get(path, url="http://localhost/"):
    with httpx.Client(transport=httpx.HTTPTransport(uds=path), timeout=10) as client:
        return client.get(url)


def test_unix_socket_with_umask_is_removed_on_exit(tmp_path):
    path = str(tmp_path / "g.sock")
    srv = server(tmp_path, "-b", f"unix:{path}", "--umask", "0o077", bind=False)
    with srv:
        wait_for(lambda: os.path.exists(path), message=f"socket file\n{srv.log}")
        mode = os.stat(path).st_mode
        assert stat.S_ISSOCK(mode)
        assert mode & 0o077 == 0
        wait_log(srv, f"Listening at: unix:{path} ({srv.pid})")
        assert _unix_get(path).status_code == 200
        srv.signal(signal.SIGTERM)
        assert srv.wait() == 0
    assert not os.path.exists(path)


def test_two_binds_both_serve(tmp_path):
    path = str(tmp_path / "g.sock")
    with server(tmp_path, "-b", f"unix:{path}") as srv:
        wait_log(srv, f"Listening at: http://127.0.0.1:{srv.port},unix:{path}")
        assert httpx.get(srv.url(), timeout=10).status_code == 200
        assert _unix_get(path).status_code == 200


def _has_ipv6():
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not _has_ipv6(), reason="no IPv6 loopback on this host")
def test_ipv6_bind(tmp_path):
    port = free_port()
    srv = server(tmp_path, "-b", f"[::1]:{port}", bind=False)
    with srv:
        wait_log(srv, f"Listening at: http://[::1]:{port}")
        response = httpx.get(f"http://[::1]:{port}/", timeout=10)
        assert response.status_code == 200


def test_fd_bind_inherits_listener(tmp_path):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    fd = listener.fileno()
    os.set_inheritable(fd, True)
    srv = server(tmp_path, "-b", f"fd://{fd}", bind=False)
    srv_popen_kwargs = {"pass_fds": (fd,)}
    try:
        _start_with(srv, srv_popen_kwargs)
        wait_log(srv, f"Listening at: http://127.0.0.1:{port}")
        assert httpx.get(f"http://127.0.0.1:{port}/", timeout=10).status_code == 200
    finally:
        srv.stop()
        listener.close()


def _start_with(srv, popen_kwargs):
    """ServerProcess.start, with extra Popen arguments (pass_fds)."""
    import subprocess
    srv.proc = subprocess.Popen(srv.command, cwd=srv.cwd, env=srv.env,
                                stdout=srv._logfile, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, **popen_kwargs)


def test_busy_port_gives_clear_error(tmp_path):
    busy = socket.socket()
    busy.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    port = busy.getsockname()[1]
    try:
        srv = server(tmp_path, "-b", f"127.0.0.1:{port}", bind=False, wait_ready=False)
        with srv:
            status = srv.wait(30)
            log = srv.log
    finally:
        busy.close()
    assert status == 1
    assert "Connection in use: ('127.0.0.1', %d)" % port in log
    assert "Can't connect to ('127.0.0.1', %d)" % port in log


def _listening_sockets(port):
    """Inodes of LISTEN sockets on ``port`` (any address), from /proc/net/tcp."""
    inodes = set()
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == "0A" and int(local.split(":")[1], 16) == port:
                inodes.add(inode)
    return inodes


def test_reuse_port_gives_each_worker_its_own_listener(tmp_path):
    with server(tmp_path, "-w", "2", "--reuse-port") as srv:
        wait_for(lambda: len(srv.worker_pids()) == 2, message="2 workers")
        # the master's shared listener plus one per worker
        wait_for(lambda: len(_listening_sockets(srv.port)) == 3,
                 message="3 listening sockets on the port")
        for _ in range(20):
            assert httpx.get(srv.url(), timeout=10).status_code == 200


def test_gunicorn_fd_from_a_parent(tmp_path):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    fd = listener.fileno()
    # the configured bind is ignored: the inherited listener wins
    srv = server(tmp_path, "-b", "127.0.0.1:1", bind=False, env={"GUNICORN_FD": str(fd)})
    try:
        _start_with(srv, {"pass_fds": (fd,)})
        wait_log(srv, f"Listening at: http://127.0.0.1:{port} ({srv.pid})")
        assert httpx.get(f"http://127.0.0.1:{port}/", timeout=10).status_code == 200
    finally:
        srv.stop()
        listener.close()


def test_tls_listener_and_ssl_context_hook(tmp_path):
    import subprocess
    key, crt = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", str(key),
                    "-out", str(crt), "-days", "2", "-subj", "/CN=localhost"],
                   check=True, capture_output=True)
    (tmp_path / "tlsconf.py").write_text(
        "import os\n"
        "def ssl_context(conf, default_ssl_context_factory):\n"
        "    open(os.path.join(os.environ['MARKER_DIR'], 'ssl_hook'), 'w').close()\n"
        "    return default_ssl_context_factory()\n")
    with server(tmp_path, "-c", "tlsconf.py", "--certfile", str(crt), "--keyfile", str(key)) as srv:
        wait_log(srv, f"Listening at: https://127.0.0.1:{srv.port}")
        response = httpx.get(f"https://127.0.0.1:{srv.port}/", verify=False, timeout=10)
        assert response.status_code == 200
        assert (tmp_path / "ssl_hook").exists()
