"""Stash: key/value tables shared by all workers, held by the dirty arbiter (STASH messages).

Module functions use this thread's dirty client (``get_dirty_client()``); ``StashClient``
has a connection of its own. Reply shapes: ``gunicorn.dirty.stash_store``.
"""

from gunicorn.dirty.client import (
    DirtyClient,
    get_dirty_client,
    get_dirty_socket_path,
    set_dirty_socket_path,
)
from gunicorn.dirty.errors import (
    DirtyError,
    DirtyProtocolError,
    StashError,
    StashKeyNotFoundError,
    StashTableNotFoundError,
)
from gunicorn.dirty.wire import (
    STASH,
    STASH_CLEAR,
    STASH_DELETE,
    STASH_DELETE_TABLE,
    STASH_ENSURE,
    STASH_EXISTS,
    STASH_GET,
    STASH_INFO,
    STASH_KEYS,
    STASH_PUT,
    STASH_TABLES,
)

__all__ = [
    "StashClient", "StashTable", "StashError", "StashTableNotFoundError",
    "StashKeyNotFoundError", "DirtyError", "put", "get", "delete", "keys", "clear", "info",
    "ensure", "exists", "delete_table", "tables", "table",
    "set_stash_socket_path", "get_stash_socket_path",
]  # fmt: skip

# The stash lives in the dirty arbiter, so it shares its socket.
set_stash_socket_path = set_dirty_socket_path
get_stash_socket_path = get_dirty_socket_path

# items(): a key deleted between keys() and get()
_GONE = object()


class StashClient:
    """Stash operations over a connection of its own to the dirty arbiter."""

    def __init__(self, socket_path, timeout=30.0):
        self._client = DirtyClient(socket_path, timeout=timeout)

    @classmethod
    def over(cls, client):
        """A StashClient sharing ``client``'s (a DirtyClient) connection."""
        stash = cls.__new__(cls)
        stash._client = client
        return stash

    @property
    def socket_path(self):
        return self._client.socket_path

    def _call(self, op, table, **fields):
        if not isinstance(table, str):
            raise StashError(f"stash table name must be a str, got {type(table).__name__}")
        payload = {"op": op, "table": table}
        payload.update(fields)
        try:
            reply = self._client.request(STASH, payload)
        except DirtyProtocolError as exc:
            # Mostly a value the wire cannot carry: a stash caller expects a StashError.
            raise StashError(f"Stash operation failed: {exc.message}", exc.details)
        return reply.get("result")

    def put(self, table, key, value):
        """Store ``value`` under ``key`` (the table is created if needed)."""
        self._call(STASH_PUT, table, key=key, value=value)

    def get(self, table, key, default=None):
        """The value under ``key``; ``default`` when the key or table is missing, as
        upstream documents it (its own client raises there, a bug)."""
        try:
            return self.fetch(table, key)
        except (StashKeyNotFoundError, StashTableNotFoundError):
            return default

    def fetch(self, table, key):
        """The value under ``key``, or StashKeyNotFoundError (a StashError and a KeyError)."""
        return self._call(STASH_GET, table, key=key)

    def delete(self, table, key):
        """Remove ``key``; True if it was there."""
        return self._call(STASH_DELETE, table, key=key)

    def keys(self, table, pattern=None):
        """The table's keys ([] if it is missing), those matching the glob ``pattern`` if given."""
        if pattern is None:
            return self._call(STASH_KEYS, table)
        return self._call(STASH_KEYS, table, pattern=pattern)

    def clear(self, table):
        """Remove every key of the table (the table itself stays)."""
        self._call(STASH_CLEAR, table)

    def info(self, table):
        """``{"table": name, "size": n}``; StashTableNotFoundError if it is missing."""
        return self._call(STASH_INFO, table)

    def ensure(self, table):
        """Create the table if it does not exist."""
        self._call(STASH_ENSURE, table)

    def exists(self, table, key=None):
        """Does the table exist (or, with ``key``, hold that key)?"""
        if key is None:
            return self._call(STASH_EXISTS, table)
        return self._call(STASH_EXISTS, table, key=key)

    def delete_table(self, table):
        """Drop the table and everything in it (a missing table is fine)."""
        self._call(STASH_DELETE_TABLE, table)

    def tables(self):
        """The names of all tables."""
        return self._call(STASH_TABLES, "")

    def table(self, name):
        """A dict-like view of one table."""
        return StashTable(self, name)

    def close(self):
        self._client.close()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc_val, exc_tb):
        self.close()


class StashTable:
    """Dict-like view of one stash table; each operation is one round trip."""

    def __init__(self, client, name):
        self._client = client
        self._name = name

    @property
    def name(self):
        return self._name

    def __repr__(self):
        return f"<StashTable {self._name!r}>"

    def __getitem__(self, key):
        return self._client.fetch(self._name, key)

    def __setitem__(self, key, value):
        self._client.put(self._name, key, value)

    def __delitem__(self, key):
        if not self._client.delete(self._name, key):
            raise StashKeyNotFoundError(self._name, key)

    def __contains__(self, key):
        return self._client.exists(self._name, key)

    def __iter__(self):
        return iter(self._client.keys(self._name))

    def __len__(self):
        try:
            return self._client.info(self._name)["size"]
        except StashTableNotFoundError:
            return 0

    def get(self, key, default=None):
        """As ``stash.get``: ``default`` for a missing key."""
        return self._client.get(self._name, key, default)

    def keys(self, pattern=None):
        return self._client.keys(self._name, pattern)

    def clear(self):
        self._client.clear(self._name)

    def items(self):
        """``(key, value)`` pairs; keys deleted meanwhile are left out."""
        pairs = []
        for key in self._client.keys(self._name):
            value = self._client.get(self._name, key, _GONE)
            if value is not _GONE:
                pairs.append((key, value))
        return pairs

    def values(self):
        return [value for _key, value in self.items()]


def _thread_stash():
    return StashClient.over(get_dirty_client())


def put(table, key, value):
    """Store ``value`` under ``key`` in ``table``."""
    _thread_stash().put(table, key, value)


def get(table, key, default=None):
    """The value under ``key`` in ``table``; ``default`` when it is missing."""
    return _thread_stash().get(table, key, default)


def delete(table, key):
    """Remove ``key`` from ``table``; True if it was there."""
    return _thread_stash().delete(table, key)


def keys(table, pattern=None):
    """Keys of ``table``, optionally those matching a glob ``pattern``."""
    return _thread_stash().keys(table, pattern)


def clear(table):
    """Empty ``table``."""
    _thread_stash().clear(table)


def info(table):
    """``{"table": name, "size": n}`` for ``table``."""
    return _thread_stash().info(table)


def ensure(table):
    """Create ``table`` if missing."""
    _thread_stash().ensure(table)


def exists(table, key=None):
    """Does ``table`` exist (or hold ``key``)?"""
    return _thread_stash().exists(table, key)


def delete_table(table):
    """Drop ``table``."""
    _thread_stash().delete_table(table)


def tables():
    """Names of all stash tables."""
    return _thread_stash().tables()


def table(name):
    """Dict-like view of table ``name`` over this thread's client."""
    return StashTable(_thread_stash(), name)
