"""Response headers from ASGI messages: checked once, cached, refused when unsafe."""

import pytest

from gunicorn.asgi.http_cycle import checked_headers, header_pairs


def test_pairs_decoded_and_framing_seen():
    pairs, framed = checked_headers([(b"content-type", b"text/plain"),
                                     (b"Content-Length", b"5")])
    assert pairs == [("content-type", "text/plain"), ("Content-Length", "5")]
    assert framed
    assert checked_headers([(b"x-a", b"1")]) == ([("x-a", "1")], False)


def test_cached_answer_is_the_same():
    headers = [(b"x-cached", b"v"), (b"transfer-encoding", b"chunked")]
    assert checked_headers(headers) == checked_headers(list(headers))


def test_unhashable_items_still_work():
    pairs, framed = checked_headers([[b"x-list", b"1"], (bytearray(b"x-ba"), b"2"),
                                     (b"x-mv", memoryview(b"3"))])
    assert pairs == [("x-list", "1"), ("x-ba", "2"), ("x-mv", "3")] and not framed


@pytest.mark.parametrize("name, value", [
    (b"x-evil", b"a\r\nInjected: 1"),
    (b"x-nul", b"a\x00b"),
    (b"bad name", b"v"),
    (b"x:colon", b"v"),
    (b"", b"v"),
])
def test_unsafe_headers_refused_even_after_a_good_one(name, value):
    header_pairs([(b"x-good", b"v")])
    with pytest.raises(RuntimeError):
        header_pairs([(b"x-good", b"v"), (name, value)])
    # Never cached: refused again.
    with pytest.raises(RuntimeError):
        header_pairs([(name, value)])
