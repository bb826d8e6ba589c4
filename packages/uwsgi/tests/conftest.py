"""Shared helpers for the gunicorn-uwsgi tests."""

from types import SimpleNamespace

import pytest

from gunicorn.http.events import NEED_DATA, PAUSED
from gunicorn.uwsgi.protocol import UWSGIProtocol

LOCAL_PEER = ("127.0.0.1", 40000)
SERVER = ("127.0.0.1", 8001)


def make_cfg(**overrides):
    """The settings UWSGIProtocol reads, with gunicorn's defaults."""
    # uwsgi_keepalive on, so the keep-alive rules are exercised; tests of the
    # default close pass uwsgi_keepalive=False.
    values = {"uwsgi_allow_ips": ["127.0.0.1", "::1"], "keepalive": 2, "uwsgi_keepalive": True}
    values.update(overrides)
    return SimpleNamespace(**values)


def make_proto(peer=LOCAL_PEER, is_ssl=False, **cfg):
    return UWSGIProtocol(make_cfg(**cfg), peer, SERVER, is_ssl)


def drain(proto):
    """Every event up to the first NEED_DATA/PAUSED (that one included)."""
    events = []
    for _ in range(10_000):
        event = proto.next_event()
        events.append(event)
        if event is NEED_DATA or event is PAUSED:
            return events
        if type(event).__name__ == "ConnectionClosed":
            return events
    raise AssertionError("protocol never asked for data")


@pytest.fixture
def proto():
    return make_proto()
