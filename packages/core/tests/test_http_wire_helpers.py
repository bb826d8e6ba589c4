"""Small wire helpers: dates, hop-by-hop names, bytes/str, allow lists, events, util facade."""

import email.utils
import ipaddress
import time

import pytest

from gunicorn import util
from gunicorn.http import dates
from gunicorn.http.allow_lists import parse_networks, peer_allowed
from gunicorn.http.bytes_text import bytes_to_str, to_bytestring
from gunicorn.http.events import (
    NEED_DATA,
    PAUSED,
    Data,
    EndOfMessage,
    InformationalResponse,
    Request,
    Response,
)
from gunicorn.http.hop_by_hop import is_hoppish


@pytest.mark.parametrize("ts", [0, 784111777, 1700000000.9, 4102444800])
def test_http_date_matches_email_utils(ts):
    assert dates.http_date(ts) == email.utils.formatdate(int(ts), usegmt=True)


def test_http_date_now_cached_per_second():
    first = dates.http_date()
    assert first == dates.http_date() or time.time() % 1 < 0.1
    assert first == email.utils.formatdate(dates._cached_second, usegmt=True)


@pytest.mark.parametrize("name", ["Connection", "keep-alive", " TE ", "Transfer-Encoding",
                                  "upgrade", "Server", "date", "Proxy-Authorization",
                                  "trailers", "proxy-authenticate"])
def test_hoppish(name):
    assert is_hoppish(name)


@pytest.mark.parametrize("name", ["Content-Length", "X-Connection", "Trailer", "Set-Cookie"])
def test_not_hoppish(name):
    assert not is_hoppish(name)


def test_bytes_text():
    assert to_bytestring("é") == "é".encode()
    assert to_bytestring("é", "latin-1") == b"\xe9"
    assert to_bytestring(b"x") == b"x"
    with pytest.raises(TypeError):
        to_bytestring(5)
    assert bytes_to_str(b"\xe9") == "é" and bytes_to_str("x") == "x"


def test_util_facade_exports_http_helpers():
    assert util.http_date is dates.http_date
    assert util.is_hoppish is is_hoppish
    assert util.to_bytestring is to_bytestring and util.bytes_to_str is bytes_to_str


def test_allow_lists():
    nets = parse_networks("127.0.0.1, 10.0.0.0/8,::1, *, bogus")
    assert nets == [ipaddress.ip_network("127.0.0.1/32"), ipaddress.ip_network("10.0.0.0/8"),
                    ipaddress.ip_network("::1/128")]
    assert peer_allowed(("10.2.3.4", 1), ["10.0.0.0/8"], nets)
    assert not peer_allowed(("11.2.3.4", 1), ["10.0.0.0/8"], nets)
    assert peer_allowed(("11.2.3.4", 1), ["*"], [])
    assert peer_allowed(("11.2.3.4", 1), "*", [])
    assert peer_allowed("/run/sock", [], [])
    assert peer_allowed(("::ffff:10.0.0.1", 1, 0, 0), ["10.0.0.0/8"], nets)
    assert not peer_allowed(("not-an-ip", 1), ["10.0.0.0/8"], nets)


def test_events():
    assert repr(NEED_DATA) == "NEED_DATA" and repr(PAUSED) == "PAUSED"
    assert Data(b"a") == Data(b"a") and Data(b"a") != Data(b"b")
    assert EndOfMessage() == EndOfMessage([]) and EndOfMessage().trailers == []
    with pytest.raises(ValueError):
        InformationalResponse(200)
    with pytest.raises(ValueError):
        Response(100)
    req = Request("GET", "/", "/", "", "", (1, 1), [])
    req.custom = 1  # hooks may hang their own attributes on req
    assert repr(req) == "<Request GET / HTTP/1.1>" and req.custom == 1
