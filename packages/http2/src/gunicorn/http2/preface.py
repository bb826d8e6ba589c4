"""The HTTP/2 connection preface (RFC 9113 section 3.4) and the prior-knowledge test on first bytes."""

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
# "PRI" already tells the preface from every HTTP/1 method a client may send
# (RFC 9113 section 3.4 reserves the PRI method for exactly this).
_DECISIVE = 3


def starts_with_preface(data):
    """Whether the first bytes of a connection open an HTTP/2 prior-knowledge preface.

    A few bytes are enough: ``data`` may be a short first read of the preface.
    """
    if len(data) < _DECISIVE:
        return False
    n = min(len(data), len(PREFACE))
    return data[:n] == PREFACE[:n]
