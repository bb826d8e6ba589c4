"""The workers' accept shortcut gives what ``listener.accept()`` gives."""

import socket

import pytest

from gunicorn.workers.acceptor import acceptor

pytestmark = pytest.mark.timeout(10)


class Wrapper:
    """Like gunicorn.sock's listeners: the socket is ``.sock``, the rest delegated."""

    def __init__(self, sock):
        self.sock = sock

    def __getattr__(self, name):
        return getattr(self.sock, name)


def pair(listener_sock, accept):
    client = socket.create_connection(listener_sock.getsockname()[:2])
    server, addr = accept()
    return client, server, addr


@pytest.mark.parametrize("wrap", [False, True], ids=["plain", "wrapped"])
@pytest.mark.parametrize("listener_blocking", [False, True], ids=["nonblocking", "blocking"])
def test_same_socket_as_stdlib_accept(wrap, listener_blocking):
    with socket.socket() as lst:
        lst.bind(("127.0.0.1", 0))
        lst.listen(4)
        lst.setblocking(listener_blocking)
        listener = Wrapper(lst) if wrap else lst
        fast = acceptor(listener)
        assert fast is not lst.accept
        c1, ours, addr = pair(lst, fast)
        c2, theirs, addr2 = pair(lst, lst.accept)
        with c1, c2, ours, theirs:
            assert addr == c1.getsockname()
            assert (ours.family, ours.type, ours.proto) == \
                (theirs.family, theirs.type, theirs.proto)
            assert ours.gettimeout() == theirs.gettimeout()
            assert ours.getblocking() == theirs.getblocking()
            assert ours.get_inheritable() is False
            c1.sendall(b"ping")
            assert ours.recv(4) == b"ping"


def test_unix_listener(tmp_path):
    path = str(tmp_path / "s")
    with socket.socket(socket.AF_UNIX) as lst:
        lst.bind(path)
        lst.listen(1)
        client = socket.socket(socket.AF_UNIX)
        client.connect(path)
        server, _ = acceptor(lst)()
        with client, server:
            assert server.family == socket.AF_UNIX
            client.sendall(b"x")
            assert server.recv(1) == b"x"


def test_other_socket_types_keep_their_own_accept():
    class Special(socket.socket):
        pass

    with Special() as lst:
        assert acceptor(lst) == lst.accept


def test_nobody_waiting_raises_like_accept():
    with socket.socket() as lst:
        lst.bind(("127.0.0.1", 0))
        lst.listen(1)
        lst.setblocking(False)
        with pytest.raises(BlockingIOError):
            acceptor(lst)()
