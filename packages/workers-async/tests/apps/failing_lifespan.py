"""An ASGI app whose lifespan startup fails."""


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        await receive()
        await send({"type": "lifespan.startup.failed", "message": "database unreachable"})
        return
    raise RuntimeError("never serves")
