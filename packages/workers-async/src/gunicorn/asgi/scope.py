"""Build ASGI ``http`` and ``websocket`` scopes from core's ``Request`` event."""

from __future__ import annotations

from urllib.parse import unquote

from gunicorn.asgi.websocket_handshake import requested_subprotocols

ASGI_VERSION = "3.0"
# 2.4: send() on a closed connection raises an OSError subclass (ClientDisconnected).
HTTP_SPEC_VERSION = "2.4"
WEBSOCKET_SPEC_VERSION = "2.4"


def address(addr):
    """An ASGI ``client``/``server`` pair, or None for an unnamed (unix) peer."""
    if isinstance(addr, tuple) and len(addr) >= 2:
        return (str(addr[0]), int(addr[1]))
    if isinstance(addr, str) and addr:
        return (addr, None)
    return None


def _split_target(request):
    raw = request.path if request.path else "/"
    if isinstance(raw, str):
        raw = raw.encode("latin-1")
    query = request.query or ""
    if isinstance(query, str):
        query = query.encode("latin-1")
    return raw, query


# Upper-case str field name (core) -> lower-case bytes (ASGI); names repeat, so
# each is converted once.  Bounded: a client could send endless distinct names.
_NAME_BYTES: dict = {}
_NAME_BYTES_MAX = 1024
_HTTP_VERSIONS = {(1, 1): "1.1", (1, 0): "1.0"}


def _name_bytes(name):
    lowered = name.lower().encode("latin-1")
    # Never cached: build_http_scope looks at each Upgrade field.
    if name != "UPGRADE":
        if len(_NAME_BYTES) >= _NAME_BYTES_MAX:
            _NAME_BYTES.clear()
        _NAME_BYTES[name] = lowered
    return lowered


def headers_as_bytes(request) -> list:
    # ASGI wants lower-case header names; core gives upper-case latin-1 strings.
    names = _NAME_BYTES
    out = []
    append = out.append
    for name, value in request.headers:
        lowered = names.get(name)
        if lowered is None:
            lowered = _name_bytes(name)
        append((lowered, value.encode("latin-1")))
    return out


def client_address(request, peer_address):
    """The ASGI ``client``: the address the protocol reports, else the socket peer.

    A protocol that learns the real client (uwsgi vars from nginx, a PROXY header)
    puts it in ``extra_environ`` as REMOTE_ADDR/REMOTE_PORT, as for WSGI.
    """
    extra = getattr(request, "extra_environ", None)
    if extra and extra.get("REMOTE_ADDR"):
        port = extra.get("REMOTE_PORT") or 0
        try:
            port = int(port)
        except ValueError:
            port = 0
        return (extra["REMOTE_ADDR"], port)
    proxy = getattr(request, "proxy", None)
    if proxy is not None and getattr(proxy, "client_addr", None):
        port = proxy.client_port
        return (str(proxy.client_addr), int(port) if port is not None else 0)
    return peer_address


def _common(request, client, server, root_path, state):
    raw_path, query = _split_target(request)
    # ASGI: ``path`` is percent-decoded and UTF-8 decoded, and includes root_path.
    path = unquote(raw_path.decode("latin-1"), encoding="utf-8", errors="replace")
    version = request.version
    http_version = _HTTP_VERSIONS.get(version)
    if http_version is None:
        version = tuple(version)
        http_version = (f"{version[0]}.{version[1]}" if version < (2, 0)
                        else str(version[0]))
    scope = {
        "asgi": {"version": ASGI_VERSION},
        "http_version": http_version,
        "path": root_path + path if root_path else path,
        "raw_path": root_path.encode("utf-8") + raw_path if root_path else raw_path,
        "query_string": query,
        "root_path": root_path,
        "headers": headers_as_bytes(request),
        "client": client_address(request, client),
        "server": server,
    }
    if state is not None:
        # Each request gets a shallow copy of the lifespan state (ASGI lifespan spec).
        scope["state"] = dict(state)
    return scope


def build_http_scope(request, client, server, root_path, state, upgrade=False):
    """``http_scope`` with the connection's ``address()`` pairs already computed.

    The same fields as ``_common`` plus the http ones, in one function: it runs
    for every request.  Returns None for a request with an Upgrade field unless
    ``upgrade`` is true: the caller first sees whether it is a WebSocket.
    """
    names = _NAME_BYTES
    headers = []
    append = headers.append
    for name, value in request.headers:
        lowered = names.get(name)
        if lowered is None:
            if name == "UPGRADE" and not upgrade:
                return None
            lowered = _name_bytes(name)
        append((lowered, value.encode("latin-1")))
    path = request.path or "/"
    if isinstance(path, str):
        raw_path = path.encode("latin-1")
    else:
        raw_path = path
        path = path.decode("latin-1")
    # ASGI: ``path`` is percent-decoded and UTF-8 decoded, and includes root_path.
    if "%" in path:
        path = unquote(path, encoding="utf-8", errors="replace")
    query = request.query
    if not query:
        query = b""
    elif isinstance(query, str):
        query = query.encode("latin-1")
    http_version = _HTTP_VERSIONS.get(request.version)
    if http_version is None:
        version = tuple(request.version)
        http_version = (f"{version[0]}.{version[1]}" if version < (2, 0)
                        else str(version[0]))
    if root_path:
        path = root_path + path
        raw_path = root_path.encode("utf-8") + raw_path
    if request.extra_environ or request.proxy is not None:
        client = client_address(request, client)
    scope = {
        "type": "http",
        "asgi": {"version": ASGI_VERSION, "spec_version": HTTP_SPEC_VERSION},
        "http_version": http_version,
        "method": request.method,
        "scheme": request.scheme or "http",
        "path": path,
        "raw_path": raw_path,
        "query_string": query,
        "root_path": root_path,
        "headers": headers,
        "client": client,
        "server": server,
        "extensions": {"http.response.trailers": {}, "http.response.pathsend": {}},
    }
    if state is not None:
        # Each request gets a shallow copy of the lifespan state (ASGI lifespan spec).
        scope["state"] = dict(state)
    return scope


def http_scope(request, peer, sockname, root_path="", state=None) -> dict:
    return build_http_scope(request, address(peer), address(sockname), root_path, state,
                            upgrade=True)


def websocket_scope(request, peer, sockname, root_path="", state=None) -> dict:
    scope = _common(request, address(peer), address(sockname), root_path, state)
    scope["type"] = "websocket"
    scope["asgi"]["spec_version"] = WEBSOCKET_SPEC_VERSION
    scope["scheme"] = "wss" if request.scheme == "https" else "ws"
    scope["subprotocols"] = requested_subprotocols(request.headers)
    scope["extensions"] = {"websocket.http.response": {}}
    return scope
