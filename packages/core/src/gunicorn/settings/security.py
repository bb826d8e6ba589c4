"""Settings of the "Security" section: limits on the request head."""

from gunicorn.settings.base import Setting
from gunicorn.settings.validators import validate_pos_int

SECTION = "Security"

# Hard limits of the HTTP/1 parser: it reduces larger settings to them (and
# reads limit_request_fields=0 as the maximum); the stored value is kept as
# given, as upstream shows it in --print-config.
MAX_REQUEST_LINE = 8190
MAX_HEADERS = 32768


class LimitRequestLine(Setting):
    name = "limit_request_line"
    section = SECTION
    cli = ["--limit-request-line"]
    meta = "INT"
    validator = validate_pos_int
    type = int
    default = 4094
    desc = """\
        The maximum size of the HTTP request line in bytes.

        0 means unlimited; values above 8190 are treated as 8190. Guards
        against denial of service.
        """


class LimitRequestFields(Setting):
    name = "limit_request_fields"
    section = SECTION
    cli = ["--limit-request-fields"]
    meta = "INT"
    validator = validate_pos_int
    type = int
    default = 100
    desc = """\
        The maximum number of header fields in a request.

        Values above 32768 (and 0) are treated as 32768.
        """


class LimitRequestFieldSize(Setting):
    name = "limit_request_field_size"
    section = SECTION
    cli = ["--limit-request-field_size"]
    meta = "INT"
    validator = validate_pos_int
    type = int
    default = 8190
    desc = """\
        The maximum size of one request header line in bytes; 0 means unlimited.
        """
