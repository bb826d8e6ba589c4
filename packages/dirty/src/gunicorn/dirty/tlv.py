"""TLV value codec of the dirty wire format: a type tag, then the value (surface.md section 8)."""

import struct

from gunicorn.dirty.errors import DirtyProtocolError

TYPE_NONE = 0x00
TYPE_BOOL = 0x01
TYPE_INT64 = 0x05
TYPE_FLOAT64 = 0x06
TYPE_BYTES = 0x10
TYPE_STRING = 0x11
TYPE_LIST = 0x20
TYPE_DICT = 0x21

MAX_BYTES_SIZE = 64 * 1024 * 1024
MAX_STRING_SIZE = 64 * 1024 * 1024
MAX_LIST_SIZE = 1024 * 1024
MAX_DICT_SIZE = 1024 * 1024
# Containers nest at most this deep, so a hostile frame cannot exhaust the Python stack.
MAX_DEPTH = 256

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1

_U32 = struct.Struct(">I")
_I64 = struct.Struct(">q")
_F64 = struct.Struct(">d")


def encode_value(obj):
    """``obj`` as TLV bytes; DirtyProtocolError for a type or size the format cannot carry."""
    out = bytearray()
    _encode(obj, out, 0)
    return bytes(out)


def _encode(obj, out, depth):
    if depth > MAX_DEPTH:
        raise DirtyProtocolError(f"value nests deeper than {MAX_DEPTH} levels")
    # bool before int: True is an int too.
    if obj is None:
        out.append(TYPE_NONE)
    elif obj is True or obj is False:
        out.append(TYPE_BOOL)
        out.append(1 if obj else 0)
    elif isinstance(obj, int):
        if not INT64_MIN <= obj <= INT64_MAX:
            raise DirtyProtocolError(f"integer out of int64 range: {obj}")
        out.append(TYPE_INT64)
        out += _I64.pack(obj)
    elif isinstance(obj, float):
        out.append(TYPE_FLOAT64)
        out += _F64.pack(obj)
    elif isinstance(obj, (bytes, bytearray, memoryview)):
        data = bytes(obj)
        if len(data) > MAX_BYTES_SIZE:
            raise DirtyProtocolError(f"bytes too long: {len(data)} > {MAX_BYTES_SIZE}")
        out.append(TYPE_BYTES)
        out += _U32.pack(len(data))
        out += data
    elif isinstance(obj, str):
        try:
            data = obj.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise DirtyProtocolError(f"string is not valid unicode: {exc}")
        if len(data) > MAX_STRING_SIZE:
            raise DirtyProtocolError(f"string too long: {len(data)} > {MAX_STRING_SIZE}")
        out.append(TYPE_STRING)
        out += _U32.pack(len(data))
        out += data
    elif isinstance(obj, (list, tuple)):
        if len(obj) > MAX_LIST_SIZE:
            raise DirtyProtocolError(f"list too long: {len(obj)} > {MAX_LIST_SIZE}")
        out.append(TYPE_LIST)
        out += _U32.pack(len(obj))
        for item in obj:
            _encode(item, out, depth + 1)
    elif isinstance(obj, dict):
        if len(obj) > MAX_DICT_SIZE:
            raise DirtyProtocolError(f"dict too large: {len(obj)} > {MAX_DICT_SIZE}")
        out.append(TYPE_DICT)
        out += _U32.pack(len(obj))
        for key, value in obj.items():
            _encode(key if isinstance(key, str) else str(key), out, depth + 1)
            _encode(value, out, depth + 1)
    else:
        raise DirtyProtocolError(f"cannot encode type {type(obj).__name__}")


def decode_value(data):
    """The value ``data`` holds; DirtyProtocolError if it is not exactly one TLV value."""
    view = memoryview(data)
    value, end = _decode(view, 0, 0)
    if end != len(view):
        raise DirtyProtocolError(
            f"{len(view) - end} trailing bytes after TLV value", raw_data=bytes(view[end:])
        )
    return value


def _need(view, pos, size):
    if pos + size > len(view):
        raise DirtyProtocolError(
            f"truncated TLV value: need {size} bytes at offset {pos}, have {len(view) - pos}"
        )


def _decode(view, pos, depth):
    if depth > MAX_DEPTH:
        raise DirtyProtocolError(f"value nests deeper than {MAX_DEPTH} levels")
    _need(view, pos, 1)
    tag = view[pos]
    pos += 1
    if tag == TYPE_NONE:
        return None, pos
    if tag == TYPE_BOOL:
        _need(view, pos, 1)
        flag = view[pos]
        if flag > 1:
            raise DirtyProtocolError(f"bool byte must be 0 or 1, got {flag}")
        return flag == 1, pos + 1
    if tag == TYPE_INT64:
        _need(view, pos, 8)
        return _I64.unpack_from(view, pos)[0], pos + 8
    if tag == TYPE_FLOAT64:
        _need(view, pos, 8)
        return _F64.unpack_from(view, pos)[0], pos + 8
    if tag == TYPE_BYTES or tag == TYPE_STRING:
        _need(view, pos, 4)
        size = _U32.unpack_from(view, pos)[0]
        pos += 4
        limit = MAX_BYTES_SIZE if tag == TYPE_BYTES else MAX_STRING_SIZE
        if size > limit:
            raise DirtyProtocolError(f"length {size} exceeds the limit {limit}")
        _need(view, pos, size)
        raw = bytes(view[pos : pos + size])
        if tag == TYPE_BYTES:
            return raw, pos + size
        try:
            return raw.decode("utf-8"), pos + size
        except UnicodeDecodeError as exc:
            raise DirtyProtocolError(f"string is not valid UTF-8: {exc}")
    if tag == TYPE_LIST:
        count, pos = _count(view, pos, MAX_LIST_SIZE, "list")
        items = []
        for _ in range(count):
            item, pos = _decode(view, pos, depth + 1)
            items.append(item)
        return items, pos
    if tag == TYPE_DICT:
        count, pos = _count(view, pos, MAX_DICT_SIZE, "dict")
        result = {}
        for _ in range(count):
            key, pos = _decode(view, pos, depth + 1)
            if isinstance(key, (list, dict)):
                raise DirtyProtocolError(f"dict key must be a scalar, got {type(key).__name__}")
            value, pos = _decode(view, pos, depth + 1)
            result[key] = value
        return result, pos
    raise DirtyProtocolError(f"unknown TLV type tag 0x{tag:02x}")


def _count(view, pos, limit, what):
    """The uint32 item count of a list or dict at ``pos``, checked against ``limit``."""
    _need(view, pos, 4)
    count = _U32.unpack_from(view, pos)[0]
    if count > limit:
        raise DirtyProtocolError(f"{what} count {count} exceeds the limit {limit}")
    return count, pos + 4
