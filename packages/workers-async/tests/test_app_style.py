"""Telling ASGI 3, ASGI 2 and WSGI callables apart; ASGI 2 wrapping."""

import asyncio

from gunicorn.asgi.app_style import as_asgi3, is_asgi3, looks_like_wsgi


async def asgi3(scope, receive, send):
    pass


class ASGI3Object:
    async def __call__(self, scope, receive, send):
        pass


class ASGI2App:
    def __init__(self, scope):
        self.scope = scope

    async def __call__(self, receive, send):
        await send({"type": "seen", "scope": self.scope})


def wsgi(environ, start_response):
    return []


class WSGIObject:
    def __call__(self, environ, start_response):
        return []


def test_detection():
    assert is_asgi3(asgi3) and is_asgi3(ASGI3Object())
    assert not is_asgi3(ASGI2App) and not is_asgi3(wsgi)
    assert looks_like_wsgi(wsgi) and looks_like_wsgi(WSGIObject())
    assert not looks_like_wsgi(asgi3) and not looks_like_wsgi(ASGI2App)
    assert as_asgi3(asgi3) is asgi3


def test_asgi2_wrapped():
    sent = []

    async def send(message):
        sent.append(message)

    asyncio.run(as_asgi3(ASGI2App)({"type": "http"}, None, send))
    assert sent == [{"type": "seen", "scope": {"type": "http"}}]
