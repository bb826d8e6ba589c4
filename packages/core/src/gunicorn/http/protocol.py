"""HTTP1Protocol: the ``http`` entry of the gunicorn.protocols group, built per connection."""

from gunicorn.http.connection import HTTP1Connection
from gunicorn.http.parser_options import options_for


class HTTP1Protocol(HTTP1Connection):
    """``HTTP1Protocol(cfg, peer_addr, server_addr, is_ssl)``; see docs/architecture.md."""

    name = "http"

    def __init__(self, cfg, peer_addr=None, server_addr=None, is_ssl=False):
        super().__init__(options_for(cfg), peer_addr, server_addr, is_ssl)
        self.cfg = cfg
