"""Helpers to write corpus cases compactly."""


def head(*lines):
    """Join request-line and field lines with CRLF and end the head."""
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def get(target="/", *fields, version="HTTP/1.1", host=True):
    lines = ["GET %s %s" % (target, version)]
    if host:
        lines.append("Host: example.com")
    lines.extend(fields)
    return head(*lines)


def case(name, raw, status, *requests, settings=None, error=None):
    spec = {"name": name, "raw": raw, "expect_status": status, "expect": tuple(requests)}
    if settings:
        spec["settings"] = settings
    if error:
        spec["error"] = error
    return spec


def ok(name, raw, *requests, settings=None):
    return case(name, raw, 200, *requests, settings=settings)


def bad(name, raw, status, error, *requests, settings=None):
    return case(name, raw, status, *requests, settings=settings, error=error)
