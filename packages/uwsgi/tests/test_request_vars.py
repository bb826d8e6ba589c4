"""How uwsgi vars become a request (gunicorn.uwsgi.request_vars)."""

import pytest

from gunicorn.uwsgi.errors import InvalidUWSGIHeader
from gunicorn.uwsgi.request_vars import request_parts

# What nginx sends with the stock uwsgi_params for `curl 'http://h:8080/a%20b?x=1'`.
NGINX_GET = [
    ("QUERY_STRING", "x=1"), ("REQUEST_METHOD", "GET"), ("CONTENT_TYPE", ""),
    ("CONTENT_LENGTH", ""), ("REQUEST_URI", "/a%20b?x=1"), ("PATH_INFO", "/a b"),
    ("DOCUMENT_ROOT", "/srv/html"), ("SERVER_PROTOCOL", "HTTP/1.1"), ("REQUEST_SCHEME", "http"),
    ("REMOTE_ADDR", "10.1.2.3"), ("REMOTE_PORT", "40124"), ("SERVER_PORT", "8080"),
    ("SERVER_NAME", ""), ("HTTP_HOST", "h"), ("HTTP_USER_AGENT", "curl/7.88.1"),
    ("HTTP_ACCEPT", "*/*"),
]


def test_nginx_get():
    parts = request_parts(NGINX_GET)
    assert parts.method == "GET"
    assert parts.uri == "/a%20b?x=1"
    assert parts.path == "/a%20b"
    assert parts.query == "x=1"
    assert parts.version == (1, 1)
    assert parts.scheme == "http"
    assert parts.content_length == 0
    assert parts.keep_alive
    assert parts.headers == [("HOST", "h"), ("USER-AGENT", "curl/7.88.1"), ("ACCEPT", "*/*")]
    environ = parts.environ
    assert environ["PATH_INFO"] == "/a b"
    assert environ["REQUEST_URI"] == "/a%20b?x=1"
    assert environ["RAW_URI"] == "/a%20b?x=1"
    assert environ["REMOTE_ADDR"] == "10.1.2.3"
    assert environ["REMOTE_PORT"] == "40124"
    assert environ["SERVER_PORT"] == "8080"
    assert environ["DOCUMENT_ROOT"] == "/srv/html"
    assert environ["SCRIPT_NAME"] == ""
    assert environ["wsgi.url_scheme"] == "http"
    # empty SERVER_NAME would break PEP 3333 consumers: left to the adapter
    assert "SERVER_NAME" not in environ
    # the headers are the environ's HTTP_* keys already
    assert environ["HTTP_HOST"] == "h" and environ["HTTP_ACCEPT"] == "*/*"
    # empty body vars stay as nginx sent them, as upstream gunicorn and uWSGI
    # keep them (PEP 3333: "may be empty or absent"; apps moving from uWSGI
    # read environ["CONTENT_TYPE"] directly)
    assert environ["CONTENT_TYPE"] == "" and environ["CONTENT_LENGTH"] == ""
    assert ("CONTENT-TYPE", "") not in parts.headers


def test_body_vars_nginx_did_not_send_stay_absent():
    environ = request_parts([("REQUEST_METHOD", "GET"), ("REQUEST_URI", "/")]).environ
    assert "CONTENT_TYPE" not in environ and "CONTENT_LENGTH" not in environ


def test_repeated_headers_join_in_the_environ():
    parts = request_parts([("HTTP_X_FOO", "1"), ("HTTP_X_FOO", "2"), ("REMOTE_ADDR", "a"),
                           ("REMOTE_ADDR", "b")])
    assert parts.environ["HTTP_X_FOO"] == "1,2"
    assert parts.environ["REMOTE_ADDR"] == "a"


def test_repeated_cookie_headers_join_as_one_cookie_string():
    # RFC 6265 section 5.4 / RFC 9113 section 8.2.3: cookie pairs are separated by
    # "; " (a "," would make "a=1,b=2" one cookie named a); nginx's own
    # $http_cookie joins them the same way.
    parts = request_parts([("HTTP_COOKIE", "a=1"), ("HTTP_COOKIE", "b=2")])
    assert parts.environ["HTTP_COOKIE"] == "a=1; b=2"
    assert parts.headers == [("COOKIE", "a=1"), ("COOKIE", "b=2")]


def test_a_repeated_host_is_refused_as_http_refuses_it():
    # RFC 9112 section 3.2: more than one Host field line is a 400.
    with pytest.raises(InvalidUWSGIHeader, match="repeated Host"):
        request_parts([("HTTP_HOST", "a.example"), ("HTTP_HOST", "b.example")])


def test_dict_and_pairs_paths_agree_without_repeats():
    from gunicorn.uwsgi.request_vars import environ_parts
    pairs_parts = request_parts(NGINX_GET)
    dict_parts = environ_parts(dict(NGINX_GET))
    assert dict_parts.environ == pairs_parts.environ
    assert dict_parts.headers == pairs_parts.headers
    assert dict_parts[:8] == pairs_parts[:8]


def test_http_vars_become_headers_with_dashes_and_repeats_kept():
    parts = request_parts([("HTTP_X_FORWARDED_FOR", "1.2.3.4"), ("HTTP_X_FOO", "1"),
                           ("HTTP_X_FOO", "2")])
    assert parts.headers == [("X-FORWARDED-FOR", "1.2.3.4"), ("X-FOO", "1"), ("X-FOO", "2")]


def test_content_type_and_length_become_headers_once():
    parts = request_parts([("REQUEST_METHOD", "POST"), ("CONTENT_TYPE", "text/plain"),
                           ("CONTENT_LENGTH", "6"), ("HTTP_CONTENT_TYPE", "text/plain"),
                           ("HTTP_CONTENT_LENGTH", "6")])
    assert sorted(parts.headers) == [("CONTENT-LENGTH", "6"), ("CONTENT-TYPE", "text/plain")]
    assert parts.content_length == 6


def test_http_content_type_kept_when_the_cgi_var_is_empty():
    parts = request_parts([("CONTENT_TYPE", ""), ("HTTP_CONTENT_TYPE", "a/b")])
    assert parts.headers == [("CONTENT-TYPE", "a/b")]


@pytest.mark.parametrize("value, length", [("", 0), ("0", 0), ("1048576", 1048576),
                                           ("-1", 0), ("abc", 0), ("1e3", 0), (" 12 ", 12),
                                           ("\u0661", 0)])
def test_content_length_missing_or_invalid_means_no_body(value, length):
    assert request_parts([("CONTENT_LENGTH", value)]).content_length == length


@pytest.mark.parametrize("connection, keep_alive", [
    (None, True), ("keep-alive", True), ("close", False), ("Close", False),
    ("keep-alive, close", False), ("upgrade", True)])
def test_keep_alive_from_http_connection(connection, keep_alive):
    pairs = [("SERVER_PROTOCOL", "HTTP/1.0")]
    if connection is not None:
        pairs.append(("HTTP_CONNECTION", connection))
    assert request_parts(pairs).keep_alive is keep_alive


@pytest.mark.parametrize("pairs, is_ssl, scheme", [
    ([], False, "http"),
    ([], True, "https"),
    ([("HTTPS", "on")], False, "https"),
    ([("HTTPS", "1")], False, "https"),
    ([("HTTPS", "off")], False, "http"),
    ([("UWSGI_SCHEME", "https")], False, "https"),
    ([("UWSGI_SCHEME", "http"), ("HTTPS", "on")], True, "http"),
    ([("REQUEST_SCHEME", "https")], False, "https"),
    ([("REQUEST_SCHEME", "http")], False, "http"),
])
def test_scheme(pairs, is_ssl, scheme):
    parts = request_parts(pairs, is_ssl=is_ssl)
    assert parts.scheme == scheme
    assert parts.environ["wsgi.url_scheme"] == scheme


def test_defaults_when_vars_are_missing():
    parts = request_parts([])
    assert (parts.method, parts.uri, parts.path, parts.query) == ("GET", "/", "/", "")
    assert parts.version == (1, 1)
    assert parts.headers == []


def test_target_rebuilt_from_path_info_without_request_uri():
    parts = request_parts([("PATH_INFO", "/caf\u00c3\u00a9 x"), ("QUERY_STRING", "a=1")])
    assert parts.path == "/caf%C3%A9%20x"
    assert parts.uri == "/caf%C3%A9%20x?a=1"


def test_absolute_form_request_uri():
    parts = request_parts([("REQUEST_URI", "http://example.com/p/q?x=1")])
    assert parts.uri == "http://example.com/p/q?x=1"
    assert parts.path == "/p/q"


@pytest.mark.parametrize("protocol, version", [("HTTP/1.0", (1, 0)), ("HTTP/1.1", (1, 1)),
                                               ("HTTP/2.0", (2, 0)), ("HTTP/2", (2, 0)),
                                               ("junk", (1, 1))])
def test_version_from_server_protocol(protocol, version):
    assert request_parts([("SERVER_PROTOCOL", protocol)]).version == version


@pytest.mark.parametrize("pairs, configured, script_name, path_info", [
    ([("SCRIPT_NAME", "/app"), ("PATH_INFO", "/app/x")], "", "/app", "/x"),
    ([("SCRIPT_NAME", "/app/"), ("PATH_INFO", "/app")], "", "/app", ""),
    # relative PATH_INFO (CGI style): kept as it is
    ([("SCRIPT_NAME", "/app"), ("PATH_INFO", "/x")], "", "/app", "/x"),
    # /application is not under /app
    ([("SCRIPT_NAME", "/app"), ("PATH_INFO", "/application")], "", "/app", "/application"),
    # gunicorn's own -e SCRIPT_NAME, nginx sends the full path
    ([("PATH_INFO", "/mnt/y")], "/mnt", "/mnt", "/y"),
    # nginx's SCRIPT_NAME wins over the configured one
    ([("SCRIPT_NAME", "/a"), ("PATH_INFO", "/a/z")], "/mnt", "/a", "/z"),
])
def test_script_name(pairs, configured, script_name, path_info):
    extra = request_parts(pairs, script_name=configured).environ
    assert (extra["SCRIPT_NAME"], extra["PATH_INFO"]) == (script_name, path_info)


def test_no_script_name_leaves_path_info_alone():
    environ = request_parts([("PATH_INFO", "/x/")]).environ
    assert environ["PATH_INFO"] == "/x/" and environ["SCRIPT_NAME"] == ""


def test_target_rebuilt_with_a_relative_path_info():
    parts = request_parts([("SCRIPT_NAME", "/app"), ("PATH_INFO", "/x y")])
    assert parts.uri == parts.path == "/app/x%20y"


def test_custom_params_pass_through():
    extra = request_parts([("APP_ENV", "prod"), ("UWSGI_SCHEME", "https")]).environ
    assert extra["APP_ENV"] == "prod"


@pytest.mark.parametrize("pairs", [[("HTTP_X", "a\r\nInjected: 1")], [("HTTP_X", "a\x00")],
                                   [("CONTENT_TYPE", "text/plain\n")]])
def test_header_values_with_cr_lf_nul_are_refused(pairs):
    with pytest.raises(InvalidUWSGIHeader, match="invalid character in header"):
        request_parts(pairs)


def test_decoded_path_info_may_hold_newlines():
    # nginx decodes %0A into PATH_INFO; it is not a header, so it is kept.
    assert request_parts([("PATH_INFO", "/a\nb")]).environ["PATH_INFO"] == "/a\nb"


def test_absurd_content_length_is_refused():
    assert request_parts([("CONTENT_LENGTH", "9" * 18)]).content_length == 10**18 - 1
    with pytest.raises(InvalidUWSGIHeader, match="CONTENT_LENGTH"):
        request_parts([("CONTENT_LENGTH", "1" * 5000)])


@pytest.mark.parametrize(("pairs", "script_name", "path_info"), [
    ([("REQUEST_URI", "/app/a%20b")], "/app", "/a b"),
    ([("REQUEST_URI", "/other")], "/app", "/other"),
    ([("REQUEST_URI", "/a%2Fb?q=1")], "", "/a/b"),
])
def test_path_info_is_decoded_from_the_target_when_nginx_sends_none(pairs, script_name, path_info):
    environ = request_parts(pairs, script_name=script_name).environ
    assert environ["PATH_INFO"] == path_info
    assert environ["SCRIPT_NAME"] == script_name


def test_body_length_falls_back_on_the_forwarded_header():
    parts = request_parts([("CONTENT_LENGTH", ""), ("HTTP_CONTENT_LENGTH", "4")])
    assert parts.content_length == 4
    assert parts.environ["CONTENT_LENGTH"] == "4"
    assert "HTTP_CONTENT_LENGTH" not in parts.environ


def test_lazy_header_list_is_built_once_and_can_be_replaced():
    from gunicorn.uwsgi.request_vars import UWSGIRequest, environ_parts
    parts = environ_parts({"HTTP_HOST": "h", "CONTENT_TYPE": "a/b", "REQUEST_URI": "/"})
    req = UWSGIRequest(parts, must_close=False, peer_addr=None, req_number=1)
    assert req.headers == [("HOST", "h"), ("CONTENT-TYPE", "a/b")]
    assert req.headers is req.headers
    req.headers = [("X", "1")]
    assert req.headers == [("X", "1")]


def test_header_list_changed_by_a_hook_is_the_environ_the_app_sees():
    # Upstream builds the environ from req.headers after pre_request, so a hook
    # that adds or replaces a header (a request id) reaches the app.
    from gunicorn.uwsgi.packet import encode_packet
    from gunicorn.uwsgi.protocol import UWSGIProtocol
    from gunicorn.wsgi.environ import ConnectionEnviron

    def request(*more):
        proto = UWSGIProtocol(None, ("127.0.0.1", 1), ("127.0.0.1", 2))
        proto.receive_data(encode_packet([("REQUEST_URI", "/"), ("HTTP_HOST", "h"),
                                          ("HTTP_X_A", "1"), ("CONTENT_TYPE", "a/b"), *more]))
        return proto.next_event()

    def environ(req):
        return ConnectionEnviron(None, None, ("127.0.0.1", 1), ("127.0.0.1", 2)).build(req, None)

    req = request()
    req.headers.append(("X-REQUEST-ID", "abc"))
    env = environ(req)
    assert env["HTTP_X_REQUEST_ID"] == "abc"
    assert (env["HTTP_HOST"], env["HTTP_X_A"], env["CONTENT_TYPE"]) == ("h", "1", "a/b")

    req = request()
    req.headers = [("HOST", "h"), ("X-A", "2"), ("X-A", "3")]
    env = environ(req)
    assert env["HTTP_X_A"] == "2,3" and "CONTENT_TYPE" not in env

    # Only looked at (a logging hook), or never looked at: the vars as sent.
    req = request(("HTTP_X_A", "2"))
    assert req.headers == [("HOST", "h"), ("X-A", "1"), ("X-A", "2"), ("CONTENT-TYPE", "a/b")]
    assert environ(req)["HTTP_X_A"] == "1,2"
    assert environ(request())["HTTP_X_A"] == "1"
