"""Access-log atoms, SafeAtoms, custom formats, subclass hooks and failure handling."""

import base64
import datetime
import io
import logging
import os
import re
import types

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_glogging import fake_cfg, own_stream_handler, restore_logging  # noqa: F401

from gunicorn.glogging import Logger, SafeAtoms

ELAPSED = datetime.timedelta(seconds=2, microseconds=345678)


def make_request(headers=None):
    return types.SimpleNamespace(
        method="GET", uri="/a%20b?x=1", path="/a%20b", query="x=1", version=(1, 1),
        headers=headers if headers is not None else [
            ("HOST", "example.com"), ("USER-AGENT", "curl/8"), ("X-TRACE", "abc"),
        ])


def make_response(status="200 OK", sent=1234, headers=None):
    return types.SimpleNamespace(
        status=status, sent=sent, response_length=sent,
        headers=headers if headers is not None else [
            ("Content-Type", "text/plain"), ("X-Resp", "yes"),
        ])


def make_environ(**extra):
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": "/a%20b?x=1",
        "PATH_INFO": "/a b",
        "QUERY_STRING": "x=1",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "192.0.2.7",
        "HTTP_HOST": "example.com",
        "HTTP_REFERER": "http://ref.example/",
        "HTTP_USER_AGENT": "curl/8",
    }
    environ.update(extra)
    return environ


def atoms_for(resp=None, req=None, environ=None, request_time=ELAPSED, **cfg):
    log = Logger(fake_cfg(**cfg))
    return log.atoms(resp or make_response(), req or make_request(),
                     make_environ() if environ is None else environ, request_time)


_DEFAULT = object()


def access_line(fmt, resp=None, req=_DEFAULT, environ=None, request_time=ELAPSED,
                logger_class=Logger):
    log = logger_class(fake_cfg(accesslog="-", access_log_format=fmt))
    stream = io.StringIO()
    own_stream_handler(log.access_log).setStream(stream)
    log.access(resp or make_response(), make_request() if req is _DEFAULT else req,
               make_environ() if environ is None else environ, request_time)
    return stream.getvalue().rstrip("\n")


@pytest.mark.parametrize("atom,value", [
    ("h", "192.0.2.7"),
    ("l", "-"),
    ("u", "-"),
    ("r", "GET /a%20b?x=1 HTTP/1.1"),
    ("s", "200"),
    ("m", "GET"),
    ("U", "/a b"),
    ("q", "x=1"),
    ("H", "HTTP/1.1"),
    ("b", "1234"),
    ("B", 1234),
    ("f", "http://ref.example/"),
    ("a", "curl/8"),
    ("T", 2),
    ("D", 2345678),
    ("M", 2345),
    ("L", "2.345678"),
    ("p", None),  # the pid of the process running the test, known only at run time
], ids=lambda v: v if isinstance(v, str) else None)
def test_each_atom(atom, value):
    if atom == "p":
        value = "<%d>" % os.getpid()
    assert atoms_for()[atom] == value


def test_time_atom_format():
    t = atoms_for()["t"]
    assert re.fullmatch(r"\[\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4}\]", t), t
    parsed = datetime.datetime.strptime(t, "[%d/%b/%Y:%H:%M:%S %z]")
    assert abs((datetime.datetime.now(datetime.timezone.utc) - parsed).total_seconds()) < 5


def test_default_format_line():
    line = access_line('%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s"')
    assert re.fullmatch(
        r'192\.0\.2\.7 - - \[[^\]]+\] "GET /a%20b\?x=1 HTTP/1\.1" 200 1234 '
        r'"http://ref\.example/" "curl/8"', line), line


@pytest.mark.parametrize("status,code", [
    ("404 Not Found", "404"), (404, "404"), (b"500 Oops", "500"), ("200", "200"), (None, "-"),
])
def test_status_shapes(status, code):
    assert atoms_for(resp=make_response(status=status))["s"] == code


def test_sent_unknown():
    atoms = atoms_for(resp=make_response(sent=None))
    assert atoms["b"] == "-"
    assert atoms["B"] is None


def test_sent_zero_is_zero_not_dash():
    assert atoms_for(resp=make_response(sent=0))["b"] == "0"


def test_long_request_time_counts_days():
    atoms = atoms_for(request_time=datetime.timedelta(days=1, seconds=1, microseconds=5))
    assert atoms["T"] == 86401
    assert atoms["L"] == "86401.000005"
    assert atoms["M"] == 86401000


def test_float_request_time_is_accepted():
    assert atoms_for(request_time=1.5)["D"] == 1500000


@pytest.mark.parametrize("header,user", [
    ("Basic " + base64.b64encode(b"alice:s3cret").decode(), "alice"),
    ("basic " + base64.b64encode(b"bob:pw:with:colons").decode(), "bob"),
    ("Basic " + base64.b64encode("jos\u00e9:x".encode()).decode(), "jos\u00e9"),
    ("Basic " + base64.b64encode(b"nocolon").decode(), "-"),
    ("Basic !!!notbase64", "-"),
    ("Basic " + base64.b64encode(b"\xff\xfe:x").decode(), "-"),
    ("Bearer abc.def", "-"),
    ("Basic", "-"),
])
def test_user_from_basic_auth(header, user):
    assert atoms_for(environ=make_environ(HTTP_AUTHORIZATION=header))["u"] == user


def test_missing_environ_keys_render_dash():
    atoms = atoms_for(environ={}, req=types.SimpleNamespace(headers=[]))
    for key in "hlumfa":
        assert atoms[key] == "-", key
    assert atoms["r"] == "-"


def test_request_line_falls_back_to_req_when_environ_is_partial():
    atoms = atoms_for(environ={"REMOTE_ADDR": "::1"})
    assert atoms["r"] == "GET /a%20b?x=1 HTTP/1.1"
    assert atoms["m"] == "GET"
    assert atoms["H"] == "HTTP/1.1"


def test_quotes_are_escaped_in_string_atoms():
    line = access_line(
        '"%(r)s" "%(a)s" "%(f)s" %({x-q}i)s',
        req=make_request(headers=[("X-Q", 'say "hi"')]),
        environ=make_environ(HTTP_USER_AGENT='evil"agent', HTTP_REFERER='r"f',
                             RAW_URI='/"q"'))
    assert line == '"GET /\\"q\\" HTTP/1.1" "evil\\"agent" "r\\"f" say \\"hi\\"'


def test_header_and_environ_lookups_are_case_insensitive():
    line = access_line("%({X-Trace}i)s %({x-trace}i)s %({CONTENT-TYPE}o)s %({x-resp}o)s "
                       "%({REMOTE_ADDR}e)s %({path_info}e)s")
    assert line == "abc abc text/plain yes 192.0.2.7 /a b"


def test_missing_custom_atoms_render_dash():
    line = access_line("%({x-none}i)s %({x-none}o)s %({NONE}e)s %(zz)s")
    assert line == "- - - -"


def test_header_mappings_and_bytes_are_accepted():
    req = make_request(headers={"X-Map": "m"})
    resp = make_response(headers=[(b"X-Bytes", b"v")])
    line = access_line("%({x-map}i)s %({x-bytes}o)s", req=req, resp=resp)
    assert line == "m v"


def test_request_headers_from_environ_when_no_req():
    line = access_line("%({user-agent}i)s %({host}i)s", req=object())
    assert line == "curl/8 example.com"


def test_safe_atoms_directly():
    atoms = SafeAtoms({"a": 'x"y', "{k}i": "v", "n": 5, "none": None})
    assert atoms["a"] == 'x\\"y'
    assert atoms["{K}i"] == "v"
    assert atoms["n"] == 5
    assert atoms["none"] is None
    assert atoms["missing"] == "-"
    assert "%(n)d %(missing)s" % atoms == "5 -"


def test_access_passes_atoms_as_record_args():
    log = Logger(fake_cfg(accesslog="-"))
    records = []

    class Grab(logging.Handler):
        def emit(self, record):
            records.append(record)

    log.access_log.addHandler(Grab())
    log.access(make_response(), make_request(), make_environ(), ELAPSED)
    assert len(records) == 1
    assert isinstance(records[0].args, SafeAtoms)
    assert records[0].args["s"] == "200"
    assert records[0].msg == log.cfg.access_log_format


def test_subclass_overriding_now():
    class FixedClock(Logger):
        def now(self):
            return "[fixed]"

    assert access_line("%(t)s %(s)s", logger_class=FixedClock) == "[fixed] 200"


def test_subclass_overriding_access_and_atoms_wrapper():
    seen = []

    class Upper(SafeAtoms):
        def __getitem__(self, key):
            return str(super().__getitem__(key)).upper()

    class Custom(Logger):
        atoms_wrapper_class = Upper

        def access(self, resp, req, environ, request_time):
            seen.append(resp.status)
            super().access(resp, req, environ, request_time)

    assert access_line("%(m)s %(a)s", logger_class=Custom) == "GET CURL/8"
    assert seen == ["200 OK"]


def test_bad_format_is_reported_once_and_never_raises():
    log = Logger(fake_cfg(accesslog="-", access_log_format="%(s)d %(h)s"))
    access_stream, error_stream = io.StringIO(), io.StringIO()
    own_stream_handler(log.access_log).setStream(access_stream)
    own_stream_handler(log.error_log).setStream(error_stream)
    for _ in range(3):
        log.access(make_response(), make_request(), make_environ(), ELAPSED)
    assert access_stream.getvalue() == ""
    assert error_stream.getvalue().count("Failed to format access log line") == 1
    assert "TypeError" in error_stream.getvalue()


def test_broken_response_object_never_raises():
    class Exploding:
        @property
        def status(self):
            raise RuntimeError("nope")

    log = Logger(fake_cfg(accesslog="-"))
    error_stream = io.StringIO()
    own_stream_handler(log.error_log).setStream(error_stream)
    log.access(Exploding(), make_request(), make_environ(), ELAPSED)
    log.access(Exploding(), make_request(), make_environ(), ELAPSED)
    assert error_stream.getvalue().count("RuntimeError: nope") == 1


def test_asgi_style_call_with_sparse_environ():
    # An ASGI worker builds a small environ from the scope; req may be None.
    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/ws", "SERVER_PROTOCOL": "HTTP/1.1",
               "REMOTE_ADDR": "127.0.0.1"}
    resp = types.SimpleNamespace(status=201, headers=[], sent=0)
    line = access_line('%(h)s "%(r)s" %(s)s %(b)s %(U)s %(q)s %(a)s',
                       resp=resp, req=None, environ=environ)
    assert line == '127.0.0.1 "POST /ws HTTP/1.1" 201 0 /ws - -'
    environ["QUERY_STRING"] = "a=1"
    line = access_line('"%(r)s" %(q)s', resp=resp, req=None, environ=environ)
    assert line == '"POST /ws?a=1 HTTP/1.1" a=1'


def test_none_environ_does_not_raise():
    log = Logger(fake_cfg())
    atoms = log.atoms(make_response(), None, None, ELAPSED)
    assert atoms["h"] == "-"
    assert atoms["r"] == "-"


def test_now_uses_local_zone_and_follows_the_clock(monkeypatch):
    import time

    from gunicorn import glogging

    monkeypatch.setenv("TZ", "Asia/Kolkata")  # +0530, no DST: a stable expectation
    time.tzset()
    try:
        log = Logger(fake_cfg())
        clock = [1_000_000_000.25]  # 2001-09-09 01:46:40 UTC
        monkeypatch.setattr(glogging.time, "time", lambda: clock[0])
        assert log.now() == "[09/Sep/2001:07:16:40 +0530]"
        clock[0] += 1
        assert log.now() == "[09/Sep/2001:07:16:41 +0530]"
    finally:
        monkeypatch.undo()
        time.tzset()


_text_or_bytes = st.one_of(st.text(max_size=20), st.binary(max_size=20))
_header_lists = st.one_of(
    st.none(),
    st.lists(st.tuples(_text_or_bytes, _text_or_bytes), max_size=4),
    st.dictionaries(st.text(max_size=10), st.text(max_size=10), max_size=3),
    st.integers(),
)


@settings(max_examples=80, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    status=st.one_of(st.none(), st.integers(), st.text(max_size=12), st.binary(max_size=12),
                     st.floats(allow_nan=True)),
    sent=st.one_of(st.none(), st.integers(min_value=0)),
    resp_headers=_header_lists,
    req_headers=_header_lists,
    environ=st.one_of(st.none(), st.dictionaries(
        st.sampled_from(["REMOTE_ADDR", "RAW_URI", "REQUEST_METHOD", "SERVER_PROTOCOL",
                         "PATH_INFO", "QUERY_STRING", "HTTP_AUTHORIZATION", "HTTP_REFERER",
                         "HTTP_USER_AGENT", "X"]),
        st.one_of(st.none(), st.text(max_size=20), st.integers()), max_size=8)),
    request_time=st.one_of(st.none(), st.timedeltas(min_value=datetime.timedelta(0)),
                           st.floats(min_value=0, max_value=1e6)),
)
def test_access_never_raises(status, sent, resp_headers, req_headers, environ, request_time):
    log = Logger(fake_cfg(accesslog="-"))
    sink = io.StringIO()
    own_stream_handler(log.access_log).setStream(sink)
    own_stream_handler(log.error_log).setStream(sink)
    resp = types.SimpleNamespace(status=status, sent=sent, headers=resp_headers)
    req = types.SimpleNamespace(method="GET", headers=req_headers)
    log.access(resp, req, environ, request_time)
