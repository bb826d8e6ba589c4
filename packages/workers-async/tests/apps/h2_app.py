"""The Starlette test app plus raw ASGI endpoints the HTTP/2 tests need (failures mid-response)."""

import asyncio
import json

from apps.starlette_app import app as starlette_app


async def fail_mid_body(scope, receive, send):
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"partial", "more_body": True})
    raise RuntimeError("failed after the response started")


async def wait_disconnect(scope, receive, send):
    # Reads until the client resets the stream, then records that it heard it.
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            WAITERS.append("disconnected")
            return


async def heard(scope, receive, send):
    body = ",".join(WAITERS).encode()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


async def sleepy_stream(scope, receive, send):
    # A streaming body whose chunks come slowly: in flight during a graceful stop.
    await send({"type": "http.response.start", "status": 200, "headers": []})
    for i in range(4):
        await asyncio.sleep(0.25)
        await send({"type": "http.response.body", "body": b"part%d;" % i, "more_body": True})
    await send({"type": "http.response.body", "body": b"end"})


async def rendezvous(scope, receive, send):
    # Answers "met" only if another request arrived while this one waited:
    # two streams served one after the other never meet.
    ARRIVALS.append(1)
    deadline = asyncio.get_running_loop().time() + 5.0
    while len(ARRIVALS) % 2 and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.01)
    met = not len(ARRIVALS) % 2
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"met" if met else b"alone"})


async def ignore_body(scope, receive, send):
    # Answers without reading the request body.
    await asyncio.sleep(0.3)
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ignored"})


async def whole(scope, receive, send):
    # A big body in one message: the app is done long before a slow client has it.
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"w" * 200000})


ARRIVALS = []
WAITERS = []
async def stream_scope(scope, receive, send):
    # The header order and the priority extension, as upstream's scope has them.
    body = json.dumps({"headers": [[n.decode(), v.decode()] for n, v in scope["headers"]],
                       "priority": scope["extensions"].get("http.response.priority")}).encode()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


RAW = {"/fail-mid": fail_mid_body, "/stream-scope": stream_scope, "/wait-disconnect": wait_disconnect, "/heard": heard,
       "/sleepy-stream": sleepy_stream, "/rendezvous": rendezvous, "/ignore-body": ignore_body,
       "/whole": whole}


async def app(scope, receive, send):
    handler = RAW.get(scope.get("path")) if scope["type"] == "http" else None
    if handler is None:
        await starlette_app(scope, receive, send)
    else:
        await handler(scope, receive, send)
