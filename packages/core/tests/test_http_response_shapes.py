"""frame_response reuses the layout of a response it saw before, and nothing else."""

import re

import pytest

from gunicorn.http import dates
from gunicorn.http.errors import InvalidResponseHeader
from gunicorn.http.response_head import frame_response

DATE_RE = re.compile(rb"Date: [A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT\r\n")


def frame(headers, status=200, method="GET", version=(1, 1), keep_alive=True, **kw):
    return frame_response(status, "", headers, method, version, keep_alive, **kw)


def test_a_repeated_response_gets_the_same_head_and_a_fresh_writer():
    headers = [("Content-Type", "text/plain"), ("Content-Length", "5")]
    head1, writer1, keep1 = frame(headers)
    head2, writer2, keep2 = frame(list(headers))
    assert head1 == head2 and keep1 and keep2
    assert writer1 is not writer2
    writer1.data(b"12345")
    assert writer1.complete and writer2.remaining == 5


def test_the_date_is_current_on_a_reused_layout(monkeypatch):
    headers = [("X-Shape", "date")]
    first, _, _ = frame(headers)
    monkeypatch.setattr(dates.time, "time", lambda: 784111777.0)
    later, _, _ = frame(headers)
    assert b"Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n" in later
    assert DATE_RE.sub(b"", first) == DATE_RE.sub(b"", later)


def test_every_argument_is_part_of_the_layout():
    headers = [("X-Shape", "args")]
    base = frame(headers)[0]
    assert frame(headers, status=404)[0].startswith(b"HTTP/1.1 404 ")
    assert b"Connection: close" in frame(headers, keep_alive=False)[0]
    assert frame(headers, version=(1, 0))[0].startswith(b"HTTP/1.0 200 ")
    assert b"Transfer-Encoding" not in frame(headers, method="HEAD")[0]
    assert frame(headers, allow_chunked=False)[1].framing == "close"
    assert b"Server: other\r\n" in frame(headers, server="other")[0]
    assert b"Transfer-Encoding: chunked" in base


def test_headers_checked_by_the_caller_do_not_skip_checks_for_others():
    bad = [("X-A", "a\r\nInjected: 1")]
    frame(bad, checked=True)  # the caller vouched for them: not checked again
    with pytest.raises(InvalidResponseHeader):
        frame(bad)
    with pytest.raises(InvalidResponseHeader):
        frame(bad)


def test_refused_headers_are_refused_every_time():
    for _ in range(2):
        with pytest.raises(InvalidResponseHeader):
            frame([("Content-Length", "1"), ("Content-Length", "2")])
        with pytest.raises(InvalidResponseHeader):
            frame([("X-A", "\u20ac")])


def test_unhashable_header_pairs_still_work():
    head, writer, _ = frame([["Content-Length", "2"], ["X-List", "yes"]])
    assert b"X-List: yes\r\n" in head and writer.framing == "content-length"


def test_an_app_date_is_kept():
    head, _, _ = frame([("Date", "yesterday")])
    assert head.count(b"Date:") == 1 and b"Date: yesterday\r\n" in head
