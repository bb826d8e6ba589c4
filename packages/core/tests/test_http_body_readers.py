"""Body readers: gunicorn.http.body_readers and receive_buffer."""

import pytest
from corpus.inprocess import StubConfig

from gunicorn.http import errors
from gunicorn.http.body_readers import ChunkedReader, ContentLengthReader
from gunicorn.http.events import NEED_DATA, Data, EndOfMessage
from gunicorn.http.parser_options import ParserOptions
from gunicorn.http.receive_buffer import ReceiveBuffer


def buffer(data=b""):
    buf = ReceiveBuffer()
    buf.append(data)
    return buf


def drain(reader, buf, closed=False):
    out = []
    while True:
        event = reader(buf, closed)
        if event is NEED_DATA:
            return out, NEED_DATA
        out.append(event)
        if isinstance(event, EndOfMessage):
            return out, None


def test_receive_buffer_operations():
    buf = buffer(b"abc\r\n\r\nrest")
    assert len(buf) == 11 and buf and buf.startswith(b"abc")
    assert buf.find_head_end() == 3
    assert buf.extract_head(3) == b"abc" and bytes(buf) == b"rest"
    assert buf.extract(2) == b"re" and buf.extract(10) == b"st" and not buf
    buf.append(b"x\ny")
    assert buf.has_bare_lf() and not buf.has_bare_lf()
    assert buf.extract_all() == b"x\ny"


def test_head_end_search_resumes_across_appends():
    buf = buffer(b"GET / HTTP/1.1\r\n\r")
    assert buf.find_head_end() == -1
    buf.append(b"\n")
    assert buf.find_head_end() == 14


def test_content_length_reader():
    reader = ContentLengthReader(5)
    buf = buffer(b"he")
    assert reader(buf, False) == Data(b"he")
    assert reader(buf, False) is NEED_DATA
    buf.append(b"lloNEXT")
    assert reader(buf, False) == Data(b"llo")
    assert reader(buf, False) == EndOfMessage()
    assert bytes(buf) == b"NEXT"


def test_content_length_reader_eof():
    with pytest.raises(errors.NoMoreData):
        ContentLengthReader(3)(buffer(), True)


def chunked(settings=None):
    return ChunkedReader(ParserOptions(StubConfig(**(settings or {}))))


def test_chunked_reader_events():
    events, _ = drain(chunked(), buffer(b"3\r\nabc\r\n2;x=y\r\nde\r\n0\r\nA: 1\r\n\r\nNEXT"))
    assert events == [Data(b"abc"), Data(b"de"), EndOfMessage([("A", "1")])]


def test_chunked_reader_incremental():
    reader, buf = chunked(), buffer()
    got = []
    for byte in b"3\r\nabc\r\n0\r\n\r\n":
        buf.append(bytes([byte]))
        events, _ = drain(reader, buf)
        got.extend(events)
    assert b"".join(e.data for e in got if isinstance(e, Data)) == b"abc"
    assert got[-1] == EndOfMessage()


def test_chunked_reader_done_repeats_end():
    reader, buf = chunked(), buffer(b"0\r\n\r\n")
    assert reader(buf, False) == EndOfMessage()
    assert reader(buf, False) == EndOfMessage()


@pytest.mark.parametrize("data, error", [
    (b"g\r\n", errors.InvalidChunkSize),
    (b"1" * 17 + b"\r\n", errors.InvalidChunkSize),
    (b"3;\r\n", errors.InvalidChunkExtension),
    (b"3\r\nabcd", errors.ChunkMissingTerminator),
    (b"3\r\nabc\n", errors.ChunkMissingTerminator),
    (b"0\r\nHost: x\r\n\r\n", errors.InvalidHeaderName),
    (b"0\r\nX: 1\nY", errors.InvalidHeader),
])
def test_chunked_reader_errors(data, error):
    with pytest.raises(error):
        drain(chunked(), buffer(data))


def test_chunk_size_line_limit_without_terminator():
    with pytest.raises(errors.InvalidChunkSize):
        drain(chunked({"limit_request_field_size": 20}), buffer(b"5;" + b"a" * 30))


def test_trailer_section_limit_without_terminator():
    reader = chunked({"limit_request_fields": 1, "limit_request_field_size": 10,
                      "limit_request_line": 10})
    with pytest.raises(errors.LimitRequestHeaders):
        drain(reader, buffer(b"0\r\n" + b"X: 1\r\n" * 20))


@pytest.mark.parametrize("data", [b"", b"3\r\nab", b"3\r\nabc\r\n", b"3\r\nabc\r\n0"])
def test_chunked_reader_eof_is_no_more_data(data):
    with pytest.raises(errors.NoMoreData):
        drain(chunked(), buffer(data), closed=True)


@pytest.mark.parametrize("data", [b"3\r\nabc", b"3\r\nabc\r", b"0\r\n", b"0\r\n\r",
                                  b"0\r\nX: 1\r\n"])
def test_chunked_reader_eof_where_a_crlf_belongs_is_a_missing_terminator(data):
    # Upstream answers these with a 400 (ChunkMissingTerminator), not silence.
    with pytest.raises(errors.ChunkMissingTerminator):
        drain(chunked(), buffer(data), closed=True)
