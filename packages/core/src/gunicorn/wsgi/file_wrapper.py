"""``wsgi.file_wrapper``: serve a file-like object, with ``sendfile`` when possible."""

import io
import os
import stat


class FileWrapper:
    """Iterate ``filelike`` in blocks of ``blksize`` bytes (PEP 3333 file_wrapper).

    The response writer recognises this class and, when the socket and framing
    allow it, hands the file's descriptor to the kernel instead of iterating.
    """

    def __init__(self, filelike, blksize=8192):
        self.filelike = filelike
        self.blksize = blksize
        if hasattr(filelike, "close"):
            self.close = filelike.close

    def __getitem__(self, key):
        # The old (pre-iterator) sequence protocol some WSGI code still uses.
        data = self.filelike.read(self.blksize)
        if data:
            return data
        raise IndexError

    def __iter__(self):
        return self

    def __next__(self):
        data = self.filelike.read(self.blksize)
        if data:
            return data
        raise StopIteration

    def sendfile_span(self):
        """``(fileno, offset, size)`` when the kernel can send it, else None.

        Only regular files qualify: pipes and sockets have no size to frame by.
        """
        try:
            fileno = self.filelike.fileno()
        except (AttributeError, OSError, io.UnsupportedOperation):
            return None
        try:
            st = os.fstat(fileno)
            offset = self.filelike.tell()
        except (OSError, AttributeError, io.UnsupportedOperation):
            return None
        if not stat.S_ISREG(st.st_mode):
            return None
        return fileno, offset, max(st.st_size - offset, 0)
