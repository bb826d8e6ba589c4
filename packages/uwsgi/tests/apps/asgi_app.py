"""An ASGI app for running the uwsgi protocol under the asgi worker: echoes its scope and body."""

import hashlib
import json


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    if scope["path"].startswith("/stream"):
        count = int(scope["path"].rsplit("/", 1)[-1] or 16)
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/octet-stream")]})
        for index in range(count):
            await send({"type": "http.response.body", "body": bytes([index % 256]) * 65536,
                        "more_body": True})
        await send({"type": "http.response.body", "body": b""})
        return
    reply = json.dumps({
        "PATH_INFO": scope["path"],
        "QUERY_STRING": scope["query_string"].decode("latin-1"),
        "REQUEST_METHOD": scope["method"],
        "wsgi.url_scheme": scope["scheme"],
        "client": list(scope["client"]) if scope.get("client") else None,
        "server": list(scope["server"]) if scope.get("server") else None,
        "root_path": scope.get("root_path"),
        "headers": {"HTTP_" + k.decode().upper().replace("-", "_"): v.decode("latin-1")
                    for k, v in scope["headers"]},
        "length": len(body),
        "sha256": hashlib.sha256(body).hexdigest(),
    }).encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(reply)).encode())]})
    await send({"type": "http.response.body", "body": reply})
