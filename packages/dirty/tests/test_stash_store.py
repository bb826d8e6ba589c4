"""StashStore: the arbiter-side tables, one STASH payload at a time."""

import pytest

from gunicorn.dirty import wire
from gunicorn.dirty.errors import StashError, StashKeyNotFoundError, StashTableNotFoundError
from gunicorn.dirty.stash_store import StashStore


def op(store, code, table="t", **fields):
    return store.apply({"op": code, "table": table, **fields})


@pytest.fixture
def store():
    return StashStore()


def test_put_creates_table_and_get_returns_value(store):
    assert op(store, wire.STASH_PUT, key="k", value={"a": [1, 2]}) is None
    assert op(store, wire.STASH_GET, key="k") == {"a": [1, 2]}
    assert op(store, wire.STASH_TABLES, table="") == ["t"]


def test_put_overwrites_and_stores_none(store):
    op(store, wire.STASH_PUT, key="k", value=1)
    op(store, wire.STASH_PUT, key="k", value=None)
    assert op(store, wire.STASH_GET, key="k") is None
    # An absent value is stored as None too.
    op(store, wire.STASH_PUT, key="j")
    assert op(store, wire.STASH_GET, key="j") is None


def test_get_missing_key_or_table(store):
    with pytest.raises(StashKeyNotFoundError) as info:
        op(store, wire.STASH_GET, key="nope")
    assert (info.value.table_name, info.value.key) == ("t", "nope")
    op(store, wire.STASH_ENSURE)
    with pytest.raises(StashKeyNotFoundError):
        op(store, wire.STASH_GET, key="nope")


def test_keys_keep_their_type(store):
    op(store, wire.STASH_PUT, key=3, value="int")
    op(store, wire.STASH_PUT, key="3", value="str")
    assert op(store, wire.STASH_GET, key=3) == "int"
    assert op(store, wire.STASH_GET, key="3") == "str"
    assert op(store, wire.STASH_KEYS) == [3, "3"]


def test_delete(store):
    op(store, wire.STASH_PUT, key="k", value=1)
    assert op(store, wire.STASH_DELETE, key="k") is True
    assert op(store, wire.STASH_DELETE, key="k") is False
    assert op(store, wire.STASH_DELETE, table="missing", key="k") is False
    assert op(store, wire.STASH_TABLES, table="") == ["t"]


def test_keys_and_patterns(store):
    for key in ("user:1", "user:2", "session:1", "User:3", 7):
        op(store, wire.STASH_PUT, key=key, value=0)
    assert op(store, wire.STASH_KEYS) == ["user:1", "user:2", "session:1", "User:3", 7]
    assert op(store, wire.STASH_KEYS, pattern="user:*") == ["user:1", "user:2"]
    assert op(store, wire.STASH_KEYS, pattern="*:1") == ["user:1", "session:1"]
    assert op(store, wire.STASH_KEYS, pattern="user:?") == ["user:1", "user:2"]
    assert op(store, wire.STASH_KEYS, pattern="[Uu]ser:3") == ["User:3"]
    assert op(store, wire.STASH_KEYS, pattern=None) == ["user:1", "user:2", "session:1", "User:3", 7]
    assert op(store, wire.STASH_KEYS, table="missing") == []
    assert op(store, wire.STASH_TABLES, table="") == ["t"]


def test_clear_keeps_the_table(store):
    op(store, wire.STASH_PUT, key="k", value=1)
    assert op(store, wire.STASH_CLEAR) is None
    assert op(store, wire.STASH_KEYS) == []
    assert op(store, wire.STASH_INFO) == {"table": "t", "size": 0}
    assert op(store, wire.STASH_CLEAR, table="missing") is None
    assert op(store, wire.STASH_EXISTS, table="missing") is False


def test_info(store):
    with pytest.raises(StashTableNotFoundError) as info:
        op(store, wire.STASH_INFO)
    assert info.value.table_name == "t"
    op(store, wire.STASH_PUT, key="a", value=1)
    op(store, wire.STASH_PUT, key="b", value=2)
    assert op(store, wire.STASH_INFO) == {"table": "t", "size": 2}


def test_ensure_is_idempotent(store):
    op(store, wire.STASH_ENSURE)
    op(store, wire.STASH_PUT, key="k", value=1)
    assert op(store, wire.STASH_ENSURE) is None
    assert op(store, wire.STASH_INFO) == {"table": "t", "size": 1}


def test_delete_table(store):
    op(store, wire.STASH_PUT, key="k", value=1)
    assert op(store, wire.STASH_DELETE_TABLE) is None
    assert op(store, wire.STASH_TABLES, table="") == []
    assert op(store, wire.STASH_DELETE_TABLE) is None


def test_tables_in_creation_order(store):
    for name in ("b", "a", "c"):
        op(store, wire.STASH_ENSURE, table=name)
    assert op(store, wire.STASH_TABLES, table="") == ["b", "a", "c"]
    assert store.apply({"op": wire.STASH_TABLES}) == ["b", "a", "c"]
    assert store.tables() == ["b", "a", "c"] and store.table_size("a") == 0


def test_exists(store):
    assert op(store, wire.STASH_EXISTS) is False
    assert op(store, wire.STASH_EXISTS, key="k") is False
    op(store, wire.STASH_ENSURE)
    assert op(store, wire.STASH_EXISTS) is True
    assert op(store, wire.STASH_EXISTS, key="k") is False
    op(store, wire.STASH_PUT, key="k", value=None)
    assert op(store, wire.STASH_EXISTS, key="k") is True
    assert op(store, wire.STASH_EXISTS, key=None) is True


def test_tables_are_independent(store):
    op(store, wire.STASH_PUT, table="a", key="k", value=1)
    op(store, wire.STASH_PUT, table="b", key="k", value=2)
    assert op(store, wire.STASH_GET, table="a", key="k") == 1
    assert op(store, wire.STASH_GET, table="b", key="k") == 2


def test_empty_table_name_is_a_table(store):
    op(store, wire.STASH_PUT, table="", key="k", value=1)
    assert op(store, wire.STASH_TABLES, table="") == [""]


@pytest.mark.parametrize(
    "payload,match",
    [
        ({"op": 99, "table": "t"}, "unknown stash op"),
        ({"op": True, "table": "t"}, "unknown stash op"),
        ({"op": "1", "table": "t"}, "unknown stash op"),
        ({"table": "t"}, "unknown stash op"),
        ({"op": wire.STASH_GET}, "table name"),
        ({"op": wire.STASH_GET, "table": 5, "key": "k"}, "table name"),
        ({"op": wire.STASH_GET, "table": "t"}, "needs a key"),
        ({"op": wire.STASH_PUT, "table": "t", "key": [1], "value": 1}, "hashable"),
        ({"op": wire.STASH_KEYS, "table": "t", "pattern": 5}, "pattern"),
        ([1, 2], "must be a dict"),
    ],
)
def test_malformed_payloads(store, payload, match):
    with pytest.raises(StashError, match=match):
        store.apply(payload)


def test_errors_serialise_for_the_error_reply(store):
    try:
        op(store, wire.STASH_GET, key="k")
    except StashError as exc:
        data = exc.to_dict()
    assert data["error_type"] == "StashKeyNotFoundError"
    # the dict must survive the TLV encoding of an ERROR message
    wire.encode_message(wire.ERROR, 1, {"error": data})
