"""Conversions between the bytes on the wire and the str the WSGI environ holds."""


def to_bytestring(value, encoding="utf8"):
    """Encode ``value`` if it is a str; bytes pass through; anything else is a TypeError."""
    if isinstance(value, bytes):
        return value
    if not isinstance(value, str):
        raise TypeError("%r is not a string" % (value,))
    return value.encode(encoding)


def bytes_to_str(value):
    """Decode wire bytes as latin-1 (PEP 3333 native strings); str passes through."""
    if isinstance(value, str):
        return value
    return str(value, "latin-1")
