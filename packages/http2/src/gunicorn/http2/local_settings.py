"""The SETTINGS we advertise (RFC 9113 section 6.5.2), from the http2_* settings."""

from h2.config import H2Configuration
from h2.settings import SettingCodes, Settings
from hyperframe.frame import SettingsFrame

# RFC 9113 section 6.5.2: MAX_FRAME_SIZE must stay within these bounds.
MIN_FRAME_SIZE = 16384
MAX_FRAME_SIZE = 16777215
# The largest flow-control window (RFC 9113 section 6.9.1), and the initial one.
MAX_WINDOW = 2 ** 31 - 1
DEFAULT_WINDOW = 65535


def _clamp(value, low, high):
    return max(low, min(high, int(value)))


def advertised_settings(cfg):
    """``{SettingCodes: value}`` for our first SETTINGS frame, read from ``cfg``."""
    return {
        SettingCodes.MAX_CONCURRENT_STREAMS: max(0, int(getattr(cfg, "http2_max_concurrent_streams", 100))),
        SettingCodes.INITIAL_WINDOW_SIZE: _clamp(getattr(cfg, "http2_initial_window_size", 65535),
                                                 0, MAX_WINDOW),
        SettingCodes.MAX_FRAME_SIZE: _clamp(getattr(cfg, "http2_max_frame_size", 16384),
                                            MIN_FRAME_SIZE, MAX_FRAME_SIZE),
        SettingCodes.MAX_HEADER_LIST_SIZE: max(0, int(getattr(cfg, "http2_max_header_list_size",
                                                                65536))),
    }


def server_configuration():
    """h2's configuration for a server: bytes in and out, our headers checked by h2.

    Inbound fields are checked by ``request_head`` instead: h2 can only make
    a malformed request a connection error, RFC 9113 section 8.1.1 a stream one.
    """
    return H2Configuration(client_side=False, header_encoding=None,
                           validate_inbound_headers=False, normalize_inbound_headers=True,
                           validate_outbound_headers=True, normalize_outbound_headers=True)


def apply_settings(conn, cfg):
    """Make ``cfg``'s values the h2 connection's local settings before it starts.

    They are in force at once, so the limits we advertise are the limits we
    enforce from the first frame, except a window smaller than the default:
    the peer may send under the default until it has seen ours, so a smaller
    one applies once our SETTINGS are acknowledged (RFC 9113 section 6.9.2).
    """
    values = advertised_settings(cfg)
    window = values[SettingCodes.INITIAL_WINDOW_SIZE]
    now = dict(values)
    if window < DEFAULT_WINDOW:
        now[SettingCodes.INITIAL_WINDOW_SIZE] = DEFAULT_WINDOW
    conn.local_settings = Settings(client=False, initial_values=now)
    if window < DEFAULT_WINDOW:
        conn.local_settings[SettingCodes.INITIAL_WINDOW_SIZE] = window
    conn.max_inbound_frame_size = values[SettingCodes.MAX_FRAME_SIZE]
    conn.incoming_buffer.max_frame_size = values[SettingCodes.MAX_FRAME_SIZE]
    conn.decoder.max_header_list_size = values[SettingCodes.MAX_HEADER_LIST_SIZE]
    return values


def settings_frame(conn, values):
    """Our first SETTINGS frame: h2's own settings with ``values`` (pending ones included)."""
    frame = SettingsFrame(0)
    for code, value in conn.local_settings.items():
        frame.settings[code] = value
    for code, value in values.items():
        frame.settings[code] = value
    return frame.serialize()
