"""The IMF-fixdate for Date headers (RFC 9110 section 5.6.7), formatted once per second."""

import time

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("", "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct",
           "Nov", "Dec")

_cached_second = None
_cached_text = ""


def format_date(second):
    t = time.gmtime(second)
    return "%s, %02d %s %04d %02d:%02d:%02d GMT" % (
        _DAYS[t.tm_wday], t.tm_mday, _MONTHS[t.tm_mon], t.tm_year,
        t.tm_hour, t.tm_min, t.tm_sec)


def http_date(timestamp=None):
    """Return e.g. "Sun, 06 Nov 1994 08:49:37 GMT" for ``timestamp`` (default: now)."""
    global _cached_second, _cached_text
    if timestamp is not None:
        return format_date(int(timestamp))
    second = int(time.time())
    if second != _cached_second:
        # Two threads may both format the same second: harmless.
        _cached_text = format_date(second)
        _cached_second = second
    return _cached_text


# (second, line): one tuple, so a thread never pairs one second with another's line.
_date_line = (None, b"")


def http_date_line():
    """b"Date: <IMF-fixdate>\\r\\n" for now, encoded once per second."""
    global _date_line
    second = int(time.time())
    cached = _date_line
    if cached[0] != second:
        cached = _date_line = (second, ("Date: %s\r\n" % (format_date(second),)).encode("latin-1"))
    return cached[1]
