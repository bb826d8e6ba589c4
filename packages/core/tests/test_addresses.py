"""parse_address and is_ipv6: every bind form upstream accepts."""

import pytest

from gunicorn import util
from gunicorn.addresses import is_ipv6, parse_address


@pytest.mark.parametrize("netloc, expected", [
    ("127.0.0.1:8000", ("127.0.0.1", 8000)),
    ("localhost", ("localhost", 8000)),
    ("LOCALHOST:5000", ("localhost", 5000)),
    ("[::1]:8000", ("::1", 8000)),
    ("[::1]", ("::1", 8000)),
    ("[2001:db8::1]:443", ("2001:db8::1", 443)),
    ("tcp://example.org:81", ("example.org", 81)),
    ("", ("0.0.0.0", 8000)),
    ("unix:/tmp/g.sock", "/tmp/g.sock"),
    ("unix:///tmp/g.sock", "/tmp/g.sock"),
    ("unix://rel.sock", "rel.sock"),
    ("fd://3", 3),
])
def test_parse_address(netloc, expected):
    assert parse_address(netloc) == expected


def test_default_port_is_used_and_converted():
    assert parse_address("example.org", default_port="8125") == ("example.org", 8125)
    assert parse_address("example.org", default_port=9) == ("example.org", 9)


@pytest.mark.parametrize("netloc, message", [
    ("fd://x", "'x' is not a valid file descriptor."),
    ("host:port", "'port' is not a valid port number."),
    ("host:", "'' is not a valid port number."),
])
def test_parse_address_errors(netloc, message):
    with pytest.raises(RuntimeError) as info:
        parse_address(netloc)
    assert str(info.value) == message


@pytest.mark.parametrize("addr, expected", [
    ("::1", True),
    ("2001:db8::1", True),
    ("127.0.0.1", False),
    ("[::1]", False),
    ("example.org", False),
    ("", False),
])
def test_is_ipv6(addr, expected):
    assert is_ipv6(addr) is expected


def test_util_facade_exports_them():
    assert util.parse_address is parse_address
    assert util.is_ipv6 is is_ipv6
