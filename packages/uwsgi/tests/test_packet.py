"""Unit tests for the uwsgi packet parser (gunicorn.uwsgi.packet)."""

import struct

import pytest

from gunicorn.http.errors import ParseError
from gunicorn.uwsgi.errors import InvalidUWSGIHeader, UnsupportedModifier, UWSGIParseException
from gunicorn.uwsgi.packet import (
    HEADER_SIZE,
    MAX_VARS,
    encode_packet,
    parse_header,
    parse_vars,
    read_packet,
)


def var(key: bytes, value: bytes) -> bytes:
    return struct.pack("<H", len(key)) + key + struct.pack("<H", len(value)) + value


def packet(block: bytes, modifier1=0, modifier2=0, datasize=None) -> bytes:
    size = len(block) if datasize is None else datasize
    return struct.pack("<BHB", modifier1, size, modifier2) + block


def test_header_fields_are_little_endian():
    header = parse_header(b"\x00\x34\x12\x07")
    assert (header.modifier1, header.datasize, header.modifier2) == (0, 0x1234, 7)
    assert header.packet_size == 0x1234 + HEADER_SIZE


def test_modifier2_is_ignored():
    data = packet(var(b"A", b"b"), modifier2=255)
    assert read_packet(bytearray(data)).vars == [("A", "b")]


@pytest.mark.parametrize("modifier1", [1, 5, 31, 255])
def test_unknown_modifier1_is_refused(modifier1):
    with pytest.raises(UnsupportedModifier) as info:
        parse_header(packet(b"", modifier1=modifier1))
    assert info.value.modifier == modifier1
    assert str(modifier1) in str(info.value)


def test_modifier1_30_is_a_wsgi_request():
    # `uwsgi_modifier1 30;` (uWSGI's "manage PATH_INFO") is the old nginx idiom for
    # mounting an app under uwsgi_param SCRIPT_NAME; the mount is cut from PATH_INFO
    # as for any SCRIPT_NAME, so the request is served like modifier1 0.
    assert parse_header(packet(b"", modifier1=30)).modifier1 == 30


def test_errors_are_core_parse_errors():
    for cls in (InvalidUWSGIHeader, UnsupportedModifier):
        assert issubclass(cls, UWSGIParseException)
        assert issubclass(cls, ParseError)
    assert InvalidUWSGIHeader("x").status_code == 400
    assert UnsupportedModifier(3).status_code == 501


@pytest.mark.parametrize("size", [0, 1, 3])
def test_truncated_header(size):
    with pytest.raises(InvalidUWSGIHeader, match="truncated header"):
        parse_header(b"\x00\x00\x00\x00"[:size])


def test_datasize_over_the_limit_is_refused_from_the_header_alone():
    with pytest.raises(InvalidUWSGIHeader, match="over the limit"):
        read_packet(bytearray(b"\x00\x01\x10\x00"), max_datasize=4096)
    # exactly at the limit is fine
    assert read_packet(bytearray(b"\x00\x00\x10\x00"), max_datasize=4096) is None


def test_vars_in_order_with_repeats():
    block = var(b"REQUEST_METHOD", b"GET") + var(b"HTTP_X_FOO", b"1") + var(b"HTTP_X_FOO", b"2")
    assert parse_vars(block) == [("REQUEST_METHOD", "GET"), ("HTTP_X_FOO", "1"),
                                 ("HTTP_X_FOO", "2")]


def test_empty_block_and_empty_values():
    assert parse_vars(b"") == []
    assert parse_vars(var(b"CONTENT_TYPE", b"")) == [("CONTENT_TYPE", "")]


def test_values_are_latin1():
    raw = "/caf\u00e9".encode()  # UTF-8 bytes, as nginx sends a decoded PATH_INFO
    [(key, value)] = parse_vars(var(b"PATH_INFO", raw))
    assert value == raw.decode("latin-1")
    assert value.encode("latin-1") == raw
    assert parse_vars(var(b"X", bytes(range(256))))[0][1] == bytes(range(256)).decode("latin-1")


@pytest.mark.parametrize("key", [b"", b"K\xff", "Schl\u00fcssel".encode(), b"A B", b"A\x00",
                                 b"A\r\nB", b"\x7f"])
def test_bad_var_names_are_refused(key):
    with pytest.raises(InvalidUWSGIHeader, match="invalid var name"):
        parse_vars(var(key, b"v"))


def test_at_most_1000_vars():
    assert len(parse_vars(var(b"K", b"v") * MAX_VARS)) == MAX_VARS
    with pytest.raises(InvalidUWSGIHeader, match="more than 1000 vars"):
        parse_vars(var(b"K", b"v") * (MAX_VARS + 1))


@pytest.mark.parametrize("block, what", [
    (b"\x05", "truncated key length"),
    (b"\x05\x00ABC", "truncated key"),
    (b"\x01\x00A", "truncated value length"),
    (b"\x01\x00A\x09", "truncated value length"),
    (b"\x01\x00A\x09\x00short", "truncated value"),
    (var(b"A", b"b") + b"\x01", "truncated key length"),
])
def test_truncated_or_overrunning_records(block, what):
    with pytest.raises(InvalidUWSGIHeader, match=what):
        parse_vars(block)


def test_var_length_overrunning_the_block_does_not_read_the_body():
    # The value claims 10 bytes but the block holds 3; the next 7 bytes (the body) must
    # not be taken as part of the value.
    block = b"\x01\x00A\x0a\x00abc"
    data = bytearray(packet(block) + b"BODYBODY")
    with pytest.raises(InvalidUWSGIHeader, match="truncated value"):
        read_packet(data)


def test_read_packet_waits_for_the_whole_packet_and_consumes_only_it():
    data = encode_packet([("REQUEST_METHOD", "POST"), ("CONTENT_LENGTH", "4")])
    buffer = bytearray()
    for byte in data[:-1]:
        buffer.append(byte)
        assert read_packet(buffer) is None
    buffer += data[-1:] + b"body"
    result = read_packet(buffer)
    assert result.vars == [("REQUEST_METHOD", "POST"), ("CONTENT_LENGTH", "4")]
    assert result.header.datasize == len(data) - HEADER_SIZE
    assert buffer == b"body"


def test_encode_packet_round_trips_and_refuses_oversize():
    pairs = [("A", "1"), ("B", b"\xff\x00"), (b"C", "")]
    assert read_packet(bytearray(encode_packet(pairs, modifier2=3))).vars == [
        ("A", "1"), ("B", "\xff\x00"), ("C", "")]
    with pytest.raises(ValueError):
        encode_packet([("K", "v" * 0x10000)])
