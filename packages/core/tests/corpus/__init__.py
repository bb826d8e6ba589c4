"""Raw HTTP/1.x request corpus with expected outcomes, for in-process and over-socket runs.

Each ``Case`` holds the exact bytes a client sends on one connection
(``raw``), then the client half-closes.  ``settings`` are gunicorn settings
(names as in settings.tsv) the server runs with; the client's peer address
is 127.0.0.1.

``expect_status`` is the status of the last response the server writes:
200 when every request is valid (the test app answers 200), the error
status when the parser refuses the input, or None when the input ends in
the middle of a message and the server closes without answering.
``expect`` lists, in order, the requests that reach the application: dicts
of Request attributes to check (``body`` is the full body bytes,
``headers`` the complete header list, ``has_headers`` a subset).
``error`` is the ParseError subclass name the in-process run must see.

Cases whose ``needs_keepalive`` is true put more than one request on the
connection: run them against a worker that keeps connections alive
(gthread, async workers).  The sync worker closes after each response, so
there only the first request is answered.
"""

from dataclasses import dataclass, field

from . import cases_framing, cases_headers, cases_proxy, cases_request_line


@dataclass(frozen=True)
class Case:
    name: str
    raw: bytes
    expect_status: object  # int or None
    expect: tuple = ()
    settings: dict = field(default_factory=dict)
    error: str = None

    @property
    def needs_keepalive(self):
        """More than one request must be served on this connection."""
        return len(self.expect) > 1 or (len(self.expect) == 1 and self.expect_status != 200)


CASES = []
for _module in (cases_request_line, cases_headers, cases_framing, cases_proxy):
    for _spec in _module.SPECS:
        CASES.append(Case(**_spec))

_names = [c.name for c in CASES]
assert len(_names) == len(set(_names)), "duplicate corpus case names"
