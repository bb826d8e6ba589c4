"""Turn the vars of a uwsgi packet into the parts of core's ``Request`` and WSGI environ extras."""

from __future__ import annotations

import re
from typing import NamedTuple
from urllib.parse import quote

from gunicorn.uwsgi.errors import InvalidUWSGIHeader

# Vars that carry no header but belong in the WSGI environ exactly as nginx sent them.
# HTTP_* become headers (and the WSGI adapter turns headers back into HTTP_*);
# CONTENT_TYPE/CONTENT_LENGTH become headers too.
_HEADER_VARS = {"CONTENT_TYPE": "CONTENT-TYPE", "CONTENT_LENGTH": "CONTENT-LENGTH"}
# Environ keys PEP 3333 requires to be non-empty: an empty var (nginx's $server_name
# when no server_name is set) leaves the adapter's own value in place.
_REQUIRED_NON_EMPTY = frozenset({"SERVER_NAME", "SERVER_PORT", "REMOTE_ADDR", "REQUEST_METHOD",
                                 "SERVER_PROTOCOL"})
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
    headers: list
    scheme: str
    content_length: int
    keep_alive: bool
    extra_environ: dict


def request_parts(pairs: list[tuple[str, str]], is_ssl: bool = False,
                  script_name: str = "") -> RequestParts:
    """Read method, target, headers, body length and environ extras from the vars.

    ``script_name`` is the mount point gunicorn is configured with (``-e
    SCRIPT_NAME=...``); a ``SCRIPT_NAME`` var from nginx takes its place.
    """
    env: dict[str, str] = {}
    extra: dict[str, str] = {}
    headers: list[tuple[str, str]] = []
    header_names = _HEADER_NAMES
    keep_alive = True
    for key, value in pairs:
        if key[:5] == "HTTP_":
            name = header_names.get(key)
            if name is None:
                name = _header_name(key)
            headers.append((name, value))
            if name == "CONNECTION" and keep_alive:
                keep_alive = not _says_close(value)
        elif key not in env:
            # The first of a repeated CGI var wins: nginx sends uwsgi_params first.
            env[key] = value
            if value or key not in _REQUIRED_NON_EMPTY:
                extra[key] = value
    if env.get("CONTENT_TYPE") or env.get("CONTENT_LENGTH"):
        headers = _body_headers(env, headers)
    extra.pop("CONTENT_TYPE", None)
    extra.pop("CONTENT_LENGTH", None)
    _check_field_values(headers)

    method = env.get("REQUEST_METHOD") or "GET"
    query = env.get("QUERY_STRING", "")
    script_name, full_path = _mount(env, script_name)
    uri, path = _target(env, query, full_path)
    version = _version(env.get("SERVER_PROTOCOL", ""))
    scheme = _scheme(env, is_ssl)

    if script_name:
        extra["SCRIPT_NAME"] = script_name
        if full_path is not None:
            # WSGI (PEP 3333): PATH_INFO is what follows SCRIPT_NAME.
            extra["PATH_INFO"] = full_path[len(script_name):]
    extra["wsgi.url_scheme"] = scheme

    return RequestParts(method, uri, path, query, version, headers, scheme,
                        _content_length(env.get("CONTENT_LENGTH", "")), keep_alive, extra)


def _header_name(key: str) -> str:
    """``HTTP_X_FOO`` -> ``X-FOO``, remembered for the next request (bounded)."""
    name = key[5:].replace("_", "-")
    if len(_HEADER_NAMES) < _HEADER_NAMES_LIMIT:
        _HEADER_NAMES[key] = name
    return name


def _body_headers(env: dict, headers: list) -> list:
    for key, name in _HEADER_VARS.items():
        if env.get(key):
            # nginx may send both CONTENT_TYPE and HTTP_CONTENT_TYPE: keep one header.
            headers = [(n, v) for n, v in headers if n != name]
            headers.append((name, env[key]))
    return headers


def _check_field_values(headers: list) -> None:
    # RFC 9110 section 5.5: field values never contain CR, LF or NUL.
    for name, value in headers:
        if "\r" in value or "\n" in value or "\x00" in value:
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
    # Default keep-alive, whatever SERVER_PROTOCOL says; only "Connection: close" ends it.
    return "close" in {token.strip().lower() for token in value.split(",")}
