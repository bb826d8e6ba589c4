"""The ASGI lifespan protocol: run the app's startup and shutdown once per worker."""

from __future__ import annotations

import asyncio

from gunicorn.asgi.scope import ASGI_VERSION


def _reported_failure(done) -> bool:
    """Whether the app already sent a ``*.failed`` message for this phase."""
    return done is not None and done.done() and not done.result()[0]


class LifespanFailure(Exception):
    """The application reported ``lifespan.startup.failed`` (or crashed when required)."""


class Lifespan:
    """Drives one ``lifespan`` scope.

    ``mode`` is the ``asgi_lifespan`` setting: ``on`` makes an app that does not
    speak lifespan an error, ``auto`` tolerates it, ``off`` never calls the app.
    ``state`` is the dict copied into every request scope.
    """

    def __init__(self, app, mode: str, log, timeout: float = 60.0):
        self.app = app
        self.mode = mode
        self.log = log
        self.timeout = timeout
        self.state: dict = {}
        self.supported = mode != "off"
        self._inbox: asyncio.Queue = asyncio.Queue()
        self._startup_done = None
        self._shutdown_done = None
        self._task = None
        self._error: str | None = None

    async def startup(self) -> None:
        if self.mode == "off":
            return
        loop = asyncio.get_running_loop()
        self._startup_done = loop.create_future()
        self._shutdown_done = loop.create_future()
        self._task = loop.create_task(self._main())
        await self._inbox.put({"type": "lifespan.startup"})
        await asyncio.wait([self._startup_done, self._task], timeout=self.timeout,
                           return_when=asyncio.FIRST_COMPLETED)
        if self._startup_done.done():
            ok, message = self._startup_done.result()
            if not ok:
                raise LifespanFailure(message or "application startup failed")
            return
        if self._task.done():
            # The app returned or raised without answering startup.
            if self.mode == "on":
                raise LifespanFailure(self._error or "application does not support lifespan")
            self.supported = False
            return
        raise LifespanFailure(f"application startup did not finish in {self.timeout:g}s")

    async def shutdown(self) -> None:
        if not self.supported or self._task is None or self._task.done():
            return
        await self._inbox.put({"type": "lifespan.shutdown"})
        await asyncio.wait([self._shutdown_done, self._task], timeout=self.timeout,
                           return_when=asyncio.FIRST_COMPLETED)
        if self._shutdown_done.done():
            ok, message = self._shutdown_done.result()
            if not ok:
                self.log.error("ASGI lifespan shutdown failed: %s", message)
        elif not self._task.done():
            self.log.warning("ASGI lifespan shutdown did not finish in %gs", self.timeout)
            self._task.cancel()

    async def _main(self) -> None:
        scope = {
            "type": "lifespan",
            "asgi": {"version": ASGI_VERSION, "spec_version": "2.0"},
            "state": self.state,
        }
        try:
            await self.app(scope, self._receive, self._send)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # noqa: BLE001 - the app's failure is data here
            self._error = f"{type(exc).__name__}: {exc}"
            if _reported_failure(self._startup_done) or _reported_failure(self._shutdown_done):
                # The app sent *.failed (Starlette: with the traceback) and then
                # re-raised: the failure is logged once, where it is handled.
                self.log.debug("ASGI lifespan raised after reporting failure: %s", self._error)
            elif self._startup_done.done() or self.mode == "on":
                self.log.exception("Exception in ASGI lifespan")
            else:
                # auto mode: an app that rejects the lifespan scope simply lacks it.
                self.log.debug("ASGI lifespan unsupported by the application: %s", self._error)
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise
        finally:
            # An app that returns after startup has nothing left to shut down.
            if self._startup_done.done() and not self._shutdown_done.done():
                self._shutdown_done.set_result((True, None))

    async def _receive(self):
        return await self._inbox.get()

    async def _send(self, message) -> None:
        kind = message["type"]
        if kind == "lifespan.startup.complete":
            self._startup_done.set_result((True, None))
        elif kind == "lifespan.startup.failed":
            self._startup_done.set_result((False, message.get("message", "")))
        elif kind == "lifespan.shutdown.complete":
            self._shutdown_done.set_result((True, None))
        elif kind == "lifespan.shutdown.failed":
            self._shutdown_done.set_result((False, message.get("message", "")))
        else:
            raise RuntimeError(f"unexpected ASGI lifespan message {kind!r}")
