"""Settings of the "HTTP/2" section; the protocol itself comes with gunicorn[http2]."""

from gunicorn.settings.base import Setting
from gunicorn.settings.validators import (
    validate_http2_cleartext,
    validate_http2_frame_size,
    validate_http2_stream_limit,
    validate_http2_window_size,
    validate_http_protocols,
    validate_pos_int,
)

SECTION = "HTTP/2"


class HTTPProtocols(Setting):
    name = "http_protocols"
    section = SECTION
    cli = ["--http-protocols"]
    meta = "STRING"
    validator = validate_http_protocols
    default = "h1"
    desc = """\
        Comma list of HTTP protocols to offer (h1, h2, h3), in ALPN preference order.

        h2 needs gunicorn[http2] and TLS, or http2_cleartext.
        """


class HTTP2Cleartext(Setting):
    name = "http2_cleartext"
    section = SECTION
    cli = ["--http2-cleartext"]
    meta = "STRING"
    validator = validate_http2_cleartext
    default = "off"
    desc = """\
        Cleartext HTTP/2 (h2c): off, prior-knowledge, upgrade or both.

        A boolean true means prior-knowledge.
        """


class _Int(Setting):
    section = SECTION
    meta = "INT"
    validator = validate_pos_int
    type = int


class HTTP2MaxConcurrentStreams(_Int):
    name = "http2_max_concurrent_streams"
    cli = ["--http2-max-concurrent-streams"]
    validator = validate_http2_stream_limit
    default = 100
    desc = """\
        SETTINGS_MAX_CONCURRENT_STREAMS advertised to HTTP/2 clients.
        """


class HTTP2InitialWindowSize(_Int):
    name = "http2_initial_window_size"
    cli = ["--http2-initial-window-size"]
    validator = validate_http2_window_size
    default = 65535
    desc = """\
        SETTINGS_INITIAL_WINDOW_SIZE advertised to HTTP/2 clients.
        """


class HTTP2MaxFrameSize(_Int):
    name = "http2_max_frame_size"
    cli = ["--http2-max-frame-size"]
    validator = validate_http2_frame_size
    default = 16384
    desc = """\
        SETTINGS_MAX_FRAME_SIZE advertised to HTTP/2 clients (16384..16777215).
        """


class HTTP2MaxHeaderListSize(_Int):
    name = "http2_max_header_list_size"
    cli = ["--http2-max-header-list-size"]
    default = 65536
    desc = """\
        SETTINGS_MAX_HEADER_LIST_SIZE advertised to HTTP/2 clients.
        """
