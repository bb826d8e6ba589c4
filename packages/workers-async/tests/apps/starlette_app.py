"""A Starlette application exercising what the asgi worker must serve."""

import asyncio
import contextlib
import os

from starlette.applications import Starlette
from starlette.responses import (
    FileResponse,
    JSONResponse,
    PlainTextResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.websockets import WebSocketDisconnect

EVENTS_FILE = os.environ.get("ASGI_TEST_EVENTS")


def record(line):
    if EVENTS_FILE:
        with open(EVENTS_FILE, "a") as fh:
            fh.write(line + "\n")


@contextlib.asynccontextmanager
async def lifespan(app):
    record("startup")
    yield {"greeting": "hello from lifespan"}
    record("shutdown")


async def index(request):
    return PlainTextResponse("hello")


async def echo(request):
    size = 0
    chunks = []
    async for chunk in request.stream():
        size += len(chunk)
        chunks.append(chunk)
    return Response(b"".join(chunks), headers={"x-received": str(size)})


async def count_upload(request):
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        await asyncio.sleep(0)
    return JSONResponse({"size": size})


async def stream(request):
    async def gen():
        for i in range(5):
            yield f"chunk-{i}\n".encode()
            await asyncio.sleep(0.01)
    return StreamingResponse(gen(), media_type="text/plain")


async def big(request):
    n = int(request.query_params.get("n", "1000000"))
    chunk = b"x" * 65536

    async def gen():
        sent = 0
        while sent < n:
            piece = chunk[: n - sent]
            sent += len(piece)
            yield piece
    return StreamingResponse(gen(), media_type="application/octet-stream")


async def state(request):
    return PlainTextResponse(request.state.greeting)


async def slow(request):
    await asyncio.sleep(float(request.query_params.get("t", "1")))
    record("slow-done")
    return PlainTextResponse("slow done")


async def loop_name(request):
    loop = asyncio.get_running_loop()
    return PlainTextResponse(f"{type(loop).__module__}.{type(loop).__name__} {os.getpid()}")


async def this_file(request):
    return FileResponse(__file__, media_type="text/x-python")


async def block(request):
    import time
    time.sleep(float(request.query_params.get("t", "5")))  # blocks the event loop on purpose
    return PlainTextResponse("unblocked")


async def boom(request):
    raise RuntimeError("boom from the app")


async def info(request):
    scope = request.scope
    return JSONResponse({
        "path": scope["path"], "raw_path": scope["raw_path"].decode(),
        "root_path": scope["root_path"], "query": scope["query_string"].decode(),
        "http_version": scope["http_version"], "scheme": scope["scheme"],
        "client": list(scope["client"]) if scope["client"] else None,
        "headers": {k.decode(): v.decode() for k, v in scope["headers"]},
        "spec_version": scope["asgi"].get("spec_version"),
        "tls_version": scope["extensions"].get("tls", {}).get("tls_version"),
    })


async def ws_echo(websocket):
    await websocket.accept(subprotocol=(websocket.scope["subprotocols"] or [None])[0])
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                record(f"ws-disconnect {message.get('code')}")
                return
            if message.get("text") is not None:
                if message["text"] == "close-me":
                    await websocket.close(code=4000, reason="asked")
                    return
                await websocket.send_text(message["text"])
            else:
                await websocket.send_bytes(message["bytes"])
    except WebSocketDisconnect as exc:
        record(f"ws-disconnect {exc.code}")


async def ws_deny(websocket):
    await websocket.close()


async def trailers_app(scope, receive, send):
    await send({"type": "http.response.start", "status": 200, "trailers": True,
                "headers": [(b"content-type", b"text/plain"), (b"trailer", b"x-checksum")]})
    await send({"type": "http.response.body", "body": b"data", "more_body": False})
    await send({"type": "http.response.trailers", "headers": [(b"x-checksum", b"abc")],
                "more_trailers": False})


app = Starlette(lifespan=lifespan, routes=[
    Route("/", index),
    Route("/echo", echo, methods=["POST"]),
    Route("/upload", count_upload, methods=["POST"]),
    Route("/stream", stream),
    Route("/big", big),
    Route("/state", state),
    Route("/slow", slow),
    Route("/boom", boom),
    Route("/block", block),
    Route("/file", this_file),
    Route("/loop", loop_name),
    Route("/info/{rest:path}", info),
    WebSocketRoute("/ws", ws_echo),
    WebSocketRoute("/ws-deny", ws_deny),
    Mount("/trailers", trailers_app),
])
