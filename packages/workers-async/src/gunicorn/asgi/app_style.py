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


def looks_like_wsgi(app) -> bool:
    """A plain callable of ``(environ, start_response)``: served by the sync/gthread workers."""
    if is_asgi3(app) or inspect.isclass(app) or not callable(app):
        return False
    target = app if inspect.isfunction(app) or inspect.ismethod(app) else type(app).__call__
    try:
        params = [p for p in inspect.signature(target).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        return False
    if not (inspect.isfunction(app) or inspect.ismethod(app)):
        params = params[1:]  # self
    names = [p.name for p in params]
    return len(names) == 2 and names[1] in ("start_response", "start")


def as_asgi3(app):
    """ASGI 2 apps are ``app(scope)`` returning ``instance(receive, send)``."""
    if is_asgi3(app):
        return app

    async def asgi3(scope, receive, send):
        instance = app(scope)
        await instance(receive, send)

    asgi3.__wrapped__ = app
    return asgi3
