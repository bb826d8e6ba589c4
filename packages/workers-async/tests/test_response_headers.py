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


def test_a_repeated_header_set_is_answered_from_cache_and_stays_intact():
    headers = [(b"content-type", b"text/plain"), (b"content-length", b"7")]
    first = checked_headers(headers)
    again = checked_headers(list(headers))
    assert again == first == ([("content-type", "text/plain"), ("content-length", "7")], True)
    copy = header_pairs(headers)
    copy.append(("x-added", "1"))
    assert checked_headers(headers)[0] == [("content-type", "text/plain"),
                                           ("content-length", "7")]


def test_a_header_set_with_a_refused_pair_is_refused_every_time():
    bad = [(b"x-ok", b"1"), (b"x-evil", b"a\r\nb")]
    for _ in range(2):
        with pytest.raises(RuntimeError):
            checked_headers(bad)


def test_headers_from_a_generator_are_read_once():
    def gen():
        yield (b"x-gen", b"1")
        yield (b"content-length", b"2")
    assert checked_headers(gen()) == ([("x-gen", "1"), ("content-length", "2")], True)
    assert checked_headers(gen()) == ([("x-gen", "1"), ("content-length", "2")], True)
