"""The stash tables themselves, held by the dirty arbiter: ``apply(payload)`` runs one STASH op.

The arbiter answers a STASH message with RESPONSE ``{"result": store.apply(payload)}``,
or, when it raises a StashError ``exc``, ERROR ``{"error": exc.to_dict()}``. Per op
(``key``, ``value`` and ``pattern`` may be absent from the payload):

    op                    payload keys                result
    1  STASH_PUT          table, key, value           None (creates the table)
    2  STASH_GET          table, key                  the value; missing key or table:
                                                      StashKeyNotFoundError
    3  STASH_DELETE       table, key                  True if the key was there, else False
    4  STASH_KEYS         table, [pattern]            list of keys ([] for a missing table);
                                                      pattern: shell glob, str keys only
    5  STASH_CLEAR        table                       None (a missing table stays missing)
    6  STASH_INFO         table                       {"table": name, "size": n};
                                                      missing: StashTableNotFoundError
    7  STASH_ENSURE       table                       None (creates the table if missing)
    8  STASH_DELETE_TABLE table                       None (a missing table is fine)
    9  STASH_TABLES       (table ignored)             list of table names, oldest first
    10 STASH_EXISTS       table, [key]                bool: the table exists, or (with key)
                                                      the key is in it

A malformed payload (unknown op, table not a str, key missing or unhashable) raises
StashError.
"""

import fnmatch

from gunicorn.dirty.errors import StashError, StashKeyNotFoundError, StashTableNotFoundError
from gunicorn.dirty.wire import (
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

_MISSING = object()


class StashStore:
    """In-memory named tables of key -> value, owned by the dirty arbiter."""

    def __init__(self):
        self._tables = {}
        self._ops = {
            STASH_PUT: self._put,
            STASH_GET: self._get,
            STASH_DELETE: self._delete,
            STASH_KEYS: self._keys,
            STASH_CLEAR: self._clear,
            STASH_INFO: self._info,
            STASH_ENSURE: self._ensure,
            STASH_DELETE_TABLE: self._delete_table,
            STASH_TABLES: self._list_tables,
            STASH_EXISTS: self._exists,
        }

    def apply(self, payload):
        """Run the op a STASH payload describes and return its result (see module doc)."""
        if not isinstance(payload, dict):
            raise StashError(f"stash payload must be a dict, got {type(payload).__name__}")
        op = payload.get("op")
        handler = self._ops.get(op) if isinstance(op, int) and not isinstance(op, bool) else None
        if handler is None:
            raise StashError(f"unknown stash op {op!r}")
        if op == STASH_TABLES:
            return handler()
        table = payload.get("table")
        if not isinstance(table, str):
            raise StashError(f"stash table name must be a str, got {type(table).__name__}")
        return handler(table, payload)

    # Direct access for the arbiter's own use (status, tests).
    def tables(self):
        return list(self._tables)

    def table_size(self, table):
        return len(self._tables.get(table, ()))

    @staticmethod
    def _key(payload, required=True):
        key = payload.get("key", _MISSING)
        if key is _MISSING:
            if required:
                raise StashError("stash op needs a key")
            return _MISSING
        try:
            hash(key)
        except TypeError:
            raise StashError(f"stash key must be hashable, got {type(key).__name__}")
        return key

    def _put(self, table, payload):
        key = self._key(payload)
        self._tables.setdefault(table, {})[key] = payload.get("value")
        return None

    def _get(self, table, payload):
        key = self._key(payload)
        value = self._tables.get(table, {}).get(key, _MISSING)
        if value is _MISSING:
            raise StashKeyNotFoundError(table, key)
        return value

    def _delete(self, table, payload):
        key = self._key(payload)
        entries = self._tables.get(table)
        if entries is None or key not in entries:
            return False
        del entries[key]
        return True

    def _keys(self, table, payload):
        entries = self._tables.get(table, {})
        pattern = payload.get("pattern")
        if pattern is None:
            return list(entries)
        if not isinstance(pattern, str):
            raise StashError(f"stash key pattern must be a str, got {type(pattern).__name__}")
        return [k for k in entries if isinstance(k, str) and fnmatch.fnmatchcase(k, pattern)]

    def _clear(self, table, payload):
        entries = self._tables.get(table)
        if entries is not None:
            entries.clear()
        return None

    def _info(self, table, payload):
        entries = self._tables.get(table)
        if entries is None:
            raise StashTableNotFoundError(table)
        return {"table": table, "size": len(entries)}

    def _ensure(self, table, payload):
        self._tables.setdefault(table, {})
        return None

    def _delete_table(self, table, payload):
        self._tables.pop(table, None)
        return None

    def _list_tables(self):
        return list(self._tables)

    def _exists(self, table, payload):
        entries = self._tables.get(table)
        key = self._key(payload, required=False)
        if key is _MISSING or key is None:
            return entries is not None
        return entries is not None and key in entries
