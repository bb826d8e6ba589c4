"""The package surface: exports, the lazy DirtyArbiter, and a light import for web workers."""

import subprocess
import sys

import pytest

import gunicorn.dirty

EXPORTS = {
    "DirtyApp", "DirtyClient", "get_dirty_client", "get_dirty_client_async",
    "close_dirty_client", "close_dirty_client_async", "set_dirty_socket_path", "DirtyArbiter",
    "stash", "StashClient", "StashTable", "StashError", "StashTableNotFoundError",
    "StashKeyNotFoundError", "DirtyError", "DirtyTimeoutError", "DirtyConnectionError",
    "DirtyWorkerError", "DirtyAppError", "DirtyAppNotFoundError", "DirtyProtocolError",
}  # fmt: skip


def test_all_lists_the_surface():
    assert set(gunicorn.dirty.__all__) == EXPORTS
    assert gunicorn.dirty.__version__


def test_names_resolve():
    for name in EXPORTS - {"DirtyArbiter"}:
        assert getattr(gunicorn.dirty, name) is not None
    assert gunicorn.dirty.stash.put is not None


def test_no_workers_error_is_not_exported():
    assert not hasattr(gunicorn.dirty, "DirtyNoWorkersAvailableError")
    from gunicorn.dirty.errors import DirtyNoWorkersAvailableError  # noqa: F401


def test_unknown_attribute():
    with pytest.raises(AttributeError, match="nope"):
        gunicorn.dirty.nope  # noqa: B018


def test_import_is_light():
    code = (
        "import sys, gunicorn.dirty; "
        "bad = [m for m in ('asyncio', 'gunicorn.dirty.arbiter', 'gunicorn.dirty.worker') "
        "if m in sys.modules]; print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_dirty_arbiter_is_loaded_on_demand():
    from gunicorn.dirty import arbiter

    assert gunicorn.dirty.DirtyArbiter is arbiter.DirtyArbiter
