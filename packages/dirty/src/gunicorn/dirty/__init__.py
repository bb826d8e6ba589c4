"""The dirty arbiter: a pool of processes beside the web workers for slow or heavy tasks."""

from gunicorn.plugins import require_plugin_api

# Fail at load time, with a clear message, if core speaks another plugin API.
require_plugin_api("gunicorn-dirty", 1)

__version__ = "0.1.0"

from gunicorn.dirty import stash  # noqa: E402
from gunicorn.dirty.app import DirtyApp  # noqa: E402
from gunicorn.dirty.client import (  # noqa: E402
    DirtyClient,
    close_dirty_client,
    close_dirty_client_async,
    get_dirty_client,
    get_dirty_client_async,
    set_dirty_socket_path,
)
from gunicorn.dirty.errors import (  # noqa: E402
    DirtyAppError,
    DirtyAppNotFoundError,
    DirtyConnectionError,
    DirtyError,
    DirtyProtocolError,
    DirtyTimeoutError,
    DirtyWorkerError,
)
from gunicorn.dirty.stash import (  # noqa: E402
    StashClient,
    StashError,
    StashKeyNotFoundError,
    StashTable,
    StashTableNotFoundError,
)

__all__ = [
    "DirtyApp",
    "DirtyClient",
    "get_dirty_client",
    "get_dirty_client_async",
    "close_dirty_client",
    "close_dirty_client_async",
    "set_dirty_socket_path",
    "DirtyArbiter",
    "stash",
    "StashClient",
    "StashTable",
    "StashError",
    "StashTableNotFoundError",
    "StashKeyNotFoundError",
    "DirtyError",
    "DirtyTimeoutError",
    "DirtyConnectionError",
    "DirtyWorkerError",
    "DirtyAppError",
    "DirtyAppNotFoundError",
    "DirtyProtocolError",
]


def __getattr__(name):
    # The arbiter (and the process code it pulls in) loads only when asked for,
    # so web workers importing the client stay light.
    if name == "DirtyArbiter":
        from gunicorn.dirty.arbiter import DirtyArbiter

        return DirtyArbiter
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
