"""TLV value codec: every type, limits, and malformed input."""

import math
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gunicorn.dirty import tlv
from gunicorn.dirty.errors import DirtyProtocolError
from gunicorn.dirty.tlv import decode_value, encode_value

# Golden encodings, one per tag (surface.md section 8).
GOLDEN = [
    (None, "00"),
    (False, "0100"),
    (True, "0101"),
    (0, "050000000000000000"),
    (-1, "05ffffffffffffffff"),
    (2**63 - 1, "057fffffffffffffff"),
    (-(2**63), "058000000000000000"),
    (1.5, "063ff8000000000000"),
    (b"", "1000000000"),
    (b"\x00\xff", "100000000200ff"),
    ("", "1100000000"),
    ("é", "1100000002c3a9"),
    ([], "2000000000"),
    ([1, None], "200000000205000000000000000100"),
    ({}, "2100000000"),
    ({"a": True}, "21000000011100000001610101"),
]


@pytest.mark.parametrize("value,hexbytes", GOLDEN)
def test_golden_encoding(value, hexbytes):
    assert encode_value(value).hex() == hexbytes
    decoded = decode_value(bytes.fromhex(hexbytes))
    assert decoded == value and type(decoded) is type(value)


def test_bool_is_not_encoded_as_int():
    assert encode_value(True)[0] == tlv.TYPE_BOOL
    assert decode_value(encode_value([True, 1])) == [True, 1]
    assert type(decode_value(encode_value(1))) is int


def test_tuple_becomes_list():
    assert decode_value(encode_value((1, (2, "x")))) == [1, [2, "x"]]


def test_dict_keys_become_str():
    assert decode_value(encode_value({1: "a", None: "b", 2.5: "c"})) == {
        "1": "a",
        "None": "b",
        "2.5": "c",
    }


def test_bytearray_and_memoryview_encode_as_bytes():
    assert decode_value(encode_value(bytearray(b"ab"))) == b"ab"
    assert decode_value(encode_value(memoryview(b"cd"))) == b"cd"


def test_float_specials():
    assert decode_value(encode_value(math.inf)) == math.inf
    assert math.isnan(decode_value(encode_value(math.nan)))
    assert math.copysign(1, decode_value(encode_value(-0.0))) == -1


@pytest.mark.parametrize("value", [2**63, -(2**63) - 1, 10**30])
def test_int_outside_int64_rejected(value):
    with pytest.raises(DirtyProtocolError, match="int64"):
        encode_value(value)


@pytest.mark.parametrize("value", [object(), {1, 2}, 1j, type, [object()], {"k": object()}])
def test_unsupported_type_raises_protocol_error(value):
    with pytest.raises(DirtyProtocolError, match="cannot encode"):
        encode_value(value)


def test_lone_surrogate_str_rejected():
    with pytest.raises(DirtyProtocolError):
        encode_value("\ud800")


def test_bytes_limit():
    limit = tlv.MAX_BYTES_SIZE
    big = b"x" * limit
    assert len(encode_value(big)) == 5 + limit
    with pytest.raises(DirtyProtocolError, match="too long"):
        encode_value(big + b"x")
    # A declared length past the limit fails before anything is read.
    with pytest.raises(DirtyProtocolError, match="exceeds the limit"):
        decode_value(bytes([tlv.TYPE_BYTES]) + struct.pack(">I", limit + 1))


def test_str_limit():
    with pytest.raises(DirtyProtocolError, match="too long"):
        encode_value("y" * (tlv.MAX_STRING_SIZE + 1))
    with pytest.raises(DirtyProtocolError, match="exceeds the limit"):
        decode_value(bytes([tlv.TYPE_STRING]) + struct.pack(">I", tlv.MAX_STRING_SIZE + 1))


def test_list_limit(monkeypatch):
    assert tlv.MAX_LIST_SIZE == 1_048_576
    with pytest.raises(DirtyProtocolError, match="exceeds the limit"):
        decode_value(bytes([tlv.TYPE_LIST]) + struct.pack(">I", tlv.MAX_LIST_SIZE + 1))
    # the boundary itself, with a small limit (a million items takes seconds of CPU)
    monkeypatch.setattr(tlv, "MAX_LIST_SIZE", 8)
    at_limit = [None] * 8
    assert decode_value(encode_value(at_limit)) == at_limit
    with pytest.raises(DirtyProtocolError, match="list too long"):
        encode_value(at_limit + [None])


def test_dict_limit(monkeypatch):
    assert tlv.MAX_DICT_SIZE == 1_048_576
    with pytest.raises(DirtyProtocolError, match="exceeds the limit"):
        decode_value(bytes([tlv.TYPE_DICT]) + struct.pack(">I", tlv.MAX_DICT_SIZE + 1))
    monkeypatch.setattr(tlv, "MAX_DICT_SIZE", 8)
    at_limit = dict.fromkeys(map(str, range(8)))
    assert decode_value(encode_value(at_limit)) == at_limit
    with pytest.raises(DirtyProtocolError, match="dict too large"):
        encode_value(dict.fromkeys(range(9)))


def test_nesting_limit():
    value = []
    for _ in range(tlv.MAX_DEPTH + 1):
        value = [value]
    with pytest.raises(DirtyProtocolError, match="nests deeper"):
        encode_value(value)
    hostile = (bytes([tlv.TYPE_LIST]) + struct.pack(">I", 1)) * 100_000 + b"\x00"
    with pytest.raises(DirtyProtocolError, match="nests deeper"):
        decode_value(hostile)


@pytest.mark.parametrize(
    "data,match",
    [
        (b"", "truncated"),
        (b"\x05\x00", "truncated"),
        (b"\x11\x00\x00\x00\x05ab", "truncated"),
        (b"\x20\x00\x00\x00\x02\x00", "truncated"),
        (b"\x02", "unknown TLV type tag 0x02"),
        (b"\x01\x02", "bool byte"),
        (b"\x11\x00\x00\x00\x01\xff", "UTF-8"),
        (b"\x00\x00", "trailing"),
        (b"\x21\x00\x00\x00\x01\x20\x00\x00\x00\x00\x00", "dict key"),
    ],
)
def test_malformed_input(data, match):
    with pytest.raises(DirtyProtocolError, match=match):
        decode_value(data)


values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=tlv.INT64_MIN, max_value=tlv.INT64_MAX)
    | st.floats(allow_nan=False)
    | st.binary(max_size=64)
    | st.text(max_size=64),
    lambda children: st.lists(children, max_size=8)
    | st.dictionaries(st.text(max_size=16), children, max_size=8),
    max_leaves=20,
)


@settings(max_examples=60, deadline=None)
@given(values)
def test_round_trip(value):
    assert decode_value(encode_value(value)) == value


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_parse_or_raise_protocol_error(data):
    try:
        decode_value(data)
    except DirtyProtocolError:
        pass


@settings(max_examples=80, deadline=None)
@given(values, st.data())
def test_any_mutation_parses_or_raises_protocol_error(value, data):
    encoded = bytearray(encode_value(value))
    index = data.draw(st.integers(0, len(encoded) - 1))
    encoded[index] = data.draw(st.integers(0, 255))
    try:
        decode_value(bytes(encoded))
    except DirtyProtocolError:
        pass
