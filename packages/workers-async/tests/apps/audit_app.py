"""Raw ASGI app for the upstream-difference regressions: echoes its scope, sends 1xx
heads and str headers; no lifespan unless ``AUDIT_LIFESPAN`` is set."""

import asyncio
import json
import os


def _plain(value):
    if isinstance(value, bytes):
        return value.decode("latin-1")
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


async def _lifespan(scope, receive, send):
    if not os.environ.get("AUDIT_LIFESPAN"):
        raise RuntimeError("this app has no lifespan")
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            scope["state"]["db"] = "up"
            await send({"type": "lifespan.startup.complete"})
        else:
            await send({"type": "lifespan.shutdown.complete"})
            return


async def _finish(send, body, headers=()):
    await send({"type": "http.response.start", "status": 200, "headers": list(headers)})
    await send({"type": "http.response.body", "body": body})


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        return await _lifespan(scope, receive, send)
    if scope["type"] == "websocket":
        await receive()
        if scope["path"] == "/ws-str-headers":
            await send({"type": "websocket.accept", "headers": [("x-str", "yes")]})
        await send({"type": "websocket.close"})
        return
    path = scope["path"]
    while (await receive()).get("more_body"):
        pass
    if path == "/sleep":
        await asyncio.sleep(30)  # ignores http.disconnect: the grace period ends it
        await _finish(send, b"late")
    elif path == "/early-hint":
        await send({"type": "http.response.early_hint",
                    "links": [b"</style.css>; rel=preload; as=style"]})
        await _finish(send, b"hinted")
    elif path == "/informational":
        await send({"type": "http.response.informational", "status": 103,
                    "headers": [(b"link", b"</app.js>; rel=preload")]})
        await _finish(send, b"informed")
    elif path == "/after-end":
        await _finish(send, b"one")
        await send({"type": "http.response.body", "body": b"two"})
        await send({"type": "http.response.start", "status": 500, "headers": []})
    elif path == "/str-headers":
        await _finish(send, b"str", [("x-str", "yes"), ("Content-Type", "text/plain")])
    else:
        body = json.dumps({k: _plain(v) for k, v in scope.items()}, sort_keys=True)
        await _finish(send, body.encode(), [(b"content-type", b"application/json")])
