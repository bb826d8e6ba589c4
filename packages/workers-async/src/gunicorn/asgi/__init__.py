"""ASGI 3 adapter for gunicorn's event-loop worker: scopes, http and websocket cycles, lifespan."""
