"""The settings the HTTP/1 parser reads, taken from cfg once per connection."""

from gunicorn.config_derived import derived_from_settings
from gunicorn.http.allow_lists import parse_networks
from gunicorn.http.request_head import FRAMING_FIELDS

MAX_REQUEST_LINE = 8190
MAX_HEADERS = 32768
DEFAULT_MAX_HEADERFIELD_SIZE = 8190

_DEFAULT_SECURE_SCHEME_HEADERS = {
    "X-FORWARDED-PROTOCOL": "ssl",
    "X-FORWARDED-PROTO": "https",
    "X-FORWARDED-SSL": "on",
}


def _networks(cfg, method_name, allow_ips):
    method = getattr(cfg, method_name, None)
    if callable(method):
        try:
            return list(method())
        except Exception:
            pass
    return parse_networks(allow_ips)


def _proxy_mode(value):
    if value is True:
        return "auto"
    if not value:
        return "off"
    value = str(value).lower()
    return value if value in ("v1", "v2", "auto") else "off"


@derived_from_settings
def options_for(cfg):
    """The ParserOptions for ``cfg``; one per Config, built again after a setting changes."""
    return ParserOptions(cfg)


class ParserOptions:
    """Limits and policies for one connection; any object with the cfg attributes works."""

    __slots__ = (
        "limit_request_line", "limit_request_fields", "limit_request_field_size",
        "max_head_size", "permit_obsolete_folding", "strip_header_spaces",
        "permit_unconventional_http_method", "permit_unconventional_http_version",
        "casefold_http_method", "header_map", "secure_scheme_headers",
        "forwarder_headers", "forwarded_allow_ips", "_forwarded_networks", "_cfg",
        "proxy_protocol", "proxy_allow_ips", "_proxy_networks", "max_chunk_line",
        "framing_fields",
    )

    def __init__(self, cfg):
        self._cfg = cfg
        get = getattr
        # 0 means unlimited (RFC 9112 section 3 leaves the limit to us); any
        # value above the cap is the cap.
        line = get(cfg, "limit_request_line", 4094)
        if line < 0 or line > MAX_REQUEST_LINE:
            line = MAX_REQUEST_LINE
        self.limit_request_line = line
        fields = get(cfg, "limit_request_fields", 100)
        if fields <= 0 or fields > MAX_HEADERS:
            fields = MAX_HEADERS
        self.limit_request_fields = fields
        field_size = get(cfg, "limit_request_field_size", 8190)
        if field_size < 0:
            field_size = DEFAULT_MAX_HEADERFIELD_SIZE
        self.limit_request_field_size = field_size  # 0: unlimited
        per_field = field_size or DEFAULT_MAX_HEADERFIELD_SIZE
        # The whole head may not exceed what the per-line limits allow.
        self.max_head_size = (line or 1024 * 1024) + 4 + fields * (per_field + 2) + 4
        self.max_chunk_line = per_field
        self.permit_obsolete_folding = bool(get(cfg, "permit_obsolete_folding", False))
        self.strip_header_spaces = bool(get(cfg, "strip_header_spaces", False))
        self.permit_unconventional_http_method = bool(
            get(cfg, "permit_unconventional_http_method", False))
        self.permit_unconventional_http_version = bool(
            get(cfg, "permit_unconventional_http_version", False))
        self.casefold_http_method = bool(get(cfg, "casefold_http_method", False))
        header_map = get(cfg, "header_map", "drop")
        self.header_map = header_map if header_map in ("drop", "dangerous") else "refuse"
        ssh = get(cfg, "secure_scheme_headers", _DEFAULT_SECURE_SCHEME_HEADERS) or {}
        self.secure_scheme_headers = {k.upper(): v for k, v in ssh.items()}
        # The head parser looks these fields up after its loop (request_head.py).
        self.framing_fields = FRAMING_FIELDS.union(self.secure_scheme_headers)
        fwd = get(cfg, "forwarder_headers", "SCRIPT_NAME,PATH_INFO") or ()
        if isinstance(fwd, str):
            fwd = fwd.split(",")
        self.forwarder_headers = frozenset(h.strip().upper() for h in fwd if h.strip())
        self.forwarded_allow_ips = get(cfg, "forwarded_allow_ips", ["127.0.0.1", "::1"])
        self._forwarded_networks = None
        self.proxy_protocol = _proxy_mode(get(cfg, "proxy_protocol", "off"))
        self.proxy_allow_ips = get(cfg, "proxy_allow_ips", ["127.0.0.1", "::1"])
        self._proxy_networks = None

    @property
    def forwarded_networks(self):
        if self._forwarded_networks is None:
            self._forwarded_networks = _networks(
                self._cfg, "forwarded_allow_networks", self.forwarded_allow_ips)
        return self._forwarded_networks

    @property
    def proxy_networks(self):
        if self._proxy_networks is None:
            self._proxy_networks = _networks(
                self._cfg, "proxy_allow_networks", self.proxy_allow_ips)
        return self._proxy_networks
