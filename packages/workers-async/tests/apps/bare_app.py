"""A raw ASGI app that knows only ``http`` (no lifespan)."""


async def app(scope, receive, send):
    assert scope["type"] == "http", "no lifespan here"
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"bare"})
