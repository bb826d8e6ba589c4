"""The asgi_loop setting: asyncio, uvloop, or uvloop when importable."""

import asyncio
import sys

import pytest

from gunicorn.asgi.event_loop import new_event_loop


def test_asyncio_choice():
    loop = new_event_loop("asyncio")
    try:
        assert type(loop).__module__.startswith("asyncio")
    finally:
        loop.close()


def test_auto_prefers_uvloop():
    pytest.importorskip("uvloop", reason="uvloop is not installed")
    loop = new_event_loop("auto")
    try:
        assert type(loop).__module__.startswith("uvloop")
    finally:
        loop.close()


def test_missing_uvloop(monkeypatch):
    monkeypatch.setitem(sys.modules, "uvloop", None)  # makes the import fail
    loop = new_event_loop("auto")
    try:
        assert isinstance(loop, asyncio.AbstractEventLoop)
    finally:
        loop.close()
    with pytest.raises(RuntimeError, match="uvloop is not installed"):
        new_event_loop("uvloop")


def test_unknown_choice():
    with pytest.raises(RuntimeError):
        new_event_loop("trio")
