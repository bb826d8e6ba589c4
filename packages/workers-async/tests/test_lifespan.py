"""The lifespan protocol driver: startup/shutdown, failures, auto/on/off."""

import asyncio
import logging

import pytest

from gunicorn.asgi.lifespan import Lifespan, LifespanFailure

log = logging.getLogger("test.lifespan")


def run(coro):
    return asyncio.run(coro)


def test_startup_and_shutdown_with_state():
    events = []

    async def app(scope, receive, send):
        assert scope["type"] == "lifespan"
        msg = await receive()
        events.append(msg["type"])
        scope["state"]["db"] = "connected"
        await send({"type": "lifespan.startup.complete"})
        msg = await receive()
        events.append(msg["type"])
        await send({"type": "lifespan.shutdown.complete"})

    async def main():
        ls = Lifespan(app, "auto", log)
        await ls.startup()
        assert ls.state == {"db": "connected"} and ls.supported
        await ls.shutdown()

    run(main())
    assert events == ["lifespan.startup", "lifespan.shutdown"]


def test_startup_failed_raises_with_message():
    async def app(scope, receive, send):
        await receive()
        await send({"type": "lifespan.startup.failed", "message": "no database"})

    async def main():
        with pytest.raises(LifespanFailure, match="no database"):
            await Lifespan(app, "auto", log).startup()

    run(main())


def test_auto_tolerates_app_without_lifespan():
    async def app(scope, receive, send):
        raise ValueError("only http here")

    async def main():
        ls = Lifespan(app, "auto", log)
        await ls.startup()
        assert not ls.supported
        await ls.shutdown()

    run(main())


def test_on_requires_lifespan():
    async def app(scope, receive, send):
        raise ValueError("only http here")

    async def main():
        with pytest.raises(LifespanFailure, match="ValueError"):
            await Lifespan(app, "on", log).startup()

    run(main())


def test_off_never_calls_the_app():
    async def app(scope, receive, send):
        raise AssertionError("called")

    async def main():
        ls = Lifespan(app, "off", log)
        await ls.startup()
        await ls.shutdown()
        assert not ls.supported

    run(main())


def test_exception_after_startup_complete_does_not_hang_shutdown():
    async def app(scope, receive, send):
        await receive()
        await send({"type": "lifespan.startup.complete"})
        await receive()
        raise RuntimeError("boom at shutdown")

    async def main():
        ls = Lifespan(app, "on", log, timeout=5)
        await ls.startup()
        await asyncio.wait_for(ls.shutdown(), 3)

    run(main())
