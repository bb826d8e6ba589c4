"""The web side of the arbiter tests: POST a JSON call, get the dirty reply back as JSON."""

import json
import os

from gunicorn.dirty.client import get_dirty_client
from gunicorn.dirty.errors import DirtyAppError, DirtyError, DirtyNoWorkersAvailableError


def app(environ, start_response):
    size = int(environ.get("CONTENT_LENGTH") or 0)
    call = json.loads(environ["wsgi.input"].read(size) or b"{}")
    path = environ["PATH_INFO"]
    if path == "/env":
        body = {"pid": os.getpid(), "socket": os.environ.get("GUNICORN_DIRTY_SOCKET")}
        return _reply(start_response, body)
    try:
        client = get_dirty_client(timeout=call.get("timeout", 30.0))
        if path == "/stream":
            body = {"items": list(client.stream(call["app"], call["action"],
                                                *call.get("args", [])))}
        elif path == "/stash":
            from gunicorn.dirty import stash

            body = {"result": getattr(stash, call["op"])(*call.get("args", []))}
        else:
            body = {"result": client.execute(call["app"], call["action"],
                                             *call.get("args", []))}
    except DirtyError as exc:
        body = {"error_type": type(exc).__name__, "message": exc.message,
                "app_error": isinstance(exc, DirtyAppError),
                "details": sorted(exc.details or {}),
                "no_workers": isinstance(exc, DirtyNoWorkersAvailableError)}
    body["web_pid"] = os.getpid()
    return _reply(start_response, body)


def _reply(start_response, body):
    data = json.dumps(body).encode()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(data)))])
    return [data]
