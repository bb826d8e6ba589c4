"""Dirty errors: dict form round trips, constructors, pickling."""

import pickle

import pytest

from gunicorn.dirty import errors
from gunicorn.dirty.errors import (
    DirtyAppError,
    DirtyAppNotFoundError,
    DirtyConnectionError,
    DirtyError,
    DirtyNoWorkersAvailableError,
    DirtyProtocolError,
    DirtyTimeoutError,
    DirtyWorkerError,
    StashError,
    StashKeyNotFoundError,
    StashTableNotFoundError,
)
from gunicorn.dirty.tlv import decode_value, encode_value

SAMPLES = [
    DirtyError("plain"),
    DirtyError("with details", {"a": 1}),
    DirtyTimeoutError("slow", timeout=3),
    DirtyConnectionError("gone", socket_path="/tmp/x.sock"),
    DirtyWorkerError("died", worker_id=7, traceback="Traceback..."),
    DirtyAppError("raised", app_path="m:C", action="go", traceback="tb"),
    DirtyAppNotFoundError("m:Missing"),
    DirtyNoWorkersAvailableError("m:C"),
    DirtyProtocolError("bad bytes", raw_data=b"\x00\x01"),
    StashError("stash failed", {"op": 1}),
    StashTableNotFoundError("sessions"),
    StashKeyNotFoundError("sessions", "abc"),
]


@pytest.mark.parametrize("err", SAMPLES, ids=lambda e: type(e).__name__)
def test_round_trip_through_the_wire(err):
    data = decode_value(encode_value(err.to_dict()))
    back = DirtyError.from_dict(data)
    assert type(back) is type(err)
    assert back.message == err.message
    assert back.details == err.details
    assert str(back) == str(err)
    for name in type(err).fields:
        assert getattr(back, name) == getattr(err, name)


@pytest.mark.parametrize("err", SAMPLES, ids=lambda e: type(e).__name__)
def test_pickle_round_trip(err):
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is type(err) and back.to_dict() == err.to_dict()


def test_to_dict_shape():
    assert DirtyTimeoutError("slow", timeout=2.5).to_dict() == {
        "error_type": "DirtyTimeoutError",
        "message": "slow",
        "details": {"timeout": 2.5},
    }
    assert DirtyError("m").to_dict() == {"error_type": "DirtyError", "message": "m", "details": {}}


def test_str_shows_details_only_when_present():
    assert str(DirtyError("m")) == "m"
    assert str(DirtyError("m", {"a": 1})) == "m: {'a': 1}"
    assert str(StashKeyNotFoundError("t", "k")) == "Key not found in t: k"


def test_default_messages():
    assert DirtyTimeoutError().message == "Operation timed out"
    assert DirtyConnectionError().message == "Connection failed"
    assert DirtyProtocolError().message == "Protocol error"
    assert DirtyAppNotFoundError("a:B").message == "Dirty app not found: a:B"
    assert DirtyNoWorkersAvailableError("a:B").message == "No workers available for app: a:B"
    assert DirtyNoWorkersAvailableError("a:B", "busy").message == "busy"


def test_protocol_error_keeps_a_bounded_hex_sample():
    err = DirtyProtocolError("bad", raw_data=b"\xab" * 500)
    assert err.details["raw_data"] == "ab" * 100


def test_unknown_error_type_gives_base_class():
    err = DirtyError.from_dict({"error_type": "NoSuchError", "message": "m", "details": {"x": 1}})
    assert type(err) is DirtyError and err.message == "m" and err.details == {"x": 1}


def test_from_dict_tolerates_garbage():
    assert type(DirtyError.from_dict("oops")) is DirtyError
    err = DirtyError.from_dict({"error_type": "DirtyTimeoutError"})
    assert isinstance(err, DirtyTimeoutError) and err.message and err.timeout is None


def test_from_dict_never_returns_a_non_error_class():
    # error_type naming a builtin must not be instantiated.
    assert type(DirtyError.from_dict({"error_type": "KeyError", "message": "m"})) is DirtyError


def test_hierarchy():
    assert issubclass(DirtyAppNotFoundError, DirtyAppError)
    for cls in (DirtyTimeoutError, DirtyConnectionError, DirtyWorkerError, DirtyAppError,
                DirtyNoWorkersAvailableError, DirtyProtocolError, StashError):
        assert issubclass(cls, DirtyError)
    assert issubclass(StashTableNotFoundError, StashError)
    assert issubclass(StashKeyNotFoundError, StashError)
    # dict-like StashTable raises it for a missing key
    assert issubclass(StashKeyNotFoundError, KeyError)


def test_subclass_defined_later_is_found_by_name():
    class PluginError(errors.DirtyError):
        pass

    assert type(DirtyError.from_dict(PluginError("x").to_dict())) is PluginError


def test_unknown_app_error_is_caught_as_upstream_code_catches_it():
    # upstream sends DirtyNoWorkersAvailableError for an app not in dirty_apps
    err = DirtyError.from_dict(errors.DirtyAppNotConfiguredError("m:Nope").to_dict())
    assert isinstance(err, errors.DirtyNoWorkersAvailableError)
    assert isinstance(err, DirtyAppNotFoundError)
    assert err.app_path == "m:Nope" and "not in dirty_apps" in err.message
