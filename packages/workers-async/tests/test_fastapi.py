"""A FastAPI app served by the asgi worker: JSON, validation errors, lifespan state, WebSocket."""

import asyncio
import json
from pathlib import Path

import httpx
import pytest
import websockets
from gunicorn_testsupport import ServerProcess

pytest.importorskip("fastapi", reason="fastapi is not installed")
TESTS = Path(__file__).parent


@pytest.fixture(scope="module")
def server():
    with ServerProcess("-k", "asgi", "apps.fastapi_app:app", cwd=TESTS) as srv:
        yield srv


def test_path_query_and_state(server):
    r = httpx.get(server.url("/items/1?q=find"))
    assert r.json() == {"item_id": "1", "name": "one", "q": "find"}


def test_json_body_and_validation(server):
    r = httpx.post(server.url("/items"), json={"name": "pen", "price": 10})
    assert r.json() == {"name": "pen", "price_with_tax": 12.0}
    bad = httpx.post(server.url("/items"), json={"name": "pen"})
    assert bad.status_code == 422


def test_websocket_json(server):
    async def main():
        async with websockets.connect(f"ws://127.0.0.1:{server.port}/ws/lobby") as ws:
            await ws.send(json.dumps({"hello": "world"}))
            return json.loads(await ws.recv())
    assert asyncio.run(main()) == {"room": "lobby", "echo": {"hello": "world"}}
