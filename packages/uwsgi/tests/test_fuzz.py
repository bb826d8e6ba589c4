"""Property tests: any split of a valid stream parses the same; any bytes parse or raise our error."""

import pytest
from conftest import make_proto
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gunicorn.http.errors import ParseError
from gunicorn.http.events import (
    NEED_DATA,
    PAUSED,
    ConnectionClosed,
    Data,
    EndOfMessage,
    Request,
    Response,
)
from gunicorn.uwsgi.packet import encode_packet, parse_vars, parse_vars_dict
from gunicorn.uwsgi.request_vars import environ_parts, request_parts

NAME = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=20)
VALUE = st.binary(max_size=40).map(lambda raw: raw.decode("latin-1"))
HEADER_VALUE = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF), max_size=30)

settings.register_profile("uwsgi", deadline=None, max_examples=150,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("uwsgi")


@st.composite
def requests(draw):
    """(vars, body) of one well-formed request."""
    pairs = [("REQUEST_METHOD", draw(st.sampled_from(["GET", "POST", "PUT", "HEAD"]))),
             ("REQUEST_URI", "/" + draw(st.text("abc/%?=&", max_size=20)))]
    pairs += draw(st.lists(st.tuples(NAME.filter(lambda n: not n.startswith(("HTTP_", "CONTENT_"))),
                                     VALUE), max_size=8))
    pairs += draw(st.lists(st.tuples(NAME.map(lambda n: "HTTP_" + n), HEADER_VALUE), max_size=8))
    body = draw(st.binary(max_size=300))
    pairs.append(("CONTENT_LENGTH", str(len(body))))
    return draw(st.permutations(pairs)), body


def summarize(events):
    """Requests as comparable tuples; adjacent Data merged (splits change only their sizes)."""
    out = []
    for event in events:
        if isinstance(event, Request):
            out.append(("request", event.method, event.uri, tuple(event.headers),
                        event.content_length, tuple(sorted(event.extra_environ.items()))))
        elif isinstance(event, Data):
            if out and out[-1][0] == "data":
                out[-1] = ("data", out[-1][1] + event.data)
            else:
                out.append(("data", event.data))
        else:
            out.append((type(event).__name__,))
    return out


def run(chunks, respond=True):
    """Feed ``chunks`` one by one, answering each request, then close; return every event."""
    proto = make_proto()
    events = []
    pending = list(chunks) + [b""]
    for _ in range(100_000):
        event = proto.next_event()
        if event is NEED_DATA:
            if not pending:
                raise AssertionError("protocol wants data after the peer closed")
            proto.receive_data(pending.pop(0))
            continue
        events.append(event)
        if event is PAUSED:
            events.pop()
            proto.send(_OK)
            proto.send(EndOfMessage())
            proto.start_next_cycle()
        elif isinstance(event, ConnectionClosed):
            return events
    raise AssertionError("no end")


_OK = Response(200, "OK", [("Content-Length", "0")])


@given(st.lists(requests(), min_size=1, max_size=3), st.data())
def test_any_split_parses_the_same(batch, data):
    stream = b"".join(encode_packet(pairs) + body for pairs, body in batch)
    whole = summarize(run([stream]))
    assert [e[0] for e in whole].count("request") == len(batch)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=12)))
    pieces = [stream[a:b] for a, b in zip([0] + cuts, cuts + [len(stream)], strict=True)]
    assert summarize(run([p for p in pieces if p])) == whole


@given(st.binary(max_size=400))
def test_random_bytes_parse_or_raise_our_error(blob):
    try:
        run([blob])
    except ParseError:
        pass


@given(requests(), st.data())
def test_mutated_packets_parse_or_raise_our_error(request, data):
    pairs, body = request
    stream = bytearray(encode_packet(pairs) + body)
    for _ in range(data.draw(st.integers(1, 6))):
        position = data.draw(st.integers(0, len(stream) - 1))
        stream[position] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(stream)))
    try:
        run([bytes(stream[:cut]), bytes(stream[cut:])])
    except ParseError:
        pass


def test_end_of_message_follows_each_body():
    pairs = [("REQUEST_METHOD", "POST"), ("CONTENT_LENGTH", "3")]
    events = run([encode_packet(pairs) + b"abc"])
    assert summarize(events) == summarize(
        [events[0], Data(b"abc"), EndOfMessage(), ConnectionClosed()])


VAR_NAME = st.sampled_from(["REQUEST_METHOD", "PATH_INFO", "HTTP_X_A", "HTTP_HOST", "A", "B",
                            "CONTENT_TYPE", "HTTP_CONTENT_TYPE", "CONTENT_LENGTH",
                            "HTTP_CONTENT_LENGTH", "HTTP_CONNECTION", "SCRIPT_NAME"]) | NAME


@given(st.lists(st.tuples(VAR_NAME, VALUE), max_size=12), st.data())
def test_dict_walk_agrees_with_the_pairs_walk(pairs, data):
    """parse_vars_dict is parse_vars folded into a dict, or None when a name repeats."""
    block = encode_packet(pairs)[4:]
    if data.draw(st.booleans()) and block:
        # Also compare their refusals of a damaged block.
        block = block[:data.draw(st.integers(0, len(block) - 1))]
    try:
        expected = parse_vars(block)
    except ParseError as exc:
        with pytest.raises(type(exc)) as caught:
            parse_vars_dict(block)
        assert str(caught.value) == str(exc)
        return
    names = [name for name, _ in expected]
    if len(set(names)) == len(names):
        assert parse_vars_dict(block) == dict(expected)
    else:
        assert parse_vars_dict(block) is None


@given(st.lists(st.tuples(VAR_NAME, HEADER_VALUE), max_size=12), st.booleans())
def test_repeats_or_not_the_request_is_the_same(pairs, is_ssl):
    """The fast dict path and the pairs path agree whenever no name repeats."""
    seen = set()
    pairs = [(k, v) for k, v in pairs if not (k in seen or seen.add(k))]
    by_pairs = request_parts(pairs, is_ssl)
    by_dict = environ_parts(dict(pairs), is_ssl)
    assert by_dict.environ == by_pairs.environ
    assert by_dict.headers == by_pairs.headers
    assert by_dict[:8] == by_pairs[:8]
