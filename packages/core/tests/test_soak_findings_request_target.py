"""Square brackets in an absolute-form authority must enclose one IP-literal, or the request is a 400."""

import socket

import pytest

from gunicorn.http import errors
from gunicorn.http.request_line import split_target


@pytest.mark.parametrize("target", [
    "http://[::1",          # unclosed IP-literal (the soak's "GET http://[::1 HTTP/1.1" got a 200)
    "http://a]b/",
    "http://u[@h/",
    "http://[zz]/",         # neither IPv6 nor IPvFuture
    "http://[::1]x/",       # junk after the literal
    "http://[::1]:8x/",
    "http://[[::1]]/",
    "foo://[::1/",
])
def test_misplaced_brackets_are_refused(target):
    with pytest.raises(errors.InvalidRequestLine):
        split_target(target, "GET", "line")


@pytest.mark.parametrize("target, expected", [
    ("http://[::1]/x", ("/x", "", "")),
    ("http://[::1]:8080/x?q", ("/x", "q", "")),
    ("http://[::1]:", ("", "", "")),
    ("http://u@[2001:db8::1]/", ("/", "", "")),
    ("http://[v1.fe80::a+b]/", ("/", "", "")),
    ("http://h/[x]", ("/[x]", "", "")),   # brackets in the path are not the authority's
])
def test_ip_literals_still_accepted(target, expected):
    assert split_target(target, "GET", "line") == expected


def test_unclosed_ip_literal_is_a_400_on_the_wire(tmp_path):
    from gunicorn_testsupport import ServerProcess

    app = tmp_path / "soakapp.py"
    app.write_text(
        "def app(environ, start_response):\n"
        "    start_response('200 OK', [('Content-Length', '2')])\n"
        "    return [b'ok']\n")
    with ServerProcess("soakapp:app", "--chdir", str(tmp_path)) as server:
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
            s.sendall(b"GET http://[::1 HTTP/1.1\r\nHost: x\r\n\r\n")
            head = s.recv(4096)
    assert head.startswith(b"HTTP/1.1 400 ")
