"""Settings this distribution adds (``gunicorn.settings`` entry point): WebSocket limits."""

from gunicorn.settings.base import Setting
from gunicorn.settings.validators import validate_bool, validate_pos_int

SECTION = "WebSocket"


class WebSocketMaxMessageSize(Setting):
    name = "websocket_max_message_size"
    section = SECTION
    cli = ["--websocket-max-message-size"]
    meta = "BYTES"
    validator = validate_pos_int
    type = int
    default = 16 * 1024 * 1024
    desc = """\
        The largest WebSocket message (and frame) a client may send, in bytes.

        A larger one is refused with close code 1009 before it is buffered.
        asgi worker only.
        """


class WebSocketPingInterval(Setting):
    name = "websocket_ping_interval"
    section = SECTION
    cli = ["--websocket-ping-interval"]
    meta = "INT"
    validator = validate_pos_int
    type = int
    default = 20
    desc = """\
        Seconds between the server's keepalive pings on an open WebSocket; 0 disables.

        A client that does not answer within ``websocket_ping_timeout`` seconds is
        disconnected (close code 1011). asgi worker only.
        """


class WebSocketPingTimeout(Setting):
    name = "websocket_ping_timeout"
    section = SECTION
    cli = ["--websocket-ping-timeout"]
    meta = "INT"
    validator = validate_pos_int
    type = int
    default = 20
    desc = """\
        Seconds to wait for the pong answering a keepalive ping. asgi worker only.
        """


class WebSocketPerMessageDeflate(Setting):
    name = "websocket_per_message_deflate"
    section = SECTION
    cli = ["--no-websocket-per-message-deflate"]
    action = "store_false"
    validator = validate_bool
    default = True
    desc = """\
        Disable permessage-deflate (RFC 7692) compression of WebSocket messages.

        By default it is used when the client offers it. asgi worker only.
        """
