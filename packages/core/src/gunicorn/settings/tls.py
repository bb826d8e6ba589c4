"""Settings of the "SSL" section: TLS on the listeners."""

import ssl

from gunicorn.settings.base import Setting
from gunicorn.settings.validators import (
    validate_bool,
    validate_pos_int,
    validate_ssl_version,
    validate_string,
)

SECTION = "SSL"


class _File(Setting):
    section = SECTION
    meta = "FILE"
    validator = validate_string
    default = None


class KeyFile(_File):
    name = "keyfile"
    cli = ["--keyfile"]
    desc = """\
        The TLS private key file.
        """


class CertFile(_File):
    name = "certfile"
    cli = ["--certfile"]
    desc = """\
        The TLS certificate file. TLS is on when keyfile or certfile is set.
        """


class SSLVersion(Setting):
    name = "ssl_version"
    section = SECTION
    cli = ["--ssl-version"]
    validator = validate_ssl_version
    default = ssl.PROTOCOL_TLS
    desc = """\
        Deprecated and ignored: use the ssl_context hook instead.
        """


class CertReqs(Setting):
    name = "cert_reqs"
    section = SECTION
    cli = ["--cert-reqs"]
    validator = validate_pos_int
    default = ssl.CERT_NONE
    desc = """\
        Whether client certificates are required: 0 none, 1 optional, 2 required.
        """


class CACerts(_File):
    name = "ca_certs"
    cli = ["--ca-certs"]
    desc = """\
        The CA certificates file used to verify client certificates.
        """


class SuppressRaggedEOFs(Setting):
    name = "suppress_ragged_eofs"
    section = SECTION
    cli = ["--suppress-ragged-eofs"]
    action = "store_true"
    validator = validate_bool
    default = True
    desc = """\
        Suppress ragged EOFs (see the ``ssl`` module documentation).
        """


class DoHandshakeOnConnect(Setting):
    name = "do_handshake_on_connect"
    section = SECTION
    cli = ["--do-handshake-on-connect"]
    action = "store_true"
    validator = validate_bool
    default = False
    desc = """\
        Do the TLS handshake when the socket is accepted instead of on first read.
        """


class Ciphers(Setting):
    name = "ciphers"
    section = SECTION
    cli = ["--ciphers"]
    validator = validate_string
    default = None
    desc = """\
        The OpenSSL cipher list; the ``ssl`` module default when not set.
        """
