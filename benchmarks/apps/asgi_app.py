"""ASGI benchmark app: the same three endpoints as wsgi_app, plus lifespan."""

HELLO = b"Hello, World!"
BIG = b"x" * (64 * 1024)


def _start(status, content_type, length):
    return {
        "type": "http.response.start",
        "status": status,
        "headers": [
            (b"content-type", content_type),
            (b"content-length", str(length).encode("ascii")),
        ],
    }


async def _respond(send, status, content_type, body):
    await send(_start(status, content_type, len(body)))
    await send({"type": "http.response.body", "body": body})


async def _drain_body(receive):
    total = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return total
        total += len(message.get("body", b""))
        if not message.get("more_body", False):
            return total


async def _lifespan(receive, send):
    # Servers with lifespan "auto" probe for it; answering keeps their logs quiet.
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        await _lifespan(receive, send)
        return
    path = scope["path"]
    if path == "/":
        await _respond(send, 200, b"text/plain", HELLO)
    elif path == "/64k":
        await _respond(send, 200, b"application/octet-stream", BIG)
    elif path == "/upload":
        total = await _drain_body(receive)
        await _respond(send, 200, b"text/plain", str(total).encode("ascii"))
    else:
        await _respond(send, 404, b"text/plain", b"not found")
