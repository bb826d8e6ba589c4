"""An aiohttp application for ``aiohttp.worker.GunicornWebWorker``."""

from aiohttp import web


async def hello(request):
    return web.Response(text="hello from aiohttp")


async def make_app():
    app = web.Application()
    app.router.add_get("/", hello)
    return app

app = web.Application()
app.router.add_get("/", hello)
