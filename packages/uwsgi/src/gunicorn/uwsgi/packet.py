"""Sans-I/O reader for one uwsgi packet: the 4-byte header and the vars block."""

from __future__ import annotations

import struct
from typing import NamedTuple

from gunicorn.uwsgi.errors import InvalidUWSGIHeader, UnsupportedModifier

HEADER_SIZE = 4
# modifier1 0 is a WSGI/HTTP request; nginx uwsgi_pass sends it unless uwsgi_modifier1 says otherwise.
WSGI_MODIFIER = 0
# modifier1 30 is uWSGI's "manage PATH_INFO" WSGI request (`uwsgi_modifier1 30;`, the
# old way to mount an app under `uwsgi_param SCRIPT_NAME`): SCRIPT_NAME is cut from
# PATH_INFO, which this package does for every request, so it is served the same.
MANAGE_PATH_INFO_MODIFIER = 30
_WSGI_MODIFIERS = frozenset({WSGI_MODIFIER, MANAGE_PATH_INFO_MODIFIER})
# datasize is a uint16, so a vars block can never be larger than this.
MAX_DATASIZE = 0xFFFF
MAX_VARS = 1000

# Var names already found valid (bounded, so a peer sending odd names cannot grow it).
_KNOWN_NAMES: set[str] = set()
_KNOWN_NAMES_LIMIT = 1024

_HEADER = struct.Struct("<BHB")
_LENGTH = struct.Struct("<H")


class PacketHeader(NamedTuple):
    modifier1: int
    datasize: int
    modifier2: int

    @property
    def packet_size(self) -> int:
        return HEADER_SIZE + self.datasize


class Packet(NamedTuple):
    header: PacketHeader
    vars: list[tuple[str, str]]


def parse_header(data: bytes | bytearray | memoryview,
                 max_datasize: int = MAX_DATASIZE) -> PacketHeader:
    """Read and check the 4-byte header at the start of ``data``."""
    packet_size(data, max_datasize)
    return PacketHeader(*_HEADER.unpack_from(data, 0))


def packet_size(data: bytes | bytearray | memoryview, max_datasize: int = MAX_DATASIZE) -> int:
    """Header plus vars size of the packet whose checked header starts ``data``."""
    if len(data) < HEADER_SIZE:
        raise InvalidUWSGIHeader(f"truncated header: {len(data)} of {HEADER_SIZE} bytes")
    modifier1, datasize, _modifier2 = _HEADER.unpack_from(data, 0)
    if modifier1 not in _WSGI_MODIFIERS:
        raise UnsupportedModifier(modifier1)
    if datasize > max_datasize:
        raise InvalidUWSGIHeader(f"vars block of {datasize} bytes is over the limit of {max_datasize}")
    return HEADER_SIZE + datasize


def parse_vars_dict(block: bytes, max_vars: int = MAX_VARS) -> dict[str, str] | None:
    """The vars block as a dict, or None when a name repeats (``parse_vars`` keeps repeats).

    Values are latin-1, as PEP 3333 wants for environ strings; every length must
    fit inside the block. nginx never repeats a name unless the client repeated
    a header, so this is the walk nearly every request takes.
    """
    # latin-1 maps each byte to one character, so byte offsets index the text too:
    # one C-level decode instead of one per string.
    text = block.decode("latin-1")
    size = len(block)
    pos = 0
    count = 0
    env: dict[str, str] = {}
    known = _KNOWN_NAMES
    # The walk checks nothing itself: a length pointing past the end makes an index
    # raise or leaves ``pos`` beyond ``size``, and then _explain() walks again to
    # say exactly what is wrong. Each pair takes at least 4 bytes, so the work is
    # bounded by the block whatever the count.
    try:
        while pos < size:
            start = pos + 2
            end = start + (block[pos] | block[pos + 1] << 8)
            value_start = end + 2
            pos = value_start + (block[end] | block[end + 1] << 8)
            name = text[start:end]
            if name not in known:
                _check_name(name)
            env[name] = text[value_start:pos]
            count += 1
    except IndexError:
        pos = size + 1
    if pos > size or count > max_vars:
        _explain(block, max_vars)
    return env if len(env) == count else None


def parse_vars(block: bytes | bytearray | memoryview,
               max_vars: int = MAX_VARS) -> list[tuple[str, str]]:
    """Decode a vars block into ``(name, value)`` pairs, in order, repeats kept.

    Same checks and errors as ``parse_vars_dict``, which does the checking.
    """
    block = bytes(block)
    env = parse_vars_dict(block, max_vars)
    if env is not None:
        return list(env.items())
    # A name repeats; the block is valid, parse_vars_dict said so.
    text = block.decode("latin-1")
    return [(text[start:end], text[value_start:stop])
            for start, end, value_start, stop in _spans(block, max_vars)]


def _spans(block: bytes, max_vars: int):
    """Offsets ``(name start, name end, value start, value end)`` of each var, checked."""
    size = len(block)
    pos = 0
    count = 0
    while pos < size:
        if count >= max_vars:
            raise InvalidUWSGIHeader(f"more than {max_vars} vars")
        if pos + 2 > size:
            raise InvalidUWSGIHeader(f"truncated key length at offset {pos}")
        start = pos + 2
        end = start + (block[pos] | block[pos + 1] << 8)
        if end > size:
            raise _overrun("key", end - start, size - start)
        if end + 2 > size:
            raise InvalidUWSGIHeader(f"truncated value length at offset {end}")
        value_start = end + 2
        pos = value_start + (block[end] | block[end + 1] << 8)
        if pos > size:
            raise _overrun("value", pos - value_start, size - value_start)
        count += 1
        yield start, end, value_start, pos


def _explain(block: bytes, max_vars: int) -> None:
    """Raise the error that names what is wrong with a block the fast walk refused."""
    for _ in _spans(block, max_vars):
        pass
    raise AssertionError("_explain() called on a valid block")


def _overrun(what: str, declared: int, left: int) -> InvalidUWSGIHeader:
    return InvalidUWSGIHeader(
        f"truncated {what}: {declared} bytes declared, {left} left in the block")


def _check_name(name: str) -> None:
    """Var names are CGI-style environ keys: non-empty printable ASCII without spaces."""
    if not (name and name.isascii() and name.isprintable() and " " not in name):
        raise InvalidUWSGIHeader(f"invalid var name {name.encode('latin-1')!r}")
    # nginx sends the same few dozen names on every request: each is checked once.
    if len(_KNOWN_NAMES) < _KNOWN_NAMES_LIMIT:
        _KNOWN_NAMES.add(name)


def read_packet(buffer: bytearray, max_datasize: int = MAX_DATASIZE,
                max_vars: int = MAX_VARS) -> Packet | None:
    """Take one whole packet off the front of ``buffer``, or return None if more bytes are needed.

    The header is checked as soon as its 4 bytes are in, so a bad modifier or an
    oversized block is refused before its vars arrive.
    """
    if len(buffer) < HEADER_SIZE:
        return None
    header = parse_header(buffer, max_datasize)
    packet_size = HEADER_SIZE + header.datasize
    if len(buffer) < packet_size:
        return None
    pairs = parse_vars(buffer[HEADER_SIZE:packet_size], max_vars)
    del buffer[:packet_size]
    return Packet(header, pairs)


def encode_packet(pairs, modifier1: int = WSGI_MODIFIER, modifier2: int = 0) -> bytes:
    """Build a packet from ``(name, value)`` pairs (str as latin-1, or bytes), as nginx would."""
    parts = []
    for key, value in pairs:
        for item in (key, value):
            raw = item.encode("latin-1") if isinstance(item, str) else bytes(item)
            if len(raw) > MAX_DATASIZE:
                raise ValueError(f"a var of {len(raw)} bytes does not fit a uint16 length")
            parts.append(_LENGTH.pack(len(raw)))
            parts.append(raw)
    block = b"".join(parts)
    if len(block) > MAX_DATASIZE:
        raise ValueError(f"vars block of {len(block)} bytes does not fit a uint16 datasize")
    return _HEADER.pack(modifier1, len(block), modifier2) + block
