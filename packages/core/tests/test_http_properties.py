"""Property tests (hypothesis): byte splits never change the parse; any input is either parsed or refused with a ParseError."""

import os

from corpus import CASES
from corpus.inprocess import run
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gunicorn.http.events import ConnectionClosed, Data, EndOfMessage

# HYPOTHESIS_LONG=1 raises the example counts for a long run (used instead of,
# or after, the atheris fuzzer).
LONG = bool(os.environ.get("HYPOTHESIS_LONG"))
FAST = settings(max_examples=2000 if LONG else 150, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
SLOW = settings(max_examples=20000 if LONG else 300, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

TCHARS = "!#$%&'*+-.^`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
token = st.text(alphabet=TCHARS, min_size=1, max_size=12)
field_value = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF,
                                             blacklist_characters="\x7f"), max_size=30)
path = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-._~%/=&?#", max_size=30)
methods = st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "PROPFIND"])
RESERVED = {"CONTENT-LENGTH", "TRANSFER-ENCODING", "CONNECTION", "EXPECT", "HOST",
            "CONTENT-TYPE", "X-FORWARDED-PROTO", "X-FORWARDED-PROTOCOL", "X-FORWARDED-SSL"}


@st.composite
def requests(draw):
    fields = [(n, v.strip(" \t")) for n, v in draw(st.lists(st.tuples(token, field_value),
                                                             max_size=6))
              if n.upper() not in RESERVED]
    body = draw(st.binary(max_size=80))
    framing = draw(st.sampled_from(["none", "length", "chunked"]))
    if framing == "none":
        body = b""
    lines = ["%s /%s HTTP/1.1" % (draw(methods), draw(path)), "Host: example.com"]
    lines += ["%s: %s" % f for f in fields]
    wire_body = body
    trailers = []
    if framing == "length":
        lines.append("Content-Length: %d" % len(body))
    elif framing == "chunked":
        lines.append("Transfer-Encoding: chunked")
        cuts = sorted(draw(st.lists(st.integers(0, len(body)), max_size=4)))
        pieces = [body[a:b] for a, b in zip([0] + cuts, cuts + [len(body)], strict=True)]
        ext = draw(st.sampled_from([b"", b";a=b", b';q="x y"', b" ;n"]))
        wire_body = b"".join(b"%x%s\r\n%s\r\n" % (len(p), ext, p) for p in pieces if p)
        trailers = [(n.upper(), v) for n, v in draw(
            st.lists(st.tuples(token.filter(lambda n: n.upper() not in RESERVED
                                            and n.upper() not in ("TRAILER", "TE",
                                                                  "AUTHORIZATION")),
                               field_value.map(lambda v: v.strip(" \t"))), max_size=2))]
        wire_body += b"0\r\n" + b"".join(b"%s: %s\r\n" % (n.encode(), v.encode("latin-1"))
                                         for n, v in trailers) + b"\r\n"
    raw = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + wire_body
    framing_field = {"length": [("CONTENT-LENGTH", str(len(body)))],
                     "chunked": [("TRANSFER-ENCODING", "chunked")]}.get(framing, [])
    expected = {"headers": [("HOST", "example.com")] + [(n.upper(), v) for n, v in fields]
                + framing_field,
                "body": body, "trailers": trailers}
    return raw, expected


def normalise(events):
    """Merge adjacent Data events: only their concatenation is meaningful."""
    out = []
    for event in events:
        if isinstance(event, Data) and out and isinstance(out[-1], Data):
            out[-1] = Data(out[-1].data + event.data)
        elif isinstance(event, Data):
            out.append(Data(bytes(event.data)))
        elif isinstance(event, EndOfMessage):
            out.append(("EOM", tuple(event.trailers)))
        elif isinstance(event, ConnectionClosed):
            out.append(("CLOSED",))
        else:
            out.append(("REQ", event.method, event.uri, tuple(event.headers)))
    return out


def split(data, cuts):
    cuts = sorted({c % (len(data) + 1) for c in cuts})
    pieces = [data[a:b] for a, b in zip([0] + cuts, cuts + [len(data)], strict=True)]
    return [p for p in pieces if p]  # b"" would mean the peer closed


@FAST
@given(st.lists(requests(), min_size=1, max_size=4), st.lists(st.integers(0, 10**6),
                                                             max_size=30))
def test_any_split_of_valid_pipeline_parses_the_same(reqs, cuts):
    raw = b"".join(r for r, _ in reqs)
    whole = run(raw)
    assert whole.error is None and whole.status == 200
    assert len(whole.requests) == len(reqs)
    for got, (_, want) in zip(whole.requests, reqs, strict=True):
        assert got["headers"] == want["headers"]
        assert got["body"] == want["body"]
        assert got["trailers"] == want["trailers"]
    pieces = run(raw, chunks=split(raw, cuts))
    assert normalise(pieces.events) == normalise(whole.events)


@FAST
@given(st.sampled_from(CASES), st.lists(st.integers(0, 10**6), max_size=20))
def test_any_split_of_a_corpus_case_has_the_same_outcome(case, cuts):
    whole = run(case.raw, case.settings)
    pieces = run(case.raw, case.settings, split(case.raw, cuts))
    assert (pieces.status, pieces.error) == (whole.status, whole.error)
    assert normalise(pieces.events) == normalise(whole.events)


SETTINGS = st.fixed_dictionaries({}, optional={
    "permit_obsolete_folding": st.booleans(),
    "strip_header_spaces": st.booleans(),
    "permit_unconventional_http_method": st.booleans(),
    "permit_unconventional_http_version": st.booleans(),
    "casefold_http_method": st.booleans(),
    "header_map": st.sampled_from(["drop", "refuse", "dangerous"]),
    "limit_request_line": st.sampled_from([0, 20, 4094]),
    "limit_request_fields": st.sampled_from([1, 3, 100]),
    "limit_request_field_size": st.sampled_from([0, 16, 8190]),
    "proxy_protocol": st.sampled_from(["off", "v1", "v2", "auto"]),
})


@SLOW
@given(st.binary(max_size=400), st.lists(st.integers(0, 10**6), max_size=10), SETTINGS)
def test_random_bytes_only_raise_parse_errors(data, cuts, options):
    run(data, options, split(data, cuts))  # any other exception fails the test


ALPHABET = [b"\r\n", b"\r", b"\n", b" ", b"\t", b":", b";", b",", b"0", b"5", b"a", b"\x00",
            b"GET", b"POST", b"HTTP/1.1", b"HTTP/1.0", b"/", b"Host: a", b"chunked",
            b"Transfer-Encoding", b"Content-Length", b"Connection: close", b"\r\n\r\n",
            b"Expect: 100-continue", b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2", b"\xff", b"_",
            b"\r\n\r\n\x00\r\nQUIT\n"]


@SLOW
@given(st.lists(st.sampled_from(ALPHABET), max_size=60),
       st.lists(st.integers(0, 10**6), max_size=10), SETTINGS)
def test_http_shaped_noise_only_raises_parse_errors(parts, cuts, options):
    data = b"".join(parts)
    run(data, options, split(data, cuts))


@SLOW
@given(st.sampled_from(CASES), st.lists(st.tuples(st.integers(0, 10**6), st.binary(max_size=3)),
                                        min_size=1, max_size=4))
def test_mutated_corpus_cases_only_raise_parse_errors(case, edits):
    data = bytearray(case.raw)
    for position, replacement in edits:
        position %= len(data) + 1
        data[position:position + len(replacement)] = replacement
    run(bytes(data), case.settings)
