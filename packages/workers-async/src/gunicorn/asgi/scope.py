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


def headers_as_bytes(request, upgrade=True):
    """ASGI headers (lower-case bytes names) from core's upper-case str pairs.

    None when a field is an Upgrade and ``upgrade`` is false: the caller first
    sees whether the request is a WebSocket.
    """
    names = _NAME_BYTES
    out = []
    append = out.append
    for name, value in request.headers:
        lowered = names.get(name)
        if lowered is None:
            if name == "UPGRADE" and not upgrade:
                return None
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


def _front_end_facts(environ, server, root_path):
    """``server`` and ``root_path`` from a front end's CGI vars (uwsgi behind nginx).

    The socket's address is the front end's link, not the server the client
    addressed; nginx names that one, and the mount point, in its vars, which is
    what the WSGI environ of the same request holds.
    """
    name, port = environ.get("SERVER_NAME"), environ.get("SERVER_PORT", "")
    if name and port.isdigit():
        server = (name, int(port))
    return server, environ.get("SCRIPT_NAME") or root_path


def _shared_scope(request, headers, client, server, root_path, state, spec_version):
    """The fields http and websocket scopes share; runs for every request."""
    path = request.path or "/"
    if isinstance(path, str):
        raw_path = path.encode("latin-1")
    else:
        raw_path = path
        path = path.decode("latin-1")
    # ASGI: ``path`` is percent-decoded and UTF-8 decoded.
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
    # ``root_path`` (the setting) is only reported, never prepended to ``path``:
    # upstream's asgi worker does the same, and frameworks (Starlette, Django)
    # strip a root_path that ``path`` starts with, so either proxy style works.
    if request.extra_environ or request.proxy is not None:
        client = client_address(request, client)
        if request.environ_complete:
            server, root_path = _front_end_facts(request.extra_environ, server, root_path)
    scope = {
        "asgi": {"version": ASGI_VERSION, "spec_version": spec_version},
        "http_version": http_version,
        "path": path,
        "raw_path": raw_path,
        "query_string": query,
        "root_path": root_path,
        "headers": headers,
        "client": client,
        "server": server,
    }
    # Each request gets a shallow copy of the lifespan state (ASGI lifespan spec);
    # an empty one when the app has no lifespan, as upstream gives.
    scope["state"] = dict(state) if state else {}
    return scope


def build_http_scope(request, client, server, root_path, state, upgrade=False):
    """``http_scope`` with the connection's ``address()`` pairs already computed.

    Returns None for a request with an Upgrade field unless ``upgrade`` is true:
    the caller first sees whether it is a WebSocket.
    """
    headers = headers_as_bytes(request, upgrade)
    if headers is None:
        return None
    scope = _shared_scope(request, headers, client, server, root_path, state,
                          HTTP_SPEC_VERSION)
    scope["type"] = "http"
    scope["method"] = request.method
    scope["scheme"] = request.scheme or "http"
    scope["extensions"] = {"http.response.trailers": {}, "http.response.pathsend": {},
                           "http.response.early_hint": {}}
    return scope


def http_scope(request, peer, sockname, root_path="", state=None) -> dict:
    return build_http_scope(request, address(peer), address(sockname), root_path, state,
                            upgrade=True)


def websocket_scope(request, peer, sockname, root_path="", state=None) -> dict:
    scope = _shared_scope(request, headers_as_bytes(request), address(peer),
                          address(sockname), root_path, state, WEBSOCKET_SPEC_VERSION)
    scope["type"] = "websocket"
    scope["scheme"] = "wss" if request.scheme == "https" else "ws"
    scope["subprotocols"] = requested_subprotocols(request.headers)
    scope["extensions"] = {"websocket.http.response": {}}
    return scope
