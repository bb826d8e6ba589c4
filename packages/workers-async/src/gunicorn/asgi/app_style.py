"""Present any ASGI application as an ASGI 3 callable (wrap ASGI 2 double-callables)."""

from __future__ import annotations

import inspect


def is_asgi3(app) -> bool:
    if inspect.isclass(app):
        return False
    if inspect.isfunction(app) or inspect.ismethod(app):
        return inspect.iscoroutinefunction(app)
    # An instance: its bound __call__ decides.
    return inspect.iscoroutinefunction(type(app).__call__) if callable(app) else False


def as_asgi3(app):
    """ASGI 2 apps are ``app(scope)`` returning ``instance(receive, send)``."""
    if is_asgi3(app):
        return app

    async def asgi3(scope, receive, send):
        instance = app(scope)
        await instance(receive, send)

    asgi3.__wrapped__ = app
    return asgi3
