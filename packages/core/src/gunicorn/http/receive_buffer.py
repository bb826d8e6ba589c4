"""Bytes received but not yet parsed, with resumable searches for line and head ends."""

from gunicorn.http.abnf import BARE_LF_RE


class ReceiveBuffer:
    """A bytearray consumed from the front; searches resume where they stopped."""

    __slots__ = ("_data", "_searched", "_lf_checked")

    def __init__(self):
        self._data = bytearray()
        # How far a failed search for the end of a head already looked.
        self._searched = 0
        # How far new bytes were already checked for a bare LF.
        self._lf_checked = 0

    def __len__(self):
        return len(self._data)

    def __bool__(self):
        return bool(self._data)

    def __bytes__(self):
        return bytes(self._data)

    def append(self, data):
        self._data += data

    def peek(self, size):
        return bytes(self._data[:size])

    def startswith(self, prefix):
        return self._data.startswith(prefix)

    def discard(self, size):
        del self._data[:size]
        self._searched = self._lf_checked = 0

    def extract(self, size):
        """Remove and return up to ``size`` bytes."""
        data = self._data
        if size >= len(data):
            out = bytes(data)
            data.clear()
        else:
            out = bytes(data[:size])
            del data[:size]
        self._searched = self._lf_checked = 0
        return out

    def extract_all(self):
        out = bytes(self._data)
        self._data.clear()
        self._searched = self._lf_checked = 0
        return out

    def find(self, sub, start=0, end=None):
        return self._data.find(sub, start, len(self._data) if end is None else end)

    def find_head_end(self):
        """Index of the CRLF CRLF ending a head, or -1 (later calls skip searched bytes)."""
        data = self._data
        index = data.find(b"\r\n\r\n", self._searched)
        if index < 0:
            self._searched = max(0, len(data) - 3)
        return index

    def has_bare_lf(self):
        """Whether a LF not preceded by CR arrived since the last call (or a discard)."""
        start = max(0, self._lf_checked - 1)
        self._lf_checked = len(self._data)
        return BARE_LF_RE.search(self._data, start) is not None

    def extract_head(self, index):
        """Remove the head ending at ``index`` plus its CRLF CRLF; return the head bytes."""
        data = self._data
        head = bytes(data[:index])
        del data[:index + 4]
        self._searched = self._lf_checked = 0
        return head
