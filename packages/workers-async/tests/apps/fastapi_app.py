"""A FastAPI application: validation, path params, lifespan state, WebSocket."""

import contextlib

from fastapi import FastAPI, Request, WebSocket, WebSocketDisconnect
from pydantic import BaseModel


@contextlib.asynccontextmanager
async def lifespan(app):
    yield {"items_db": {"1": "one"}}


app = FastAPI(lifespan=lifespan)


class Item(BaseModel):
    name: str
    price: float


@app.get("/items/{item_id}")
async def read_item(item_id: str, request: Request, q: str | None = None):
    return {"item_id": item_id, "name": request.state.items_db.get(item_id), "q": q}


@app.post("/items")
async def create_item(item: Item):
    return {"name": item.name, "price_with_tax": round(item.price * 1.2, 2)}


@app.websocket("/ws/{room}")
async def room(websocket: WebSocket, room: str):
    await websocket.accept()
    try:
        while True:
            data = await websocket.receive_json()
            await websocket.send_json({"room": room, "echo": data})
    except WebSocketDisconnect:
        pass
