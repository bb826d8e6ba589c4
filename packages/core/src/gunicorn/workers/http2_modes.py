"""What a worker's settings ask of HTTP/2, and the gunicorn-http2 plugin that serves it.

Shared by every worker class so that "is h2 wanted", "may a plain connection
open with the h2c preface" and "may an HTTP/1.1 request ask for Upgrade: h2c"
are decided in one place. Core never imports gunicorn.http2: the plugin is
found through the ``gunicorn.protocols`` entry point ``h2``.
"""

# --http2-cleartext values under which a connection may open with the h2c preface.
H2C_PRIOR_MODES = ("prior-knowledge", "both")
# --http2-cleartext values under which an HTTP/1.1 request may ask for Upgrade: h2c.
H2C_UPGRADE_MODES = ("upgrade", "both")


def wants_http2(cfg):
    """Whether ``http_protocols`` asks for HTTP/2."""
    protocols = getattr(cfg, "http_protocols", None) or ()
    if isinstance(protocols, str):
        protocols = protocols.split(",")
    return any(p.strip() == "h2" for p in protocols)


def h2c_modes(cfg, is_ssl):
    """``(prior_knowledge, upgrade)``: the cleartext HTTP/2 ways this listener allows.

    h2c needs a plain listener and core's HTTP/1 protocol to fall back to.
    """
    if is_ssl or (getattr(cfg, "protocol", "http") or "http") != "http":
        return False, False
    mode = getattr(cfg, "http2_cleartext", "off")
    return mode in H2C_PRIOR_MODES, mode in H2C_UPGRADE_MODES


def http2_unreachable(cfg):
    """Whether ``http_protocols`` lists h2 that no listener can negotiate.

    With neither TLS (ALPN, RFC 9113 section 3.2) nor ``--http2-cleartext``,
    no client can ever reach HTTP/2.
    """
    if not wants_http2(cfg) or getattr(cfg, "is_ssl", False):
        return False
    return h2c_modes(cfg, False) == (False, False)


def load_http2_plugin():
    """gunicorn-http2's plugin class (LookupError or ImportError when it is absent)."""
    from gunicorn import plugins

    return plugins.load_entry_point(plugins.PROTOCOLS_GROUP, "h2")
