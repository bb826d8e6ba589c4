"""Readers for request bodies framed by Content-Length or chunked coding (RFC 9112 sections 6-7)."""

from gunicorn.http.abnf import CHUNK_EXT_RE, CHUNK_SIZE_RE
from gunicorn.http.errors import (
    ChunkMissingTerminator,
    InvalidChunkExtension,
    InvalidChunkSize,
    InvalidHeader,
    LimitRequestHeaders,
    NoMoreData,
)
from gunicorn.http.events import NEED_DATA, Data, EndOfMessage
from gunicorn.http.field_lines import check_controls, parse_trailer_lines


class ContentLengthReader:
    """Exactly ``length`` bytes, then EndOfMessage."""

    __slots__ = ("remaining",)

    def __init__(self, length):
        self.remaining = length

    def __call__(self, buf, closed):
        remaining = self.remaining
        if remaining == 0:
            return EndOfMessage()
        if not buf:
            if closed:
                raise NoMoreData()
            return NEED_DATA
        data = buf.extract(remaining)
        self.remaining = remaining - len(data)
        return Data(data)


# Chunked reader states.
_SIZE, _DATA, _DATA_END, _TRAILERS, _DONE = range(5)


class ChunkedReader:
    """chunk-size [ext] CRLF data CRLF ... 0 CRLF trailers CRLF."""

    __slots__ = ("opts", "state", "remaining", "trailers")

    def __init__(self, opts):
        self.opts = opts
        self.state = _SIZE
        self.remaining = 0
        self.trailers = []

    def __call__(self, buf, closed):
        while True:
            state = self.state
            if state == _DATA:
                if not buf:
                    break
                data = buf.extract(self.remaining)
                self.remaining -= len(data)
                if self.remaining == 0:
                    self.state = _DATA_END
                return Data(data)
            if state == _SIZE:
                if not self._read_size_line(buf):
                    break
            elif state == _DATA_END:
                if len(buf) < 2:
                    if buf and not buf.startswith(b"\r"):
                        raise ChunkMissingTerminator(buf.peek(2))
                    break
                if not buf.startswith(b"\r\n"):
                    raise ChunkMissingTerminator(buf.peek(2))
                buf.discard(2)
                self.state = _SIZE
            elif state == _TRAILERS:
                if not self._read_trailers(buf):
                    break
                self.state = _DONE
                return EndOfMessage(self.trailers)
            else:
                return EndOfMessage(self.trailers)
        if closed:
            if self.state == _DATA_END or self.state == _TRAILERS:
                # A chunk's data, or the last chunk, came but not the CRLF
                # that ends it (RFC 9112 section 7.1): a 400, as upstream answers.
                raise ChunkMissingTerminator(buf.peek(2))
            raise NoMoreData()
        return NEED_DATA

    def _read_size_line(self, buf):
        end = buf.find(b"\r\n")
        limit = self.opts.max_chunk_line
        if end < 0:
            if len(buf) > limit:
                raise InvalidChunkSize(b"line over %d bytes with no terminator" % limit)
            if buf.find(b"\n") >= 0:
                raise InvalidChunkSize(b"bare LF in chunk-size line")
            return False
        if end > limit:
            raise InvalidChunkSize(b"line over %d bytes" % limit)
        line = buf.extract(end + 2)[:-2]
        size, semicolon, ext = line.partition(b";")
        if semicolon:
            # RFC 9112 section 7.1.1: BWS is allowed before the ";" only.
            size = size.rstrip(b" \t")
        match = CHUNK_SIZE_RE.fullmatch(size)
        if match is None:
            raise InvalidChunkSize(size)
        if semicolon and CHUNK_EXT_RE.fullmatch(b";" + ext) is None:
            raise InvalidChunkExtension("invalid chunk extension")
        self.remaining = int(match.group(1), 16)
        self.state = _DATA if self.remaining else _TRAILERS
        return True

    def _read_trailers(self, buf):
        if buf.startswith(b"\r\n"):
            buf.discard(2)
            return True
        end = buf.find_head_end()
        if end < 0:
            if len(buf) > self.opts.max_head_size:
                raise LimitRequestHeaders("limit request trailer section size")
            if buf.has_bare_lf() or (len(buf) >= 2 and buf.peek(1) == b"\r"
                                     and not buf.startswith(b"\r\n")):
                raise InvalidHeader("bare CR or LF in trailer section")
            return False
        if end > self.opts.max_head_size:
            raise LimitRequestHeaders("limit request trailer section size")
        raw = buf.extract_head(end)
        check_controls(raw, first_line_is_request=False)
        self.trailers = parse_trailer_lines(raw.decode("latin-1"), self.opts)
        return True
