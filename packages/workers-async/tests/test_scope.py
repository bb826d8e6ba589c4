"""ASGI scopes and the access-log environ built from core Request events."""

from gunicorn.asgi.access import request_environ
from gunicorn.asgi.scope import http_scope, websocket_scope
from gunicorn.http.events import Request


def make_request(path="/caf%C3%A9/a%2Fb", query="x=1&y=%20", headers=None, scheme="http"):
    headers = headers or [("HOST", "example.com"), ("X-CUSTOM", "v")]
    return Request("GET", path + ("?" + query if query else ""), path, query, "", (1, 1),
                   headers, scheme=scheme)


def test_http_scope_fields():
    scope = http_scope(make_request(), ("127.0.0.1", 5000), ("127.0.0.1", 8000),
                       root_path="/api", state={"k": 1})
    assert scope["type"] == "http"
    assert scope["asgi"] == {"version": "3.0", "spec_version": "2.4"}
    assert scope["http_version"] == "1.1"
    assert scope["method"] == "GET" and scope["scheme"] == "http"
    # root_path is not prepended (as upstream's asgi worker)
    assert scope["path"] == "/café/a/b"
    assert scope["raw_path"] == b"/caf%C3%A9/a%2Fb"
    assert scope["query_string"] == b"x=1&y=%20"
    assert scope["root_path"] == "/api"
    assert scope["headers"] == [(b"host", b"example.com"), (b"x-custom", b"v")]
    assert scope["client"] == ("127.0.0.1", 5000)
    assert scope["server"] == ("127.0.0.1", 8000)
    assert scope["state"] == {"k": 1}


def test_state_is_a_copy_per_request():
    state = {"k": 1}
    scope = http_scope(make_request(), None, None, state=state)
    scope["state"]["k"] = 2
    assert state["k"] == 1


def test_unix_socket_addresses():
    scope = http_scope(make_request(), "", "/tmp/g.sock")
    assert scope["client"] is None and scope["server"] == ("/tmp/g.sock", None)


def test_websocket_scope():
    req = make_request(headers=[("SEC-WEBSOCKET-PROTOCOL", "a, b")], scheme="https")
    scope = websocket_scope(req, None, None)
    assert scope["type"] == "websocket" and scope["scheme"] == "wss"
    assert scope["subprotocols"] == ["a", "b"]
    assert "method" not in scope


def test_access_environ():
    env = request_environ(make_request(), ("10.0.0.1", 1234), ("127.0.0.1", 80))
    assert env["REMOTE_ADDR"] == "10.0.0.1"
    assert env["RAW_URI"] == "/caf%C3%A9/a%2Fb?x=1&y=%20"
    assert env["HTTP_X_CUSTOM"] == "v" and env["SERVER_PROTOCOL"] == "HTTP/1.1"


def test_proxy_protocol_client_wins():
    from gunicorn.http.proxy_protocol import ProxyInfo

    req = make_request()
    req.proxy = ProxyInfo("TCP4", "203.0.113.7", 5555, "10.0.0.1", 80)
    req.extra_environ.update(req.proxy.environ())
    assert http_scope(req, ("10.0.0.1", 1), None)["client"] == ("203.0.113.7", 5555)
    assert request_environ(req, ("10.0.0.1", 1), None)["REMOTE_ADDR"] == "203.0.113.7"


def test_an_upgrade_field_is_left_to_the_caller_unless_allowed():
    from gunicorn.asgi.scope import build_http_scope

    req = make_request(headers=[("HOST", "a"), ("UPGRADE", "h2c"), ("X-A", "1")])
    assert build_http_scope(req, None, None, "", None) is None
    scope = build_http_scope(req, None, None, "", None, upgrade=True)
    assert scope["headers"] == [(b"host", b"a"), (b"upgrade", b"h2c"), (b"x-a", b"1")]
    # The public helper always answers (the worker decides about upgrades first).
    assert http_scope(req, None, None)["headers"] == scope["headers"]


def test_each_scope_has_its_own_mutable_parts():
    first = http_scope(make_request(), None, None)
    second = http_scope(make_request(), None, None)
    assert first["asgi"] is not second["asgi"]
    assert first["extensions"] is not second["extensions"]
    assert first["extensions"]["http.response.trailers"] is not \
        second["extensions"]["http.response.trailers"]
    assert first["headers"] is not second["headers"]


def test_access_environ_of_a_request_that_brought_its_environ():
    # uwsgi vars are the whole CGI environ, HTTP_* included: the header list
    # (derived from the same vars) must not add every value a second time.
    req = make_request(headers=[("HOST", "front.test"), ("USER-AGENT", "probe"),
                                ("CONTENT-TYPE", "text/plain")])
    req.extra_environ.update({"HTTP_HOST": "front.test", "HTTP_USER_AGENT": "probe",
                              "CONTENT_TYPE": "text/plain", "REMOTE_ADDR": "203.0.113.7"})
    req.environ_complete = True
    env = request_environ(req, ("127.0.0.1", 1), None)
    assert env["HTTP_USER_AGENT"] == "probe" and env["HTTP_HOST"] == "front.test"
    assert env["CONTENT_TYPE"] == "text/plain" and env["REMOTE_ADDR"] == "203.0.113.7"


# -- differences from upstream 27.0.1's asgi worker, checked on a real server --------

def _audit_server(*args, env=None):
    from pathlib import Path

    from gunicorn_testsupport import ServerProcess

    return ServerProcess("-k", "asgi", *args, "apps.audit_app:app",
                         cwd=Path(__file__).parent, env=env or {})


def test_scope_has_an_empty_state_without_lifespan():
    # Upstream gives every scope a "state" dict, even when the app has no lifespan.
    import httpx

    with _audit_server() as srv:
        scope = httpx.get(srv.url("/s")).json()
    assert scope["state"] == {}
    assert "http.response.early_hint" in scope["extensions"]


def test_scope_state_comes_from_lifespan():
    import httpx

    with _audit_server(env={"AUDIT_LIFESPAN": "1"}) as srv:
        assert httpx.get(srv.url("/s")).json()["state"] == {"db": "up"}


def test_root_path_is_not_prepended_on_a_real_server():
    import httpx

    with _audit_server("--root-path", "/api") as srv:
        stripped = httpx.get(srv.url("/x/y?q=1")).json()
        full = httpx.get(srv.url("/api/x")).json()
    assert (stripped["root_path"], stripped["path"], stripped["raw_path"]) == \
        ("/api", "/x/y", "/x/y")
    assert (full["path"], full["raw_path"]) == ("/api/x", "/api/x")
