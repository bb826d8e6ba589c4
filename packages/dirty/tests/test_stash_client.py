"""Stash client side against a fake arbiter whose STASH handler is a real StashStore."""

import os
import shutil

import pytest
from dirty_fake_server import FakeArbiter, short_socket_dir

from gunicorn.dirty import stash, wire
from gunicorn.dirty.client import close_dirty_client, set_dirty_socket_path
from gunicorn.dirty.errors import (
    DirtyError,
    StashError,
    StashKeyNotFoundError,
    StashTableNotFoundError,
)
from gunicorn.dirty.stash_store import StashStore


def stash_handler(store):
    def handler(msg, reply):
        assert msg.type == wire.STASH
        try:
            result = store.apply(msg.payload)
        except DirtyError as exc:
            reply(wire.ERROR, {"error": exc.to_dict()})
        else:
            reply(wire.RESPONSE, {"result": result})

    return handler


@pytest.fixture
def arbiter():
    directory = short_socket_dir()
    path = os.path.join(directory, "d.sock")
    with FakeArbiter(path, stash_handler(StashStore())) as server:
        yield server
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def client(arbiter):
    with stash.StashClient(arbiter.path, timeout=5) as c:
        yield c


@pytest.fixture
def module_path(arbiter):
    set_dirty_socket_path(arbiter.path)
    yield arbiter
    close_dirty_client()
    set_dirty_socket_path(None)


def test_client_operations(client, arbiter):
    assert client.tables() == []
    assert client.put("sessions", "abc", {"user": 1}) is None
    assert client.get("sessions", "abc") == {"user": 1}
    # a missing key or table gives the default, None unless given: upstream's
    # documented contract (its docs test `stash.get(...) is None` for a cache miss)
    for table, key in (("sessions", "zzz"), ("missing", "k")):
        assert client.get(table, key) is None
        assert client.table(table).get(key) is None
        # only the dict-like [] raises, a KeyError
        with pytest.raises(StashKeyNotFoundError):
            client.table(table)[key]
    assert client.get("sessions", "zzz", None) is None
    assert client.get("sessions", "zzz", "dflt") == "dflt"
    assert client.get("missing", "k", 5) == 5
    assert client.exists("sessions") is True
    assert client.exists("sessions", "abc") is True
    assert client.exists("sessions", "zzz") is False
    assert client.exists("missing") is False
    assert client.keys("sessions") == ["abc"]
    assert client.keys("sessions", "a*") == ["abc"]
    assert client.keys("sessions", "z*") == []
    assert client.info("sessions") == {"table": "sessions", "size": 1}
    assert client.delete("sessions", "abc") is True
    assert client.delete("sessions", "abc") is False
    client.ensure("other")
    assert client.tables() == ["sessions", "other"]
    client.put("other", 1, b"bytes")
    client.clear("other")
    assert client.keys("other") == []
    client.delete_table("other")
    assert client.tables() == ["sessions"]
    assert client.socket_path == arbiter.path
    assert arbiter.connections == 1


def test_wire_payloads(client, arbiter):
    client.exists("t")
    client.exists("t", "k")
    client.keys("t")
    client.keys("t", "p*")
    client.tables()
    client.put("t", None, 1)
    payloads = [m.payload for m in arbiter.received]
    assert payloads == [
        {"op": wire.STASH_EXISTS, "table": "t"},
        {"op": wire.STASH_EXISTS, "table": "t", "key": "k"},
        {"op": wire.STASH_KEYS, "table": "t"},
        {"op": wire.STASH_KEYS, "table": "t", "pattern": "p*"},
        {"op": wire.STASH_TABLES, "table": ""},
        {"op": wire.STASH_PUT, "table": "t", "key": None, "value": 1},
    ]


def test_errors_arrive_as_their_own_class(client):
    with pytest.raises(StashTableNotFoundError) as info:
        client.info("nope")
    assert info.value.table_name == "nope"
    with pytest.raises(StashKeyNotFoundError) as info:
        client.table("nope")["k"]
    assert (info.value.table_name, info.value.key) == ("nope", "k")


def test_unencodable_value_is_a_stash_error(client):
    with pytest.raises(StashError, match="Stash operation failed"):
        client.put("t", "k", object())
    with pytest.raises(StashError, match="table name"):
        client.put(5, "k", 1)
    assert client.tables() == []


def test_table_is_dict_like(client):
    table = client.table("cache")
    assert table.name == "cache" and "cache" in repr(table)
    assert len(table) == 0
    assert "a" not in table
    with pytest.raises(KeyError):
        table["a"]
    table["a"] = 1
    table["b"] = [2]
    assert table["a"] == 1 and table.get("b") == [2] and table.get("z", 0) == 0
    assert table.get("z") is None       # dict-like, as upstream documents
    assert "a" in table and len(table) == 2
    assert list(table) == ["a", "b"] and table.keys() == ["a", "b"] and table.keys("b") == ["b"]
    assert table.items() == [("a", 1), ("b", [2])]
    assert table.values() == [1, [2]]
    del table["a"]
    with pytest.raises(KeyError):
        del table["a"]
    table.clear()
    assert len(table) == 0 and list(table) == []


def test_module_functions_use_the_thread_client(module_path):
    stash.put("t", "k", 1)
    assert stash.get("t", "k") == 1
    assert stash.get("t", "zz", "d") == "d"
    assert stash.get("t", "zz") is None
    assert stash.exists("t") and stash.exists("t", "k")
    assert stash.keys("t") == ["k"] and stash.keys("t", "x*") == []
    assert stash.info("t") == {"table": "t", "size": 1}
    stash.ensure("u")
    assert stash.tables() == ["t", "u"]
    view = stash.table("t")
    view["j"] = 2
    assert dict(view.items()) == {"k": 1, "j": 2}
    assert stash.delete("t", "k") is True
    stash.clear("t")
    stash.delete_table("u")
    assert stash.tables() == ["t"]
    assert module_path.connections == 1


def test_module_functions_without_a_socket(monkeypatch):
    monkeypatch.delenv("GUNICORN_DIRTY_SOCKET", raising=False)
    set_dirty_socket_path(None)
    with pytest.raises(DirtyError, match="dirty_workers"):
        stash.tables()


def test_exports():
    for name in ("StashClient", "StashTable", "StashError", "StashTableNotFoundError",
                 "StashKeyNotFoundError", "put", "get", "delete", "keys", "clear", "info",
                 "ensure", "exists", "delete_table", "tables", "table"):
        assert hasattr(stash, name), name
