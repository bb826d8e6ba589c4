"""Turn the vars of a uwsgi packet into core's ``Request`` and its ready-made CGI environ.

nginx sends the request as CGI variables: they are the WSGI environ already.
The vars dict is kept as the environ (``environ_complete``); the request line
facts are read from it, and the header list is only built if someone asks.
"""

from __future__ import annotations

import re
from typing import NamedTuple
from urllib.parse import quote

from gunicorn.http.events import Request
from gunicorn.uwsgi.errors import InvalidUWSGIHeader
from gunicorn.wsgi.environ import to_wsgi_path

# Body vars and the header each stands for. nginx sends both CONTENT_TYPE (from
# uwsgi_params) and HTTP_CONTENT_TYPE (the client's header): one is kept.
_BODY_VARS = (("CONTENT_TYPE", "HTTP_CONTENT_TYPE", "CONTENT-TYPE"),
              ("CONTENT_LENGTH", "HTTP_CONTENT_LENGTH", "CONTENT-LENGTH"))
_FORWARDED_BODY_VARS = frozenset(forwarded for _var, forwarded, _name in _BODY_VARS)
# Body header name -> its environ key (no HTTP_ prefix, PEP 3333).
_BODY_KEYS = {name: var for var, _forwarded, name in _BODY_VARS}
# Environ keys PEP 3333 requires to be non-empty that the server can supply: an
# empty var (nginx's $server_name when no server_name is set) is dropped, and the
# adapter fills in its own value (Host or listener, socket peer).
_SERVER_FILLED = ("SERVER_NAME", "SERVER_PORT", "REMOTE_ADDR")
_PROTOCOL = re.compile(r"HTTP/(\d)(?:\.(\d))?\Z")
_TRUE = frozenset({"on", "1", "true", "yes"})
# Characters that stay literal when a decoded PATH_INFO is turned back into a raw path.
_PATH_SAFE = "/!$&'()*+,;=:@-._~"
# Var name -> header name, and SERVER_PROTOCOL -> version, for the few values nginx
# sends over and over (bounded, so odd values cannot grow them).
_HEADER_NAMES: dict[str, str] = {}
_VERSIONS: dict[str, tuple] = {}
_HEADER_NAMES_LIMIT = 1024
# Up to 10**18 - 1 bytes; longer digit strings are junk (and int() caps at 4300 digits).
_MAX_LENGTH_DIGITS = 18


class RequestParts(NamedTuple):
    """Everything a uwsgi packet says about one request."""

    method: str
    uri: str
    path: str
    query: str
    version: tuple
    scheme: str
    content_length: int
    keep_alive: bool
    #: The CGI/WSGI environ keys of the request (HTTP_* included).
    environ: dict
    #: The header list when it had to be kept apart (repeated names), else None.
    explicit_headers: list | None

    @property
    def headers(self) -> list:
        if self.explicit_headers is not None:
            return self.explicit_headers
        return headers_from_environ(self.environ)


class UWSGIRequest(Request):
    """core's ``Request`` whose header list is derived from the environ on first use.

    A WSGI app reads the environ, so the list is usually never needed; the asgi
    worker, hooks and the access log get it when they look.
    """

    __slots__ = ("_headers", "_headers_seen", "_environ")

    def __init__(self, parts: RequestParts, must_close: bool, peer_addr, req_number: int):
        super().__init__(
            parts.method, parts.uri, parts.path, parts.query, "", parts.version,
            parts.explicit_headers, scheme=parts.scheme, content_length=parts.content_length,
            # nginx has read the whole body before it connects: never ask for it.
            expect_continue=False, must_close=must_close, peer_addr=peer_addr,
            req_number=req_number, extra_environ=parts.environ, environ_complete=True)

    @property
    def headers(self):
        headers = self._headers
        if headers is None:
            headers = self._headers = headers_from_environ(self._environ)
            self._headers_seen = tuple(headers)
        return headers

    @headers.setter
    def headers(self, value):
        self._headers = value
        self._headers_seen = None

    @property
    def extra_environ(self):
        # The environ's HTTP_* keys follow the header list: a pre_request hook
        # may have changed it, and upstream builds the environ after the hook.
        headers = self._headers
        if headers is not None and tuple(headers) != self._headers_seen:
            _set_header_vars(self._environ, headers)
            self._headers_seen = tuple(headers)
        return self._environ

    @extra_environ.setter
    def extra_environ(self, value):
        self._environ = value


def request_parts(pairs: list[tuple[str, str]], is_ssl: bool = False,
                  script_name: str = "") -> RequestParts:
    """``environ_parts`` for vars given as ``(name, value)`` pairs, repeats allowed.

    The first of a repeated CGI var wins (nginx sends uwsgi_params first); a
    repeated header stays apart in the header list and is joined with commas (Cookie
    with "; ") in
    the environ, as core does for HTTP/1.1. A repeated Host is refused, as
    HTTP/1.1 refuses it (RFC 9112 section 3.2): nginx never sends one.
    """
    env: dict[str, str] = {}
    headers: list[tuple[str, str]] = []
    for key, value in pairs:
        if key[:5] == "HTTP_":
            if key == "HTTP_HOST" and key in env:
                raise InvalidUWSGIHeader("repeated Host header")
            if key not in _FORWARDED_BODY_VARS:
                # (The body headers go last, once, as environ_parts settles them.)
                headers.append((header_name(key), value))
            if key in env:
                env[key] = _joined(key, env[key], value)
                continue
        elif key in env:
            continue
        env[key] = value
    return environ_parts(env, is_ssl, script_name, headers)


def environ_parts(env: dict[str, str], is_ssl: bool = False, script_name: str = "",
                  headers: list | None = None) -> RequestParts:
    """Read method, target, body length and scheme from the vars; ``env`` becomes the environ.

    ``script_name`` is the mount point gunicorn is configured with (``-e
    SCRIPT_NAME=...``); a ``SCRIPT_NAME`` var from nginx takes its place.
    ``env`` is changed in place into the request's environ keys.
    """
    get = env.get
    _check_field_values(env)
    for var, forwarded, _name in _BODY_VARS:
        value = env.pop(forwarded, None)
        # An empty var nginx sent stays empty (PEP 3333: "may be empty or absent"),
        # as upstream gunicorn and uWSGI keep it: apps read environ["CONTENT_TYPE"].
        if value and not get(var):
            env[var] = value
    for key in _SERVER_FILLED:
        if get(key) == "":
            del env[key]

    method = get("REQUEST_METHOD") or "GET"
    env["REQUEST_METHOD"] = method
    query = get("QUERY_STRING")
    if query is None:
        query = env["QUERY_STRING"] = ""
    protocol = get("SERVER_PROTOCOL", "")
    version = _version(protocol)
    if not protocol:
        env["SERVER_PROTOCOL"] = "HTTP/%d.%d" % version
    scheme = env["wsgi.url_scheme"] = _scheme(env, is_ssl)

    script_name, full_path = _mount(env, script_name)
    uri, path = _target(env, query, full_path)
    if "RAW_URI" not in env:
        env["RAW_URI"] = uri
    if full_path is None:
        # No PATH_INFO var: the decoded path of the target, under the mount if it is.
        full_path = to_wsgi_path(path)
        if script_name and full_path != script_name \
                and not full_path.startswith(script_name + "/"):
            full_path = script_name + full_path
    if script_name:
        env["SCRIPT_NAME"] = script_name
        # WSGI (PEP 3333): PATH_INFO is what follows SCRIPT_NAME.
        env["PATH_INFO"] = full_path[len(script_name):]
    else:
        if "SCRIPT_NAME" not in env:
            env["SCRIPT_NAME"] = ""
        env["PATH_INFO"] = full_path

    if headers is not None:
        _append_body_headers(env, headers)
    connection = get("HTTP_CONNECTION")
    # Default keep-alive, whatever SERVER_PROTOCOL says; only "Connection: close" ends it.
    keep_alive = not connection or "close" not in connection.lower() \
        or not _says_close(connection)
    return RequestParts(method, uri, path, query, version, scheme,
                        _content_length(get("CONTENT_LENGTH", "")), keep_alive, env, headers)


def headers_from_environ(env: dict) -> list[tuple[str, str]]:
    """The request's header list, from the HTTP_* keys then the body keys of ``env``."""
    headers = [(header_name(key), value) for key, value in env.items() if key[:5] == "HTTP_"]
    _append_body_headers(env, headers)
    return headers


def _set_header_vars(env: dict, headers: list) -> None:
    """Make the HTTP_* and body keys of ``env`` those of ``headers``, as core's HTTP/1.1 environ does."""
    for key in [key for key in env if key[:5] == "HTTP_" or key in ("CONTENT_TYPE", "CONTENT_LENGTH")]:
        del env[key]
    for name, value in headers:
        key = _BODY_KEYS.get(name)
        if key is None:
            key = "HTTP_" + name.replace("-", "_")
        env[key] = _joined(key, env[key], value) if key in env else value


def _joined(key: str, first: str, value: str) -> str:
    """Two values of a repeated header as one environ value."""
    if key == "HTTP_COOKIE":
        # RFC 6265 section 5.4 (and RFC 9113 section 8.2.3): cookie pairs are
        # separated by "; ", as nginx's own $http_cookie joins them; a "," would
        # read as part of the first cookie's value.
        return first + "; " + value
    # RFC 9110 section 5.3: repeated fields combine with commas.
    return first + "," + value


def _append_body_headers(env: dict, headers: list) -> None:
    for var, _forwarded, name in _BODY_VARS:
        value = env.get(var)
        if value:
            headers.append((name, value))


def header_name(key: str) -> str:
    """``HTTP_X_FOO`` -> ``X-FOO``, remembered for the next request (bounded)."""
    name = _HEADER_NAMES.get(key)
    if name is None:
        name = key[5:].replace("_", "-")
        if len(_HEADER_NAMES) < _HEADER_NAMES_LIMIT:
            _HEADER_NAMES[key] = name
    return name


def _check_field_values(env: dict) -> None:
    # RFC 9110 section 5.5: field values never contain CR, LF or NUL. One scan of
    # all the values first: PATH_INFO may hold a decoded %0A, headers may not.
    values = "".join(env.values())
    if "\r" not in values and "\n" not in values and "\x00" not in values:
        return
    for key, value in env.items():
        if key[:5] == "HTTP_" or key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            if "\r" in value or "\n" in value or "\x00" in value:
                name = header_name(key) if key[:5] == "HTTP_" else key.replace("_", "-")
                raise InvalidUWSGIHeader(f"invalid character in header {name}")


def _mount(env: dict, configured: str) -> tuple[str, str | None]:
    """The effective SCRIPT_NAME and the decoded full path (None without PATH_INFO).

    nginx's PATH_INFO ($document_uri) is usually the full path, already starting
    with SCRIPT_NAME; one that does not is taken as relative to it, CGI-style.
    """
    script_name = (env.get("SCRIPT_NAME") or configured).rstrip("/")
    path_info = env.get("PATH_INFO")
    if path_info is None or not script_name:
        return script_name, path_info
    if path_info == script_name or path_info.startswith(script_name + "/"):
        return script_name, path_info
    return script_name, script_name + path_info


def _target(env: dict, query: str, full_path: str | None) -> tuple[str, str]:
    """The raw request target and its %-encoded path."""
    uri = env.get("REQUEST_URI", "")
    if uri[:1] == "/":
        # origin-form, what nginx sends: the path is what precedes "?" (or "#").
        if "?" in uri or "#" in uri:
            return uri, uri.split("#", 1)[0].split("?", 1)[0]
        return uri, uri
    if uri:
        if "://" in uri.split("?", 1)[0]:
            # absolute-form (RFC 9112 section 3.2.2): keep only the path
            after_scheme = uri.split("://", 1)[1]
            slash = after_scheme.find("/")
            path_and_query = after_scheme[slash:] if slash >= 0 else "/"
        else:
            path_and_query = uri
        path = path_and_query.split("#", 1)[0].split("?", 1)[0]
        return uri, path
    # No REQUEST_URI: rebuild one from the decoded CGI vars.
    path = quote((full_path or "").encode("latin-1"), safe=_PATH_SAFE) or "/"
    return (f"{path}?{query}" if query else path), path


def _version(protocol: str) -> tuple:
    version = _VERSIONS.get(protocol)
    if version is None:
        match = _PROTOCOL.match(protocol)
        version = (int(match.group(1)), int(match.group(2) or 0)) if match else (1, 1)
        if len(_VERSIONS) < _HEADER_NAMES_LIMIT:
            _VERSIONS[protocol] = version
    return version


def _scheme(env: dict, is_ssl: bool) -> str:
    uwsgi_scheme = env.get("UWSGI_SCHEME", "").lower()
    if uwsgi_scheme in ("http", "https"):
        return uwsgi_scheme
    if env.get("HTTPS", "").lower() in _TRUE:
        return "https"
    if env.get("REQUEST_SCHEME", "").lower() == "https":
        return "https"
    return "https" if is_ssl else "http"


def _content_length(value: str) -> int:
    value = value.strip()
    # Anything but plain digits (a sign, spaces, junk) means no body, as does a missing value.
    if not (value.isdigit() and value.isascii()):
        return 0
    if len(value) > _MAX_LENGTH_DIGITS:
        raise InvalidUWSGIHeader(f"CONTENT_LENGTH of {len(value)} digits")
    return int(value)


def _says_close(value: str) -> bool:
    return "close" in {token.strip().lower() for token in value.split(",")}
