"""PEP 3333 environ building: paths, SCRIPT_NAME, scheme trust, headers, server name."""

import socket

import pytest
from wsgi_support import PieceSocket, make_cfg

from gunicorn.http.errors import ConfigurationProblem, InvalidSchemeHeaders
from gunicorn.http.events import Request
from gunicorn.http.protocol import HTTP1Protocol
from gunicorn.wsgi.environ import ConnectionEnviron, split_host, to_wsgi_path
from gunicorn.wsgi.file_wrapper import FileWrapper

PEER = ("127.0.0.1", 51000)
OUTSIDER = ("203.0.113.9", 51000)


def environ_for(raw, cfg=None, peer=PEER, server=("127.0.0.1", 8000), is_ssl=False):
    cfg = cfg or make_cfg()
    proto = HTTP1Protocol(cfg, peer, server, is_ssl)
    proto.receive_data(raw)
    req = proto.next_event()
    assert isinstance(req, Request), req
    facts = ConnectionEnviron(cfg, PieceSocket(), peer, server, is_ssl=is_ssl)
    return facts.build(req, object())


def test_basic_keys():
    env = environ_for(b"GET /a/b?x=1&y=2 HTTP/1.1\r\nHost: example.com:9000\r\n\r\n")
    assert env["REQUEST_METHOD"] == "GET"
    assert env["PATH_INFO"] == "/a/b"
    assert env["QUERY_STRING"] == "x=1&y=2"
    assert env["RAW_URI"] == "/a/b?x=1&y=2"
    # the TCP listener's address, not Host's, as upstream
    assert env["SERVER_NAME"] == "127.0.0.1"
    assert env["SERVER_PORT"] == "8000"
    assert env["SERVER_PROTOCOL"] == "HTTP/1.1"
    assert env["REMOTE_ADDR"] == "127.0.0.1"
    assert env["REMOTE_PORT"] == "51000"
    assert env["SCRIPT_NAME"] == ""
    assert env["wsgi.version"] == (1, 0)
    assert env["wsgi.url_scheme"] == "http"
    assert env["wsgi.input_terminated"] is True
    assert env["wsgi.run_once"] is False
    assert env["wsgi.file_wrapper"] is FileWrapper
    assert env["SERVER_SOFTWARE"].startswith("gunicorn/")
    assert "gunicorn.socket" in env
    assert env["HTTP_HOST"] == "example.com:9000"
    for key, value in env.items():
        if key.isupper():
            assert isinstance(value, str), key


def test_path_info_is_decoded_latin1():
    env = environ_for(b"GET /caf%C3%A9/%2Fslash%20sp?q=%C3%A9 HTTP/1.1\r\nHost: h\r\n\r\n")
    # PEP 3333: bytes decoded as latin-1, so UTF-8 arrives as mojibake the app re-encodes.
    assert env["PATH_INFO"] == "/caf\xc3\xa9//slash sp"
    assert env["PATH_INFO"].encode("latin-1").decode("utf-8") == "/café//slash sp"
    assert env["QUERY_STRING"] == "q=%C3%A9"
    assert env["RAW_URI"] == "/caf%C3%A9/%2Fslash%20sp?q=%C3%A9"


def test_absolute_uri_target():
    env = environ_for(b"GET http://other.example/p?q HTTP/1.1\r\nHost: h\r\n\r\n")
    assert env["PATH_INFO"] == "/p"
    assert env["QUERY_STRING"] == "q"


def test_content_headers_have_no_http_prefix():
    env = environ_for(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Type: text/plain\r\n"
                      b"Content-Length: 0\r\n\r\n")
    assert env["CONTENT_TYPE"] == "text/plain"
    assert env["CONTENT_LENGTH"] == "0"
    assert "HTTP_CONTENT_TYPE" not in env and "HTTP_CONTENT_LENGTH" not in env


def test_repeated_headers_are_comma_joined():
    env = environ_for(b"GET / HTTP/1.1\r\nHost: h\r\nAccept: a/b\r\nX-Thing: 1\r\n"
                      b"Accept: c/d\r\nX-Thing: 2\r\n\r\n")
    assert env["HTTP_ACCEPT"] == "a/b,c/d"
    assert env["HTTP_X_THING"] == "1,2"


def test_repeated_cookie_fields_are_joined_as_one_cookie_string():
    # Cookie is not a comma list: "a=1,b=2" would read as one cookie "a" whose
    # value is "1,b=2" (RFC 6265 section 4.2.1; RFC 9113 section 8.2.3 joins
    # HTTP/2 cookie crumbs with "; " the same way).
    env = environ_for(b"GET / HTTP/1.1\r\nHost: h\r\nCookie: a=1\r\nCookie: b=2; c=3\r\n\r\n")
    assert env["HTTP_COOKIE"] == "a=1; b=2; c=3"


def test_server_name_from_listener_without_host():
    env = environ_for(b"GET / HTTP/1.0\r\n\r\n", server=("10.1.2.3", 8123))
    assert (env["SERVER_NAME"], env["SERVER_PORT"]) == ("10.1.2.3", "8123")
    assert env["SERVER_PROTOCOL"] == "HTTP/1.0"


def test_tcp_listener_names_the_server_whatever_the_host():
    for host in (b"h", b"h.example:81", b"[::1]:8080"):
        env = environ_for(b"GET / HTTP/1.1\r\nHost: " + host + b"\r\n\r\n",
                          server=("10.1.2.3", 8123), is_ssl=True)
        assert (env["SERVER_NAME"], env["SERVER_PORT"]) == ("10.1.2.3", "8123")
        assert env["HTTP_HOST"] == host.decode()


def unix_environ(raw, is_ssl=False):
    cfg = make_cfg()
    proto = HTTP1Protocol(cfg, "", "/tmp/g.sock", is_ssl)
    proto.receive_data(raw)
    facts = ConnectionEnviron(cfg, PieceSocket(family=socket.AF_UNIX), "", "/tmp/g.sock",
                              is_ssl=is_ssl)
    return facts.build(proto.next_event(), object())


def test_unix_listener_takes_the_server_from_host_with_the_scheme_port():
    env = unix_environ(b"GET / HTTP/1.1\r\nHost: h.example:81\r\n\r\n")
    assert (env["SERVER_NAME"], env["SERVER_PORT"]) == ("h.example", "81")
    assert unix_environ(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")["SERVER_PORT"] == "80"
    env = unix_environ(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n", is_ssl=True)
    assert env["wsgi.url_scheme"] == "https"
    assert (env["SERVER_NAME"], env["SERVER_PORT"]) == ("h", "443")


@pytest.mark.parametrize("host, expected", [
    ("example.com", ("example.com", "80")),
    ("example.com:81", ("example.com", "81")),
    ("[::1]", ("[::1]", "80")),
    ("[::1]:8080", ("[::1]", "8080")),
    ("127.0.0.1:5", ("127.0.0.1", "5")),
])
def test_split_host(host, expected):
    assert split_host(host, "80") == expected


def test_script_name_from_environment(monkeypatch):
    monkeypatch.setenv("SCRIPT_NAME", "/app")
    env = environ_for(b"GET /app/x/y HTTP/1.1\r\nHost: h\r\n\r\n")
    assert env["SCRIPT_NAME"] == "/app"
    assert env["PATH_INFO"] == "/x/y"


def test_script_name_from_raw_env(monkeypatch):
    monkeypatch.delenv("SCRIPT_NAME", raising=False)
    env = environ_for(b"GET /mount/z HTTP/1.1\r\nHost: h\r\n\r\n",
                      cfg=make_cfg(raw_env=["SCRIPT_NAME=/mount"]))
    assert (env["SCRIPT_NAME"], env["PATH_INFO"]) == ("/mount", "/z")


def test_script_name_mismatch_is_a_configuration_problem(monkeypatch):
    monkeypatch.setenv("SCRIPT_NAME", "/app")
    with pytest.raises(ConfigurationProblem) as info:
        environ_for(b"GET /other HTTP/1.1\r\nHost: h\r\n\r\n")
    assert info.value.status_code == 500


def test_script_name_header_from_trusted_forwarder(monkeypatch):
    monkeypatch.delenv("SCRIPT_NAME", raising=False)
    env = environ_for(b"GET /prefix/page HTTP/1.1\r\nHost: h\r\nSCRIPT_NAME: /prefix\r\n\r\n")
    assert (env["SCRIPT_NAME"], env["PATH_INFO"]) == ("/prefix", "/page")
    assert "HTTP_SCRIPT_NAME" not in env


def test_script_name_header_ignored_from_untrusted_peer(monkeypatch):
    monkeypatch.delenv("SCRIPT_NAME", raising=False)
    env = environ_for(b"GET /prefix/page HTTP/1.1\r\nHost: h\r\nSCRIPT_NAME: /prefix\r\n\r\n",
                      peer=OUTSIDER)
    assert (env["SCRIPT_NAME"], env["PATH_INFO"]) == ("", "/prefix/page")


def test_script_name_header_ignored_when_not_a_forwarder_header(monkeypatch):
    monkeypatch.delenv("SCRIPT_NAME", raising=False)
    env = environ_for(b"GET /prefix/page HTTP/1.1\r\nHost: h\r\nSCRIPT_NAME: /prefix\r\n\r\n",
                      cfg=make_cfg(forwarder_headers="PATH_INFO"))
    assert env["SCRIPT_NAME"] == ""


def test_secure_scheme_header_from_trusted_peer():
    env = environ_for(b"GET / HTTP/1.1\r\nHost: h\r\nX-Forwarded-Proto: https\r\n\r\n")
    assert env["wsgi.url_scheme"] == "https"
    assert env["SERVER_PORT"] == "8000"  # the listener's, as upstream
    env = unix_environ(b"GET / HTTP/1.1\r\nHost: h\r\nX-Forwarded-Proto: https\r\n\r\n")
    assert (env["wsgi.url_scheme"], env["SERVER_PORT"]) == ("https", "443")


def test_secure_scheme_header_ignored_from_untrusted_peer():
    env = environ_for(b"GET / HTTP/1.1\r\nHost: h\r\nX-Forwarded-Proto: https\r\n\r\n",
                      peer=OUTSIDER)
    assert env["wsgi.url_scheme"] == "http"


def test_secure_scheme_star_trusts_everyone():
    env = environ_for(b"GET / HTTP/1.1\r\nHost: h\r\nX-Forwarded-Ssl: on\r\n\r\n",
                      peer=OUTSIDER, cfg=make_cfg(forwarded_allow_ips="*"))
    assert env["wsgi.url_scheme"] == "https"


def test_conflicting_scheme_headers_refused():
    with pytest.raises(InvalidSchemeHeaders) as info:
        environ_for(b"GET / HTTP/1.1\r\nHost: h\r\nX-Forwarded-Proto: https\r\n"
                    b"X-Forwarded-Ssl: off\r\n\r\n")
    assert info.value.status_code == 400


def test_scheme_fallback_logic_without_protocol_verdict():
    # Request objects from other protocols may carry no scheme: the environ decides.
    cfg = make_cfg()
    facts = ConnectionEnviron(cfg, PieceSocket(), PEER, ("127.0.0.1", 80))
    assert facts.url_scheme([("X-FORWARDED-PROTO", "https")]) == "https"
    with pytest.raises(InvalidSchemeHeaders):
        facts.url_scheme([("X-FORWARDED-PROTO", "https"), ("X-FORWARDED-SSL", "off")])
    outsider = ConnectionEnviron(cfg, PieceSocket(), OUTSIDER, ("127.0.0.1", 80))
    assert outsider.url_scheme([("X-FORWARDED-PROTO", "https")]) == "http"


def test_unix_socket_peer():
    cfg = make_cfg()
    proto = HTTP1Protocol(cfg, "", "/tmp/g.sock", False)
    proto.receive_data(b"GET / HTTP/1.0\r\nX-Forwarded-Proto: https\r\n\r\n")
    req = proto.next_event()
    facts = ConnectionEnviron(cfg, PieceSocket(family=socket.AF_UNIX), "", "/tmp/g.sock")
    env = facts.build(req, object())
    assert env["REMOTE_ADDR"] == ""
    assert "REMOTE_PORT" not in env
    assert env["SERVER_NAME"] == "/tmp/g.sock"
    # unix-socket peers are trusted forwarders, as upstream
    assert env["wsgi.url_scheme"] == "https"


def test_extra_environ_and_proxy_keys_are_merged():
    req = Request("GET", "/", "/", "", "", (1, 1), [("HOST", "h")],
                  extra_environ={"UWSGI_THING": "1", "REMOTE_ADDR": "10.9.9.9"})
    facts = ConnectionEnviron(make_cfg(), PieceSocket(), PEER, ("127.0.0.1", 80))
    env = facts.build(req, object())
    assert env["UWSGI_THING"] == "1"
    assert env["REMOTE_ADDR"] == "10.9.9.9"


def test_proxy_protocol_keys():
    cfg = make_cfg(proxy_protocol="v1")
    proto = HTTP1Protocol(cfg, PEER, ("127.0.0.1", 80), False)
    proto.receive_data(b"PROXY TCP4 192.0.2.1 192.0.2.2 5555 80\r\n"
                       b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
    req = proto.next_event()
    env = ConnectionEnviron(cfg, PieceSocket(), PEER, ("127.0.0.1", 80)).build(req, object())
    assert env["PROXY_PROTOCOL"] == "TCP4"
    assert env["REMOTE_ADDR"] == "192.0.2.1"
    assert env["REMOTE_PORT"] == "5555"
    assert env["PROXY_ADDR"] == "192.0.2.2"
    assert env["PROXY_PORT"] == "80"


def test_multiprocess_and_multithread_flags():
    cfg = make_cfg(workers=3, threads=4)
    facts = ConnectionEnviron(cfg, PieceSocket(), PEER, ("127.0.0.1", 80))
    assert facts.base["wsgi.multiprocess"] is True
    assert facts.base["wsgi.multithread"] is True
    facts = ConnectionEnviron(make_cfg(), PieceSocket(), PEER, ("127.0.0.1", 80),
                              multithread=False)
    assert facts.base["wsgi.multiprocess"] is False
    assert facts.base["wsgi.multithread"] is False


def test_to_wsgi_path_keeps_invalid_utf8():
    assert to_wsgi_path("/%FF%00a") == "/\xff\x00a"


def test_script_name_is_a_segment_prefix(monkeypatch):
    monkeypatch.setenv("SCRIPT_NAME", "/app/")
    env = environ_for(b"GET /app HTTP/1.1\r\nHost: h\r\n\r\n")
    assert (env["SCRIPT_NAME"], env["PATH_INFO"]) == ("/app", "")
    env = environ_for(b"GET /app/ HTTP/1.1\r\nHost: h\r\n\r\n")
    assert (env["SCRIPT_NAME"], env["PATH_INFO"]) == ("/app", "/")
    with pytest.raises(ConfigurationProblem):
        environ_for(b"GET /application HTTP/1.1\r\nHost: h\r\n\r\n")


def complete_request(environ, path="/p", proxy=None):
    """A request whose protocol delivered every CGI variable itself (as uwsgi does)."""
    return Request("GET", path, path, "", "", (1, 1), [], proxy=proxy,
                   extra_environ=environ, environ_complete=True)


def test_complete_environ_is_copied_and_wins_over_the_socket():
    cgi = {"REQUEST_METHOD": "PUT", "PATH_INFO": "/x", "SCRIPT_NAME": "", "SERVER_NAME": "n",
           "SERVER_PORT": "81", "REMOTE_ADDR": "198.51.100.1", "HTTP_X_A": "1",
           "wsgi.url_scheme": "https"}
    facts = ConnectionEnviron(make_cfg(), PieceSocket(), PEER, ("127.0.0.1", 8000))
    body = object()
    env = facts.build(complete_request(dict(cgi)), body)
    for key, value in cgi.items():
        assert env[key] == value
    assert env["wsgi.input"] is body
    assert env["REMOTE_PORT"] == "51000"  # not in the vars: the socket's
    assert env["wsgi.version"] == (1, 0) and "gunicorn.socket" in env


@pytest.mark.parametrize(("cgi", "name", "port"), [
    ({"HTTP_HOST": "h.example:9000"}, "h.example", "9000"),
    ({"HTTP_HOST": "h.example", "wsgi.url_scheme": "https"}, "h.example", "443"),
    ({}, "127.0.0.1", "8000"),
    ({"SERVER_PORT": "7", "HTTP_HOST": "h:9"}, "h", "7"),
])
def test_complete_environ_fills_the_server_name(cgi, name, port):
    facts = ConnectionEnviron(make_cfg(), PieceSocket(), PEER, ("127.0.0.1", 8000))
    env = facts.build(complete_request(dict(cgi, PATH_INFO="/")), object())
    assert (env["SERVER_NAME"], env["SERVER_PORT"]) == (name, port)


def test_complete_environ_fills_path_info_from_the_path():
    facts = ConnectionEnviron(make_cfg(), PieceSocket(), PEER, ("127.0.0.1", 8000))
    env = facts.build(complete_request({"SCRIPT_NAME": "/app"}, path="/app/a%20b"), object())
    assert (env["SCRIPT_NAME"], env["PATH_INFO"]) == ("/app", "/a b")
    with pytest.raises(ConfigurationProblem):
        facts.build(complete_request({"SCRIPT_NAME": "/app"}, path="/other"), object())
