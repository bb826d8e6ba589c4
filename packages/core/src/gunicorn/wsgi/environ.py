"""Build the PEP 3333 environ from a request head, the config and connection facts."""

import ipaddress
import os
from urllib.parse import unquote_to_bytes

from gunicorn import SERVER_SOFTWARE
from gunicorn.http.errors import ConfigurationProblem, InvalidSchemeHeaders
from gunicorn.wsgi.error_stream import ErrorStream
from gunicorn.wsgi.file_wrapper import FileWrapper

_PROTOCOLS = {(1, 1): "HTTP/1.1", (1, 0): "HTTP/1.0"}
# Default ports per scheme, for SERVER_PORT when neither Host nor listener gives one.
_SCHEME_PORTS = {"http": "80", "https": "443"}


def to_wsgi_path(raw_path):
    """Percent-decode a raw request path into a PEP 3333 "bytes as latin-1" str."""
    if "%" not in raw_path and raw_path.isascii():
        # Nothing to decode: the common path is its own WSGI form.
        return raw_path
    return unquote_to_bytes(raw_path).decode("latin-1")


# Peer addresses whose forwarded_allow_ips verdict is kept, per worker.
_VERDICTS_LIMIT = 4096
# Listener addresses as (name, port) strings.
_SERVERS = {}
# (Host value, default port) -> (name, port): clients repeat the same few hosts.
_HOSTS = {}
_HOSTS_LIMIT = 256


def split_host(host, default_port):
    """``(name, port)`` of a Host header value, brackets kept on IPv6 literals."""
    key = (host, default_port)
    parts = _HOSTS.get(key)
    if parts is None:
        parts = _split_host(host, default_port)
        if len(_HOSTS) < _HOSTS_LIMIT:
            _HOSTS[key] = parts
    return parts


def _split_host(host, default_port):
    host = host.strip()
    if host.startswith("["):
        # RFC 3986 IP-literal: "[v6addr]" optionally followed by ":port"
        end = host.find("]")
        if end != -1:
            name, rest = host[:end + 1], host[end + 1:]
            if rest.startswith(":") and rest[1:]:
                return name, rest[1:]
            return name, default_port
    name, sep, port = host.rpartition(":")
    if sep and ":" not in name:
        return name, port or default_port
    return host, default_port


def is_trusted_peer(peer, allowed, networks=None):
    """Whether ``peer`` is in ``forwarded_allow_ips`` (unix-socket peers always are)."""
    if not isinstance(peer, tuple):
        return True
    if "*" in (allowed or ()) or peer[0] in (allowed or ()):
        return True
    try:
        ip = ipaddress.ip_address(peer[0].split("%", 1)[0])
    except ValueError:
        return False
    if networks is None:
        networks = []
        for item in allowed or ():
            try:
                networks.append(ipaddress.ip_network(item.strip(), strict=False))
            except ValueError:
                continue
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip4 = ip.ipv4_mapped
        return any(ip in net or ip4 in net for net in networks)
    return any(ip in net for net in networks)


def _as_list(value):
    if value is None:
        return []
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return list(value)


class EnvironSettings:
    """What the environ takes from the config: computed once per worker, not per request."""

    def __init__(self, cfg, log=None, multithread=None):
        self.cfg = cfg
        allowed = _as_list(getattr(cfg, "forwarded_allow_ips", None))
        self.trust_all = "*" in allowed
        networks = None
        if hasattr(cfg, "forwarded_allow_networks") and not self.trust_all:
            try:
                networks = list(cfg.forwarded_allow_networks())
            except Exception:
                networks = None
        self.allowed = allowed
        if networks is None:
            networks = []
            for item in allowed:
                try:
                    networks.append(ipaddress.ip_network(item, strict=False))
                except ValueError:
                    continue
        self.networks = networks
        self._verdicts = {}
        self.secure_headers = {k.upper(): v for k, v in
                               (getattr(cfg, "secure_scheme_headers", None) or {}).items()}
        self.forwarder_headers = frozenset(
            h.strip().upper().replace("-", "_")
            for h in _as_list(getattr(cfg, "forwarder_headers", None)))
        self.script_name = self._configured_script_name(cfg)
        if multithread is None:
            multithread = (getattr(cfg, "threads", 1) or 1) > 1
        self.base = {
            "wsgi.version": (1, 0),
            "wsgi.errors": ErrorStream(log),
            "wsgi.multithread": bool(multithread),
            "wsgi.multiprocess": (getattr(cfg, "workers", 1) or 1) > 1,
            "wsgi.run_once": False,
            "wsgi.file_wrapper": FileWrapper,
            "wsgi.input_terminated": True,
            "SERVER_SOFTWARE": SERVER_SOFTWARE,
        }

    def trusts(self, peer):
        """Whether ``peer`` may set forwarding headers (forwarded_allow_ips)."""
        if self.trust_all:
            return True
        if not isinstance(peer, tuple):
            return True
        # Asked per connection: the answer per address is kept (bounded), since
        # parsing an address against the networks costs more than the request.
        host = peer[0]
        verdicts = self._verdicts
        verdict = verdicts.get(host)
        if verdict is None:
            verdict = is_trusted_peer(peer, self.allowed, self.networks)
            if len(verdicts) >= _VERDICTS_LIMIT:
                verdicts.clear()
            verdicts[host] = verdict
        return verdict

    @staticmethod
    def _configured_script_name(cfg):
        # raw_env (-e SCRIPT_NAME=/app) lands in os.environ in the worker; cfg.env
        # covers the moments before that (and embedders who only set the config).
        env = getattr(cfg, "env", None)
        if isinstance(env, dict) and env.get("SCRIPT_NAME"):
            return env["SCRIPT_NAME"]
        return os.environ.get("SCRIPT_NAME", "")


class ConnectionEnviron:
    """What the environ takes from one connection: computed once, reused per request.

    ``settings`` is an ``EnvironSettings`` (shared by a worker's connections) or
    a config, from which one is built.
    """

    def __init__(self, settings, sock, peer, server, is_ssl=False, log=None, multithread=None):
        if not isinstance(settings, EnvironSettings):
            settings = EnvironSettings(settings, log, multithread)
        self.settings = settings
        self.cfg = settings.cfg
        self.is_ssl = bool(is_ssl)
        self.peer = peer
        self.trusted = settings.trusts(peer)
        if self.trusted:
            self.secure_headers = settings.secure_headers
            self.forwarder_headers = settings.forwarder_headers
        else:
            self.secure_headers = {}
            self.forwarder_headers = frozenset()
        self.script_name = settings.script_name
        self.server = self._listener_server(server)

        # The connection's own keys, laid over the worker's shared ones per request
        # (most connections carry one request: no merged copy is kept).
        if isinstance(peer, tuple):
            own = {"gunicorn.socket": sock, "REMOTE_ADDR": peer[0], "REMOTE_PORT": str(peer[1])}
        elif isinstance(peer, bytes):
            own = {"gunicorn.socket": sock, "REMOTE_ADDR": peer.decode("latin-1")}
        else:
            # Unix-socket peers are usually unnamed: REMOTE_ADDR is then "".
            own = {"gunicorn.socket": sock, "REMOTE_ADDR": peer or ""}
        self._own = own
        self._shared = settings.base

    @property
    def base(self):
        """A new dict of the environ keys every request of this connection starts with."""
        environ = self._shared.copy()
        environ.update(self._own)
        return environ

    @staticmethod
    def _listener_server(server):
        if type(server) is tuple and len(server) == 2:
            # A worker has a few listeners: each address is converted once.
            named = _SERVERS.get(server)
            if named is None:
                named = (str(server[0]), str(server[1]))
                if len(_SERVERS) < _HOSTS_LIMIT:
                    _SERVERS[server] = named
            return named
        if isinstance(server, tuple):
            return str(server[0]), str(server[1])
        if isinstance(server, bytes):
            server = server.decode("latin-1")
        # Unix listener: its path stands in for the host name.
        return str(server or "localhost"), None

    def url_scheme(self, headers):
        """``https`` for TLS, or what a trusted proxy's secure scheme headers say.

        Two trusted headers that disagree are an attack or a broken proxy chain:
        refuse the request rather than guess.
        """
        scheme = "https" if self.is_ssl else "http"
        if not self.secure_headers:
            return scheme
        decided = None
        for name, value in headers:
            expected = self.secure_headers.get(name)
            if expected is None:
                continue
            said = "https" if value == expected else "http"
            if decided is None:
                decided = said
            elif said != decided:
                raise InvalidSchemeHeaders()
        return decided or scheme

    def build(self, req, wsgi_input, early_hints=None):
        """The environ dict for request head ``req`` reading its body from ``wsgi_input``."""
        if getattr(req, "environ_complete", False):
            return self._copy_cgi(req, wsgi_input, early_hints)
        environ = self._shared.copy()
        environ.update(self._own)
        environ["wsgi.input"] = wsgi_input
        if early_hints is not None:
            environ["wsgi.early_hints"] = early_hints
        environ["REQUEST_METHOD"] = req.method
        environ["RAW_URI"] = req.uri
        environ["QUERY_STRING"] = req.query or ""
        version = req.version
        protocol = _PROTOCOLS.get(version) if type(version) is tuple else None
        environ["SERVER_PROTOCOL"] = protocol if protocol is not None \
            else "HTTP/%d.%d" % tuple(version[:2])

        host = None
        script_name = self.script_name
        path = req.path or ""
        for name, value in req.headers:
            if name == "HOST":
                host = value
            elif name == "CONTENT-TYPE":
                environ["CONTENT_TYPE"] = value
                continue
            elif name == "CONTENT-LENGTH":
                environ["CONTENT_LENGTH"] = value
                continue
            elif name in ("SCRIPT_NAME", "PATH_INFO"):
                # Only a trusted proxy may set these, and only when listed in
                # forwarder_headers; otherwise the header is ignored outright.
                if name in self.forwarder_headers:
                    if name == "SCRIPT_NAME":
                        script_name = value
                    else:
                        path = value
                    continue
            key = "HTTP_" + name.replace("-", "_")
            if key in environ:
                # RFC 9110 section 5.3: repeated fields combine with commas, but
                # Cookie is not a list field: its pairs are separated by "; "
                # (RFC 6265 section 4.2.1, RFC 9113 section 8.2.3).
                separator = "; " if key == "HTTP_COOKIE" else ","
                environ[key] = environ[key] + separator + value
            else:
                environ[key] = value

        # The protocol already judged trusted scheme headers (and refused
        # contradictory ones); objects without that verdict get ours.
        scheme = getattr(req, "scheme", None) or self.url_scheme(req.headers)
        environ["wsgi.url_scheme"] = scheme

        # As upstream: a TCP listener names the server itself, whatever Host the
        # client sent (PEP 3333 rebuilds URLs from HTTP_HOST first anyway); only
        # a Unix socket, which has no host or port, takes them from Host.
        name, port = self.server
        if port is None:
            default_port = _SCHEME_PORTS.get(scheme, "")
            if host is not None:
                name, port = split_host(host, default_port)
            else:
                port = default_port
        environ["SERVER_NAME"] = name
        environ["SERVER_PORT"] = str(port)

        if script_name:
            script_name = script_name.rstrip("/")
        if script_name:
            path = _below_script_name(path, script_name, req)
        environ["SCRIPT_NAME"] = script_name
        extra = getattr(req, "extra_environ", None)
        if not extra or "PATH_INFO" not in extra:
            # (A protocol that gives PATH_INFO itself, uwsgi, needs no decoding.)
            environ["PATH_INFO"] = to_wsgi_path(path)

        proxy = getattr(req, "proxy", None)
        if proxy is not None:
            environ.update(proxy_environ(proxy))
        if extra:
            environ.update(extra)
        return environ


    def _copy_cgi(self, req, wsgi_input, early_hints):
        """The environ of a request whose protocol delivered the CGI variables.

        The protocol's variables win over the connection's own (REMOTE_ADDR is
        the real client, not the front end); keys it left out are filled in as
        for HTTP/1.1: the server name from Host or the listener, PATH_INFO from
        the request path.
        """
        environ = self._shared.copy()
        environ.update(self._own)
        proxy = getattr(req, "proxy", None)
        if proxy is not None:
            environ.update(proxy_environ(proxy))
        environ.update(req.extra_environ)
        environ["wsgi.input"] = wsgi_input
        if early_hints is not None:
            environ["wsgi.early_hints"] = early_hints
        if "SERVER_NAME" not in environ or "SERVER_PORT" not in environ:
            default_port = _SCHEME_PORTS.get(environ.get("wsgi.url_scheme"), "")
            host = environ.get("HTTP_HOST")
            if host is not None:
                name, port = split_host(host, default_port)
            else:
                name, port = self.server
                port = port or default_port
            environ.setdefault("SERVER_NAME", name)
            environ.setdefault("SERVER_PORT", str(port))
        if "PATH_INFO" not in environ:
            path = req.path or ""
            script_name = environ.setdefault("SCRIPT_NAME", "").rstrip("/")
            if script_name:
                path = _below_script_name(path, script_name, req)
            environ["PATH_INFO"] = to_wsgi_path(path)
        return environ


def _below_script_name(path, script_name, req):
    """``path`` less its ``script_name`` prefix; refuses a path outside the mount."""
    # PEP 3333: SCRIPT_NAME is a whole-segment prefix ("/app" is not a prefix
    # of "/application").
    if not path.startswith(script_name) or path[len(script_name):][:1] not in ("", "/"):
        raise ConfigurationProblem(
            "Request path %r does not start with SCRIPT_NAME %r" % (path, script_name), req)
    return path[len(script_name):]


def proxy_environ(proxy):
    """The PROXY_* keys (and the real client address) from PROXY protocol info."""
    info = proxy.as_dict() if hasattr(proxy, "as_dict") else dict(proxy)
    out = {}
    if info.get("proxy_protocol") is not None:
        out["PROXY_PROTOCOL"] = info["proxy_protocol"]
    if info.get("client_addr") is not None:
        out["REMOTE_ADDR"] = info["client_addr"]
    if info.get("client_port") is not None:
        out["REMOTE_PORT"] = str(info["client_port"])
    if info.get("proxy_addr") is not None:
        out["PROXY_ADDR"] = info["proxy_addr"]
    if info.get("proxy_port") is not None:
        out["PROXY_PORT"] = str(info["proxy_port"])
    return out


__all__ = ["ConnectionEnviron", "EnvironSettings", "to_wsgi_path", "split_host", "is_trusted_peer",
           "proxy_environ"]
