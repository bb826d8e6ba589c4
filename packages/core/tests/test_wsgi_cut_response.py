"""A response the app abandons after its head must look broken to the client (RFC 9112 section 8)."""


from gunicorn_testsupport import raw_exchange
from test_sync_worker import Running


def stream_then_fail(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])

    def body():
        yield b"first part\n"
        raise RuntimeError("the app failed mid-body")

    return body()


def test_close_delimited_response_cut_by_the_app_ends_in_a_reset():
    # HTTP/1.0 without Content-Length: the body ends where the connection does,
    # so a plain close would tell the client the partial body is all there is.
    with Running(stream_then_fail) as r:
        data, ending = raw_exchange(r.port(), b"GET / HTTP/1.0\r\n\r\n")
    assert ending == "reset", data


def test_chunked_response_cut_by_the_app_ends_in_a_plain_close():
    # Chunked framing shows the cut itself (no last chunk): no reset needed.
    with Running(stream_then_fail) as r:
        data, ending = raw_exchange(r.port(), b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
    assert ending == "eof"
    assert data.startswith(b"HTTP/1.1 200 OK\r\n") and b"first part" in data
    assert not data.endswith(b"0\r\n\r\n")
