"""Choose the worker's event loop from the ``asgi_loop`` setting (uvloop when asked or found)."""

from __future__ import annotations

import asyncio


def new_event_loop(choice: str = "auto"):
    """A fresh loop: ``uvloop`` (required), ``asyncio``, or ``auto`` (uvloop if importable)."""
    if choice in ("auto", "uvloop"):
        try:
            import uvloop
        except ImportError:
            if choice == "uvloop":
                raise RuntimeError("asgi_loop is 'uvloop' but uvloop is not installed: "
                                   "pip install gunicorn-workers-async[uvloop]") from None
        else:
            return uvloop.new_event_loop()
    elif choice != "asyncio":
        raise RuntimeError(f"unknown asgi_loop {choice!r}")
    return asyncio.new_event_loop()
